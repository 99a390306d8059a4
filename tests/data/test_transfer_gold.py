"""The training set of the new corpora: two passes on every passage, no document shared with the evaluation set."""
import json
from collections import Counter

import pytest

from darien_nlp.data import annotations_dir, read_annotations, record_doc, reference_key

TRANSFER = annotations_dir() / "transfer"
OOD = annotations_dir() / "ood"


def test_every_passage_has_two_independent_passes_and_disagreements_are_settled():
    a, b = (read_annotations(TRANSFER / "passes" / f"{name}.jsonl") for name in "ab")
    keys_a, keys_b = {reference_key(r) for r in a}, {reference_key(r) for r in b}
    assert keys_a == keys_b and len(keys_a) >= 800
    labels_a = {reference_key(r): set(r["labels"]) for r in a}
    disputed = {reference_key(r) for r in b if set(r["labels"]) != labels_a[reference_key(r)]}
    assert disputed, "two independent passes that never disagree were not independent"
    settled = {reference_key(r) for r in read_annotations(TRANSFER / "passes" / "d.jsonl")}
    assert disputed <= settled
    gold = read_annotations(TRANSFER / "gold.jsonl")
    assert {reference_key(r) for r in gold} == keys_a


def test_no_document_is_shared_with_the_evaluation_set_or_the_training_gold():
    transfer = {(r["corpus"], record_doc(r)) for r in read_annotations(TRANSFER / "gold.jsonl")}
    ood = {(r["corpus"], record_doc(r)) for r in read_annotations(OOD / "gold.jsonl")}
    train = {(r["corpus"], record_doc(r)) for r in read_annotations(annotations_dir() / "gold.jsonl")}
    assert transfer and not transfer & ood and not transfer & train
    assert {corpus for corpus, _ in transfer} == {"presidencia-mx-es-2018-2026.jsonl.gz", "undp-acclabs-en-es-2019-2025.jsonl.gz"}


def test_every_document_is_in_train():
    splits = json.loads((TRANSFER / "splits.json").read_text())["documents"]
    assert set(splits.values()) == {"train"}
    gold = read_annotations(TRANSFER / "gold.jsonl")
    assert {f"{r['corpus']}|{record_doc(r)}" for r in gold} == set(splits)


@pytest.mark.corpora
def test_rebuilds_from_the_corpora_mostly_spanish(corpora):
    from darien_nlp.corpus.language import detect_language
    from darien_nlp.data import load_gold

    gold = load_gold(corpora, annotations=TRANSFER, include_seeds=False)
    languages = Counter(detect_language(g.text).language for g in gold)
    assert languages["es"] >= 700
    assert all(g.split == "train" for g in gold)
