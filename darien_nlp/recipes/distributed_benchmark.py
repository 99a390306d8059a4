"""Recipe ``benchmark_distributed.v1``: where the time goes when a corpus is classified on Dask.

The corpus is split into ``partitions`` shard files (JSON lines, in a scratch folder of the run,
deleted at the end: they hold corpus text), as a corpus sits on shared storage. Each shard is
processed by one task that times its stages:

* **read**: :func:`darien_nlp.load_corpus` on the shard (file I/O, JSON, markup cleaning);
* **segment**: :func:`darien_nlp.corpus.segment` and each passage's context window;
* **embed**: the model's own scoring inside that ``classify`` call (``predict_scored``: the
  embedding, with the heads' product fused into it, and calibration), timed by wrapping the method
  for the call, so nothing is computed twice;
* **predict**: the rest of :func:`darien_nlp.classify`: input checks, thresholds and the result
  objects;
* **model load**: loading the model (once per worker process; cached afterwards).

The same tasks run twice: one after another in this process, then on a ``distributed.LocalCluster``
(loopback, ``workers`` processes of one thread). The report gives both wall times, the stage split
summed over the tasks of each, and whether the cluster's labels equal the single-process labels.
Figures are printed and written to ``metrics.json``; they are never asserted in tests.
"""
from __future__ import annotations

import gzip
import json
import logging
import time
from pathlib import Path
from typing import Any

from ..experiments import ConfigError, Recipe, RunContext

logger = logging.getLogger(__name__)

__all__ = ["RECIPE", "run", "process_shard"]

STAGES = ("model load", "read", "segment", "embed", "predict")


def process_shard(path: str, model: str, max_chars: int) -> dict[str, Any]:
    """Classify every passage of one shard (each read with its context), timing each stage."""
    from ..api import classify, load_model
    from ..corpus import context_window, load_corpus, segment

    seconds = dict.fromkeys(STAGES, 0.0)
    started = time.perf_counter()
    classifier = load_model(model)
    seconds["model load"] = time.perf_counter() - started

    started = time.perf_counter()
    documents = list(load_corpus(path, on_error="skip"))
    seconds["read"] = time.perf_counter() - started

    started = time.perf_counter()
    window = classifier.context_chars
    ids, texts, contexts = [], [], []
    for document in documents:
        for passage in segment(document, max_chars=max_chars):
            ids.append((document.doc_id, passage.start, passage.end))
            texts.append(passage.text)
            contexts.append(None if window is None else context_window(document.text, passage.start, passage.end, window))
    seconds["segment"] = time.perf_counter() - started

    spent = [0.0]
    scored = getattr(classifier, "predict_scored", None)

    def timed(batch):
        started = time.perf_counter()
        try:
            return scored(batch)
        finally:
            spent[0] += time.perf_counter() - started

    if scored is not None:  # this process's cached model, one task at a time (workers run one thread)
        classifier.predict_scored = timed
    started = time.perf_counter()
    try:
        predictions = classify(texts, model=classifier, context=contexts if window is not None else None) if texts else []
    finally:
        if scored is not None:
            del classifier.predict_scored
    total = time.perf_counter() - started
    seconds["embed"] = spent[0]
    seconds["predict"] = total - spent[0]
    return {"seconds": seconds, "classify_seconds": total, "embed_measured": scored is not None, "documents": len(documents), "passages": len(texts),
            "labels": [[*key, list(p.labels)] for key, p in zip(ids, predictions)]}


