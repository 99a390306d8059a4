import json

import pytest

from darien_nlp.api import load_model
from darien_nlp.experiments import ConfigError, load_config, run_experiment


def _write(tmp_path, text):
    path = tmp_path / "exp.toml"
    path.write_text(text)
    return path


def test_unknown_kind_names_the_allowed_ones(tmp_path):
    path = _write(tmp_path, '[experiment]\nname = "x"\nkind = "train.v9"\nseed = 1\n')
    with pytest.raises(ConfigError, match=r"experiment.kind must be one of \[.*'train_classifier.v1'.*\]. Got 'train.v9'"):
        load_config(path)


def test_unknown_key_and_section(tmp_path):
    path = _write(tmp_path, '[experiment]\nname = "x"\nkind = "train_classifier.v1"\nseed = 1\n[model]\nbackbone = "static"\n')
    with pytest.raises(ConfigError, match=r"unknown key model.backbone; allowed keys are \["):
        load_config(path)
    path = _write(tmp_path, '[experiment]\nname = "x"\nkind = "train_classifier.v1"\nseed = 1\n[modle]\n')
    with pytest.raises(ConfigError, match=r"unknown section \[modle\]"):
        load_config(path)


def test_choice_validation_and_overrides(tmp_path):
    path = _write(tmp_path, '[experiment]\nname = "x"\nkind = "train_classifier.v1"\nseed = 1\n')
    config = load_config(path, ["model.backend=tfidf", "experiment.seed=7", "model.C_grid=[2.0]"])
    assert config["model"]["backend"] == "tfidf" and config["experiment"]["seed"] == 7
    assert config["model"]["C_grid"] == [2.0] and config["evaluate"]["n_bootstrap"] == 1000  # default filled
    with pytest.raises(ConfigError, match=r"model.backend must be one of .* Got 'bert' instead"):
        load_config(path, ["model.backend=bert"])
    with pytest.raises(ConfigError, match="experiment.seed must be an integer"):
        load_config(path, ["experiment.seed=abc"])
    with pytest.raises(ConfigError, match="--set needs KEY=VALUE"):
        load_config(path, ["seed"])


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="No config file"):
        load_config(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[experiment\n"))


def test_shipped_configs_validate():
    from pathlib import Path

    configs = sorted(Path(__file__).resolve().parents[1].joinpath("experiments").glob("*.toml"))
    assert configs
    for path in configs:
        config = load_config(path)
        assert config["experiment"]["name"] == path.stem


def test_run_writes_resolved_config_metrics_and_log(tmp_path, seeds_dir):
    path = _write(tmp_path, f'[experiment]\nname = "bench"\nkind = "benchmark_classify.v1"\nseed = 3\n'
                            f'[data]\nsource = "{seeds_dir}"\n[model]\nname = "{tmp_path / "missing-model"}"\n'
                            '[benchmark]\npassages = 50\nrepeats = 1\ncold_repeats = 1\n')
    with pytest.raises(FileNotFoundError, match="No model folder"):
        run_experiment(path, results_root=tmp_path / "results")
    run_dir = next((tmp_path / "results" / "bench").iterdir())
    resolved = json.loads((run_dir / "config.resolved.json").read_text())
    assert resolved["experiment"]["seed"] == 3 and resolved["benchmark"]["passages"] == 50
    environment = json.loads((run_dir / "environment.json").read_text())
    assert "numpy" in environment["packages"] and set(environment["cpu"]) == {"model", "flags"}
    assert isinstance(environment["blas"], list)  # the kernels BLAS chose: float results can differ across CPUs
    assert (run_dir / "run.log").read_text().count("running bench") == 1


def test_benchmark_runs_a_named_model_in_the_cold_start_too(tmp_path, seeds_dir):
    path = _write(tmp_path, f'[experiment]\nname = "bench_named"\nkind = "benchmark_classify.v1"\nseed = 3\n'
                            f'[data]\nsource = "{seeds_dir}"\n[model]\nname = "policy-static"\n'
                            '[benchmark]\npassages = 40\nrepeats = 1\ncold_repeats = 1\n')
    run_dir = run_experiment(path, results_root=tmp_path / "results", progress=False)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["model"] == "policy-static" and metrics["passages"] == 40
    assert metrics["torch_loaded_after_classify"] is False
    assert "model='policy-static'" in (run_dir / "report.md").read_text()
    assert metrics["documents"] == 5 and metrics["document_passages_per_second"] > 0  # the five seeds documents
    assert metrics["single_calls"] == 40 and metrics["single_call_ms"] > 0  # one text per call: all 40 passages
    assert "one text per call" in (run_dir / "report.md").read_text()
    assert metrics["reads_context"] is bool(getattr(load_model("policy-static"), "uses_context", False))


@pytest.mark.parametrize("name", ["../escape", "/tmp/abs", "a/b", "", ".hidden", "x..y", "a b"])
def test_experiment_name_must_be_a_plain_folder_name(tmp_path, name):
    path = _write(tmp_path, f'[experiment]\nname = "{name}"\nkind = "train_classifier.v1"\nseed = 1\n')
    with pytest.raises(ConfigError, match="experiment.name must be a folder name"):
        load_config(path)


def test_runs_get_their_own_folders_and_failed_or_killed_runs_are_listed_so(tmp_path, seeds_dir, capsys):
    import os
    import subprocess
    import sys

    from darien_nlp.cli import main
    from darien_nlp.experiments import latest_run, list_runs

    good = (f'[experiment]\nname = "bench"\nkind = "benchmark_classify.v1"\nseed = 3\n[data]\nsource = "{seeds_dir}"\n'
            '[model]\nname = "policy-static"\n[benchmark]\npassages = 20\nrepeats = 1\ncold_repeats = 1\n')
    path = _write(tmp_path, good)
    results = tmp_path / "results"
    first = run_experiment(path, results_root=results, progress=False)
    second = run_experiment(path, results_root=results, progress=False)  # same config, maybe the same second
    assert first != second and latest_run(results, "bench") == second
    path.write_text(good.replace('name = "policy-static"', f'name = "{tmp_path / "missing"}"'))
    with pytest.raises(FileNotFoundError):
        run_experiment(path, results_root=results, progress=False)
    assert latest_run(results, "bench") == second  # a failed run never becomes the latest
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = results / "bench" / "20000101-000000-deadbeef"
    killed.mkdir()
    (killed / "status.json").write_text(json.dumps({"status": "running", "pid": int(dead.stdout),
                                                    "host": os.uname().nodename}))
    statuses = [row["status"] for row in list_runs(results, "bench")]
    assert sorted(statuses) == ["complete", "complete", "failed", "interrupted"]
    failed = next(row for row in list_runs(results) if row["status"] == "failed")
    assert "FileNotFoundError" in failed["error"] and not (results / "bench" / failed["run"] / "metrics.json").exists()
    assert main(["experiment", "list", "bench", "--results", str(results)]) == 1
    out = capsys.readouterr().out
    assert out.count("  complete") == 2 and "  failed  FileNotFoundError" in out and "  interrupted" in out
    assert main(["experiment", "list", "nothing", "--results", str(results)]) == 2


def test_reliability_recipe_reports_growth_rows(tmp_path):
    path = _write(tmp_path, '[experiment]\nname = "reliability"\nkind = "reliability.v1"\nseed = 1\n'
                            '[fuzz]\nrun = false\n[growth]\nsizes = [200, 400]\n')
    from darien_nlp.api import default_model_path

    path.write_text(path.read_text() + f'model = "{default_model_path("policy-static")}"\n')
    run = run_experiment(path, results_root=tmp_path / "results", progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["fuzz"] is None and len(metrics["growth"]) == 8
    assert all(row["seconds"] >= 0 and row["peak_mib"] >= 0 for row in metrics["growth"])
    assert [row["n"] for row in metrics["growth"][:2]] == [200, 400] and metrics["growth"][0]["time_ratio"] is None
    assert "| split_sentences: 'Dr. ' x n | 400 |" in (run / "report.md").read_text()


def test_speed_benchmark_smoke(tmp_path, seeds_dir):
    """The speed benchmark executes end to end at a tiny size (its figures are never asserted)."""
    path = _write(tmp_path, f'[experiment]\nname = "benchmark_speed"\nkind = "benchmark_speed.v1"\nseed = 1\n'
                            f'[data]\nsource = "{seeds_dir}"\n[model]\nname = "policy-static"\n'
                            '[benchmark]\npassages = 60\nrepeats = 1\nfresh_runs = 1\nminilm_passages = 0\n'
                            'stream_passages = 300\nstream_batch = 100\ncli_lines = 50\ncli_file_lines = 3000\n')
    run = run_experiment(path, results_root=tmp_path / "results", progress=False)
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["figures"]) >= {"classify_first_pass", "classify_warm", "model2vec_encode_plus_head",
                                       "regex_word_scan_1_core", "tfidf_plus_logreg", "classify_document_in_context"}
    assert metrics["stream"]["passages"] == 300 and metrics["cli_stream"]["exit_code"] == 0
    assert metrics["min_cosine_to_model2vec"] > 0.99  # the fast path embeds as model2vec does
    report = (run / "report.md").read_text()
    assert "| `classify`, warm |" in report
    assert set(metrics["profiles"]) == {"classify_first_pass", "classify_warm", "classify_documents_in_context"}
    assert all(0 < len(rows) <= 12 and rows[0]["own_seconds"] >= rows[-1]["own_seconds"]
               for rows in metrics["profiles"].values())
    assert "Profile of `classify`, first pass" in report
    assert [(f["jobs"], f["exit_code"]) for f in metrics["cli_files"]] == [(1, 0), (2, 0)] and "--jobs 2:" in report
    documents = metrics["cli_documents"]
    assert [(d["jobs"], d["exit_code"]) for d in documents] == [(1, 0), (2, 0)]
    assert documents[0]["passages"] == documents[1]["passages"] > 0 and "classify FILE --document" in report
