"""The scope-cut table: what each cut of a scope score keeps of read passages."""
import json

import numpy as np
import pytest

from darien_nlp.experiments import run_experiment
from darien_nlp.recipes.scope_cuts import cut_table, gated_table, with_halves


def test_cut_table_counts_kept_recall_and_precision():
    scores = np.array([0.9, 0.8, 0.4, 0.3, 0.1])
    truth = np.array([1, 0, 1, 0, 1])
    low, high = cut_table(scores, truth, [0.2, 0.85])
    assert low == {"cut": 0.2, "kept": 0.8, "recall": pytest.approx(2 / 3, abs=1e-4), "precision": 0.5}
    assert high == {"cut": 0.85, "kept": 0.2, "recall": pytest.approx(1 / 3, abs=1e-4), "precision": 1.0}


def test_cut_table_reports_nan_where_a_share_has_no_denominator():
    (row,) = cut_table([0.1, 0.2], [0, 0], [0.5])
    assert row["kept"] == 0.0 and np.isnan(row["recall"]) and np.isnan(row["precision"])
    (row,) = cut_table([], [], [0.5])
    assert np.isnan(row["kept"])


def test_cut_table_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        cut_table([0.1, 0.2], [1], [0.5])


def test_gated_table_gates_labels_at_each_cut():
    """Each cut used as the scope gate: labelled share and macro-F1 over the labels with enough positives."""
    scores = np.array([0.9, 0.6, 0.3, 0.1])
    probabilities = np.array([[0.8, 0.9], [0.7, 0.1], [0.9, 0.1], [0.2, 0.9]])
    truth = np.array([[1, 1], [0, 0], [1, 0], [0, 0]])
    low, mid, high = gated_table(scores, probabilities, [0.5, 0.5], truth, [0.0, 0.5, 0.95], min_positives=2)
    # only label 0 has 2 positives; at cut 0 every passage above a threshold is labelled
    assert low == {"cut": 0.0, "labelled": 1.0, "macro_f1": pytest.approx(0.8)}  # label 0: 3 predicted, 2 right
    assert mid == {"cut": 0.5, "labelled": 0.5, "macro_f1": pytest.approx(0.5)}  # passage 3 gated out
    assert high == {"cut": 0.95, "labelled": 0.0, "macro_f1": 0.0}
    (row,) = gated_table(scores, probabilities, [0.5, 0.5], truth, [0.0], min_positives=5)
    assert np.isnan(row["macro_f1"])  # no label has enough positives
    with pytest.raises(ValueError, match="same shape"):
        gated_table(scores, probabilities, [0.5, 0.5], truth[:, :1], [0.5])


def test_gated_table_on_an_empty_set_reports_nan():
    (row,) = gated_table([], np.zeros((0, 5)), [0.5] * 5, np.zeros((0, 5)), [0.5])
    assert row["cut"] == 0.5 and np.isnan(row["labelled"]) and np.isnan(row["macro_f1"])


def test_the_out_of_scope_set_is_split_by_its_documents_split():
    from darien_nlp.data import GoldPassage

    def passage(i, split):
        return GoldPassage(passage_id=f"p{i}", corpus="c", doc_id=f"d{i}", start=0, end=4, text="text", labels=(),
                           split=split, annotation_pass="a")

    sets = {"out of scope": [passage(0, "dev"), passage(1, "test"), passage(2, "test")],
            "ood test, English": [passage(3, "test")]}
    out = with_halves(sets)
    assert list(out) == ["out of scope", "out of scope, dev documents", "out of scope, test documents",
                         "ood test, English"]
    assert [g.passage_id for g in out["out of scope, dev documents"]] == ["p0"]
    assert [g.passage_id for g in out["out of scope, test documents"]] == ["p1", "p2"]
    only_test = with_halves({"out of scope": [passage(1, "test")]})
    assert list(only_test) == ["out of scope", "out of scope, test documents"]  # no empty half


@pytest.mark.slow
@pytest.mark.corpora
def test_scope_cuts_experiment_on_the_gold(corpora, tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    run = run_experiment(root / "experiments" / "scope_cuts.toml", results_root=tmp_path, progress=False, root=root,
                         overrides=[f"data.corpora={corpora}", 'data.ood=""', "cuts.values=[0, 0.99]"])
    metrics = json.loads((run / "metrics.json").read_text())
    (block,) = metrics["sets"].values()
    own, strict = block["cuts"]
    assert own["cut"] == pytest.approx(metrics["own_cut"], abs=1e-4) and block["passages"] > 1000
    # a higher cut keeps fewer passages and fewer of those in scope; the model's own cut keeps most of them
    assert strict["kept"] < own["kept"] and strict["recall"] < own["recall"] and own["recall"] > 0.8
    assert strict["labelled"] < own["labelled"] and strict["macro_f1"] < own["macro_f1"]


@pytest.mark.corpora
def test_scope_cuts_refuses_a_model_without_a_scope_head(corpora, tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    with pytest.raises(ValueError, match="has no scope head"):
        run_experiment(root / "experiments" / "scope_cuts.toml", results_root=tmp_path, progress=False, root=root,
                       overrides=[f"data.corpora={corpora}", "model.name=policy-static"])
