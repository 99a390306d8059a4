"""Synthetic training passages: flagged, training only, capped per label."""
import json

import pytest

from darien_nlp.data import GoldPassage, SyntheticDataError, cap_synthetic, load_synthetic
from darien_nlp.taxonomy import LABELS

from ..conftest import REPO

SHIPPED = sorted((REPO / "experiments" / "annotations" / "synthetic").glob("*.jsonl"))


def _write(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def _record(n, labels=("environment",), **extra):
    return {"synthetic_id": f"s{n}", "text": f"Waste left on the migrant trail pollutes river {n}.", "labels": list(labels),
            "synthetic": True, "author": "test", **extra}


def test_shipped_files_load_as_training_only_passages():
    assert SHIPPED, "experiments/annotations/synthetic holds no files"
    passages = load_synthetic(SHIPPED)
    assert passages and all(g.split == "train" and g.corpus == "synthetic" and g.stratum == "synthetic" for g in passages)
    from darien_nlp.classifier import SYNTHETIC_SOURCE

    assert SYNTHETIC_SOURCE == "synthetic"  # source_weights leaves these passages at weight 1 by this name
    assert sum("environment" in g.labels for g in passages) >= 20
    assert any(not g.labels for g in passages)  # contrast passages: the words without the label


def test_synthetic_texts_appear_in_no_gold_or_evaluation_file():
    texts = {g.text for g in load_synthetic(SHIPPED)}
    annotations = REPO / "experiments" / "annotations"
    for path in annotations.rglob("*.jsonl"):
        if "synthetic" in path.parts:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            assert record.get("text") not in texts, path


@pytest.mark.parametrize("bad, message", [
    ({**_record(1), "synthetic": False}, "synthetic"),
    ({k: v for k, v in _record(1).items() if k != "synthetic"}, "synthetic"),
    ({**_record(1), "labels": ["climate"]}, "labels"),
    ({**_record(1), "text": "  "}, "empty"),
    ({**_record(1), "synthetic_id": ""}, "synthetic_id"),
])
def test_bad_records_are_refused_with_their_line(tmp_path, bad, message):
    path = _write(tmp_path / "s.jsonl", [_record(0), bad])
    with pytest.raises(SyntheticDataError, match=f"s.jsonl:2.*{message}|{message}"):
        load_synthetic([path])


def test_repeated_ids_and_missing_files_are_refused(tmp_path):
    path = _write(tmp_path / "s.jsonl", [_record(0), _record(0)])
    with pytest.raises(SyntheticDataError, match="repeated"):
        load_synthetic([path])
    with pytest.raises(SyntheticDataError, match="No synthetic"):
        load_synthetic([tmp_path / "missing.jsonl"])
    (tmp_path / "broken.jsonl").write_text("{not json\n")
    with pytest.raises(SyntheticDataError, match="broken.jsonl:1"):
        load_synthetic([tmp_path / "broken.jsonl"])


def _real(n, label):
    return GoldPassage(passage_id=f"r{n}", corpus="c", doc_id=f"d{n}", start=0, end=1, text="x", labels=(label,),
                       split="train", annotation_pass="a")


@pytest.mark.parametrize("share", [0.0, 0.1, 0.2, 0.5])
def test_cap_keeps_every_label_within_its_share(share):
    real = [_real(n, "environment") for n in range(40)] + [_real(100 + n, "humanitarian") for n in range(8)]
    synthetic = [GoldPassage(passage_id=f"s{n:02d}", corpus="synthetic", doc_id=f"s{n}", start=0, end=1, text="y",
                             labels=("environment",) if n % 3 else ("environment", "humanitarian"), split="train",
                             annotation_pass="t", stratum="synthetic") for n in range(30)]
    kept = cap_synthetic(real, synthetic, share, seed=1)
    for label in LABELS:
        added = sum(label in g.labels for g in kept)
        total = added + sum(label in g.labels for g in real)
        assert added <= share * total + 1e-9, (label, added, total)
    assert share == 0.0 or kept
    assert cap_synthetic(real, synthetic, share, seed=1) == kept  # seeded: the same passages every run


def test_cap_refuses_a_bad_share():
    with pytest.raises(ValueError, match="share"):
        cap_synthetic([], [], 1.0)
