"""The training set of the new corpora: two passes on every passage, no document shared with the evaluation set."""
from collections import Counter

import pytest

from darien_nlp.data import annotations_dir, read_annotations, record_doc

from .gold_folders import check_splits, check_two_passes_settled

TRANSFER = annotations_dir() / "transfer"
OOD = annotations_dir() / "ood"


def test_every_passage_has_two_independent_passes_and_disagreements_are_settled():
    disputed = check_two_passes_settled(TRANSFER, minimum=800)
    assert disputed, "two independent passes that never disagree were not independent"


def test_no_document_is_shared_with_the_evaluation_set_or_the_training_gold():
    transfer = {(r["corpus"], record_doc(r)) for r in read_annotations(TRANSFER / "gold.jsonl")}
    ood = {(r["corpus"], record_doc(r)) for r in read_annotations(OOD / "gold.jsonl")}
    train = {(r["corpus"], record_doc(r)) for r in read_annotations(annotations_dir() / "gold.jsonl")}
    assert transfer and not transfer & ood and not transfer & train
    assert {corpus for corpus, _ in transfer} == {"presidencia-mx-es-2018-2026.jsonl.gz", "undp-acclabs-en-es-2019-2025.jsonl.gz"}


def test_every_document_is_in_train():
    check_splits(TRANSFER, {"train"})


@pytest.mark.corpora
def test_rebuilds_from_the_corpora_mostly_spanish(corpora):
    from darien_nlp.corpus.language import detect_language
    from darien_nlp.data import load_gold

    gold = load_gold(corpora, annotations=TRANSFER, include_seeds=False)
    languages = Counter(detect_language(g.text).language for g in gold)
    assert languages["es"] >= 700
    assert all(g.split == "train" for g in gold)
