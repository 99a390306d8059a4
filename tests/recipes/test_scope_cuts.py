"""The scope-cut table: what each cut of a scope score keeps of read passages."""
import json

import numpy as np
import pytest

from darien_nlp.experiments import run_experiment
from darien_nlp.recipes.scope_cuts import cut_table


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


@pytest.mark.corpora
def test_scope_cuts_refuses_a_model_without_a_scope_head(corpora, tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    with pytest.raises(ValueError, match="has no scope head"):
        run_experiment(root / "experiments" / "scope_cuts.toml", results_root=tmp_path, progress=False, root=root,
                       overrides=[f"data.corpora={corpora}", "model.name=policy-static"])