def _shard(source: Path, folder: Path, partitions: int, limit: int) -> tuple[list[str], int]:
    """Split a JSON-lines corpus (gzip or plain) into ``partitions`` files, documents dealt in turn."""
    opener = gzip.open if source.suffix == ".gz" else open
    paths = [folder / f"shard-{k:03d}.jsonl" for k in range(partitions)]
    handles = [open(p, "w", encoding="utf-8") for p in paths]
    count = 0
    try:
        with opener(source, "rt", encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    continue
                if limit and count >= limit:
                    break
                handles[count % partitions].write(line if line.endswith("\n") else line + "\n")
                count += 1
    finally:
        for handle in handles:
            handle.close()
    return [str(p) for p in paths], count


def _summed(results: list[dict[str, Any]]) -> dict[str, float]:
    return {stage: round(sum(r["seconds"][stage] for r in results), 3) for stage in STAGES}


def run(context: RunContext) -> dict[str, Any]:
    config = context.config
    data, cluster_settings = config["data"], config["cluster"]
    source = Path(data["source"])
    if not source.is_absolute():
        source = context.corpora() / source
    if not source.is_file():
        raise ConfigError(f"data.source: {source} is not a JSON-lines corpus file (.jsonl or .jsonl.gz)")
    partitions, workers = int(data["partitions"]), int(cluster_settings["workers"])
    if partitions < 1 or workers < 1:
        raise ConfigError("data.partitions and cluster.workers must be >= 1")
    model = str(config["model"]["name"])
    scratch = context.run_dir / "scratch"
    scratch.mkdir()
    try:
        started = time.perf_counter()
        shards, documents = _shard(source, scratch, partitions, int(data["limit_documents"]))
        shard_seconds = time.perf_counter() - started
        logger.info("benchmark_distributed: %d documents in %d shards (%.1f s)", documents, partitions, shard_seconds)

        started = time.perf_counter()
        single = [process_shard(path, model, data["max_chars"]) for path in shards]
        single_wall = time.perf_counter() - started
        logger.info("benchmark_distributed: one process: %.1f s", single_wall)

        import distributed

        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=":0")
        try:
            with distributed.Client(cluster) as client:
                started = time.perf_counter()
                futures = client.map(process_shard, shards, model=model, max_chars=data["max_chars"], pure=False)
                parallel = client.gather(futures)
                cluster_wall = time.perf_counter() - started
        finally:
            cluster.close()
        logger.info("benchmark_distributed: %d workers: %.1f s", workers, cluster_wall)
    finally:
        for file in scratch.glob("*.jsonl"):
            file.unlink()
        scratch.rmdir()

    passages = sum(r["passages"] for r in single)
    equal = [r["labels"] for r in single] == [r["labels"] for r in parallel]
    summary = {
        "source": source.name, "documents": documents, "passages": passages, "partitions": partitions,
        "workers": workers, "model": model, "sharding_seconds": round(shard_seconds, 2),
        "single_process": {"wall_seconds": round(single_wall, 2), "stage_seconds": _summed(single),
                           "passages_per_second": round(passages / single_wall, 1)},
        "cluster": {"wall_seconds": round(cluster_wall, 2), "stage_seconds": _summed(parallel),
                    "passages_per_second": round(passages / cluster_wall, 1)},
        "speedup": round(single_wall / cluster_wall, 2), "labels_equal": equal,
    }
    report = _report(config, summary)
    (context.run_dir / "report.md").write_text(report, encoding="utf-8")
    print(report)
    return summary


def _report(config: dict[str, Any], s: dict[str, Any]) -> str:
    from ..evaluate import markdown_table

    rows = []
    for name, key in (("one process", "single_process"), (f"LocalCluster, {s['workers']} workers", "cluster")):
        stages = s[key]["stage_seconds"]
        busy = sum(stages.values()) or 1.0
        row = {"run": name, "wall s": s[key]["wall_seconds"], "passages/s": s[key]["passages_per_second"]}
        row.update({f"{stage} s (share)": f"{stages[stage]:.1f} ({stages[stage] / busy:.0%})" for stage in STAGES})
        rows.append(row)
    return "\n".join([
        f"# {config['experiment']['name']}", "",
        f"`{s['source']}`: {s['documents']:,} documents, {s['passages']:,} passages, in {s['partitions']} shard files "
        f"(made in {s['sharding_seconds']} s, not counted), classified with `{s['model']}` (each passage with its "
        "context). Stage seconds are summed over the tasks; their share is of the summed task time. `embed`: the "
        "model's scoring inside `classify` (embedding with the heads' product fused in, and calibration); "
        "`predict`: the rest of `classify` (input checks, thresholds, result objects).", "",
        markdown_table(rows, list(rows[0])), "",
        f"Cluster speed-up over one process: **{s['speedup']}×** on this machine ({s['workers']} worker processes; "
        "the cluster starts before the clock does, and each worker loads the model within the timed run). Labels from the cluster equal the single-process labels: **{s['labels_equal']}**.", ""])


RECIPE = Recipe(
    schema={
        "data": {"corpora": "", "source": "wh-briefings-2021-2026.jsonl.gz", "partitions": 16, "limit_documents": 0,
                 "max_chars": 600},
        "model": {"name": "default"},
        "cluster": {"workers": 2},
    },
    run=run,
)
