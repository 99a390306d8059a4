"""darien_nlp.distributed on a real local Dask cluster (loopback, 2 worker processes): results equal
the single-process results exactly."""
import pytest

pytest.importorskip("dask", reason="the dask extra is not installed (pip install 'darien-nlp[dask]')")
distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

import dask.bag as db  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402

import darien_nlp  # noqa: E402
import darien_nlp.api  # noqa: E402
from darien_nlp.distributed import classify_bag, classify_dataframe, segment_bag  # noqa: E402

TEXTS = ["Panama and Colombia agreed to dismantle smuggling networks in the Darién.",
         "Safe Mobility Offices opened in Guatemala to offer lawful pathways.",
         "Migrants crossing the jungle need water, shelter and medical care.",
         "", "Quarterly tax results were announced.", "Los migrantes cruzan el Darién a pie."] * 5


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=":0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_bag_and_dataframe_equal_single_process(client, model_dir):
    expected = darien_nlp.classify(TEXTS, model=model_dir)
    got = classify_bag(db.from_sequence(TEXTS, npartitions=4), model=str(model_dir)).compute()
    assert [g["labels"] for g in got] == [list(p.labels) for p in expected]
    assert [g["scores"] for g in got] == [dict(p.scores) for p in expected]
    frame = pd.DataFrame({"text": TEXTS, "n": range(len(TEXTS))})
    single = darien_nlp.classify_dataset(frame, model=model_dir)
    parallel = classify_dataframe(dd.from_pandas(frame, npartitions=3), model=str(model_dir)).compute()
    pd.testing.assert_frame_equal(parallel.sort_values("n").reset_index(drop=True), single.reset_index(drop=True),
                                  check_dtype=False)  # dask stores text as pyarrow strings


def test_segment_bag_equals_segment(client):
    from darien_nlp.corpus import Document, context_window, segment

    docs = [{"id": f"d{i}", "text": "First paragraph on asylum.\n\nSecond paragraph on the border wall."} for i in range(6)]
    got = segment_bag(db.from_sequence(docs, npartitions=3), context_chars=50).compute()
    expected = [(d["id"], p.start, p.end, p.text) for d in docs for p in segment(Document(d["id"], d["text"]))]
    assert [(r["doc_id"], r["start"], r["end"], r["text"]) for r in got] == expected
    assert got[0]["context"] == context_window(docs[0]["text"], got[0]["start"], got[0]["end"], 50)


def test_bad_arguments(model_dir):
    with pytest.raises(TypeError, match="model name or folder path"):
        classify_bag(db.from_sequence(["x"]), model=darien_nlp.api.load_model(model_dir))
    with pytest.raises(ValueError, match="no column 'body'"):
        classify_dataframe(dd.from_pandas(pd.DataFrame({"text": ["x"]}), npartitions=1), "body", model=str(model_dir))


def _kill_worker_once(marker: str):
    """A partition step that kills its worker process the first time any worker runs it (one winner:
    the marker is created exclusively), as a machine lost mid-run would."""
    def step(texts):
        import os

        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return list(texts)
        os._exit(1)
    return step


def test_a_worker_that_dies_mid_run_loses_nothing(client, model_dir, tmp_path):
    """The nanny restarts the dead worker and the scheduler reruns its tasks: every text is classified
    once, in order, with the single-process result."""
    marker = tmp_path / "killed"
    bag = db.from_sequence(TEXTS, npartitions=6).map_partitions(_kill_worker_once(str(marker)))
    got = classify_bag(bag, model=str(model_dir)).compute()
    assert marker.exists()  # a worker really died
    expected = darien_nlp.classify(TEXTS, model=model_dir)
    assert [g["labels"] for g in got] == [list(p.labels) for p in expected]
    assert [g["scores"] for g in got] == [dict(p.scores) for p in expected]


def test_a_task_that_kills_every_worker_fails_with_a_clear_error(model_dir, tmp_path):
    """A partition that kills each worker it runs on ends the job with Dask's KilledWorker (naming
    the task) after `distributed.scheduler.allowed-failures` deaths: no partial result comes back."""
    import dask

    def always_die(texts):
        import os

        os._exit(1)

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=":0")
        try:
            with distributed.Client(cluster) as client:
                bag = classify_bag(db.from_sequence(TEXTS, npartitions=2).map_partitions(always_die),
                                   model=str(model_dir))
                with pytest.raises(distributed.scheduler.KilledWorker, match="workers died while running it"):
                    client.compute(bag).result(timeout=120)
        finally:
            cluster.close()


def test_benchmark_distributed_recipe_on_a_tiny_corpus(model_dir, tmp_path):
    """The cost-split benchmark runs end to end: stages timed, cluster labels equal one process's,
    no shard (corpus text) left behind. Figures are printed, never asserted."""
    import gzip
    import json

    from darien_nlp.experiments import ConfigError, run_experiment

    corpora = tmp_path / "corpora"
    corpora.mkdir()
    with gzip.open(corpora / "tiny.jsonl.gz", "wt", encoding="utf-8") as handle:
        for i, text in enumerate(TEXTS):
            handle.write(json.dumps({"id": f"d{i}", "text": f"{text}\n\n{text}"}) + "\n")
        handle.write("\n")  # a blank line is skipped, not a document
    config = tmp_path / "bench.toml"
    config.write_text(f"""[experiment]
name = "benchmark_distributed_smoke"
kind = "benchmark_distributed.v1"
[data]
corpora = "{corpora}"
source = "tiny.jsonl.gz"
partitions = 3
[model]
name = "{model_dir}"
""")
    run = run_experiment(config, results_root=tmp_path / "results", progress=False, root=tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["documents"] == len(TEXTS)  # documents sharded; the empty ones are skipped when read
    assert metrics["labels_equal"] is True and metrics["passages"] > 0
    for key in ("single_process", "cluster"):
        assert set(metrics[key]["stage_seconds"]) == {"model load", "read", "segment", "embed", "predict"}
        assert all(v >= 0 for v in metrics[key]["stage_seconds"].values())
    assert not (run / "scratch").exists()
    assert "LocalCluster, 2 workers" in (run / "report.md").read_text()
    config.write_text(config.read_text().replace('source = "tiny.jsonl.gz"', 'source = "missing.jsonl.gz"'))
    with pytest.raises(ConfigError, match="not a JSON-lines corpus file"):
        run_experiment(config, results_root=tmp_path / "results", progress=False, root=tmp_path)
