"""The out-of-domain evaluation set: two passes on every passage, hashes verified, never trained on."""
from collections import Counter

import pytest

from darien_nlp.data import annotations_dir, read_annotations, record_doc

from .gold_folders import check_splits, check_two_passes_settled

OOD = annotations_dir() / "ood"


def test_every_passage_has_two_independent_passes_and_disagreements_are_settled():
    check_two_passes_settled(OOD, minimum=800)


def test_no_evaluation_document_is_in_the_training_gold():
    train = {(r["corpus"], record_doc(r)) for r in read_annotations(annotations_dir() / "gold.jsonl")}
    ood = {(r["corpus"], record_doc(r)) for r in read_annotations(OOD / "gold.jsonl")}
    assert not train & ood


def test_splits_are_by_document_and_only_dev_and_test():
    check_splits(OOD, {"dev", "test"})


@pytest.mark.corpora
def test_rebuilds_from_the_corpora_with_enough_spanish(corpora):
    from darien_nlp.corpus.language import detect_language
    from darien_nlp.data import load_gold

    gold = load_gold(corpora, annotations=OOD, include_seeds=False)
    languages = Counter(detect_language(g.text).language for g in gold)
    assert languages["es"] >= 400 and languages["en"] >= 250
    assert all(g.split in ("dev", "test") for g in gold)
