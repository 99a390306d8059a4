"""End-to-end reads of the real release corpora (skipped where they are absent)."""
import gzip
import json
import re

import pytest

from darien_nlp.corpus import load_corpus, segment

pytestmark = pytest.mark.corpora


def test_state_department_html_loads_and_segments(corpora):
    corpus = load_corpus(corpora / "state-dept-press-2021-2022.jsonl.gz")
    documents = passages = 0
    for document in corpus:
        documents += 1
        assert document.date is not None
        assert "<script" not in document.text and "<p>" not in document.text
        for passage in segment(document):
            passages += 1
            assert document.text[passage.start:passage.end] == passage.text
            assert passage.text != "An official website of the United States government"
    assert documents == 2031 and corpus.report.skipped == []
    assert passages > 25_000


def test_white_house_markdown_subset_loads(corpora):
    corpus = load_corpus(corpora / "wh-migration-americas-md")
    documents = list(corpus)
    assert len(documents) == 120
    assert all(d.date is not None and d.title for d in documents)
    for document in documents:
        assert "](http" not in document.text  # links reduced to their text
        assert not re.search(r"\\[-*_.]", document.text)  # Markdown escapes resolved


@pytest.mark.slow
def test_white_house_full_corpus_streams(corpora):
    path = corpora / "wh-briefings-2021-2026.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        lines = sum(1 for _ in handle)
    corpus = load_corpus(path)
    documents = passages = 0
    for document in corpus:
        documents += 1
        for passage in segment(document):
            passages += 1
            if passages % 997 == 0:
                assert document.text[passage.start:passage.end] == passage.text
    # Every record is a document or a reported skip: nothing vanishes.
    assert documents + len(corpus.report.skipped) == lines == 14_396
    assert all("no text left" in skip.reason for skip in corpus.report.skipped)
    assert corpus.report.missing_dates == 0
    assert passages > 400_000
