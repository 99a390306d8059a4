"""Checks shared by the tests of the committed annotation folders (ood, transfer)."""
import json

from darien_nlp.data import read_annotations, record_doc, reference_key


def check_two_passes_settled(folder, minimum: int) -> set:
    """Passes ``a`` and ``b`` label the same passages (at least ``minimum``), ``d`` settles every disagreement,
    and ``gold.jsonl`` holds exactly those passages; returns the passages on which ``a`` and ``b`` disagree."""
    a, b = (read_annotations(folder / "passes" / f"{name}.jsonl") for name in "ab")
    keys_a, keys_b = {reference_key(r) for r in a}, {reference_key(r) for r in b}
    assert keys_a == keys_b and len(keys_a) >= minimum
    labels_a = {reference_key(r): set(r["labels"]) for r in a}
    disputed = {reference_key(r) for r in b if set(r["labels"]) != labels_a[reference_key(r)]}
    settled = {reference_key(r) for r in read_annotations(folder / "passes" / "d.jsonl")}
    assert disputed <= settled
    assert {reference_key(r) for r in read_annotations(folder / "gold.jsonl")} == keys_a
    return disputed


def check_splits(folder, expected: set) -> None:
    """Splits are by document, take exactly ``expected`` values, and cover every gold document."""
    splits = json.loads((folder / "splits.json").read_text())["documents"]
    assert set(splits.values()) == expected
    gold = read_annotations(folder / "gold.jsonl")
    assert {f"{r['corpus']}|{record_doc(r)}" for r in gold} == set(splits)
