"""Recipe ``benchmark_classify.v1``: throughput, cold-start time and import weight of ``classify``.

Figures are printed and written to the run's ``metrics.json``; they are never
asserted in tests (timings depend on the machine).
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import time

import numpy as np

from ..experiments import Recipe, RunContext

logger = logging.getLogger(__name__)

_COLD_START = (
    "import time, sys; t = time.perf_counter(); import darien_nlp; "
    "p = darien_nlp.classify('Panama and Colombia agreed to dismantle smuggling networks in the Darien.', "
    "model=sys.argv[1]); "
    "print(__import__('json').dumps({'seconds': time.perf_counter() - t, 'labels': list(p.labels), "
    "'torch_loaded': 'torch' in sys.modules, 'heavy': sorted(m for m in ('torch', 'sentence_transformers', "
    "'bertopic', 'umap', 'hdbscan', 'transformers') if m in sys.modules)}))"
)


def _passages(context: RunContext, limit: int) -> tuple[list[str], list]:
    """``limit`` passages and the documents they come from."""
    from ..corpus import load_corpus, segment

    source = context.config["data"]["source"]
    if source == "corpora":
        path = context.corpora() / "wh-briefings-2021-2026.jsonl.gz"
    else:
        path = context.path(source)
    texts: list[str] = []
    documents = []
    for document in load_corpus(path, on_error="skip"):
        documents.append(document)
        texts.extend(p.text for p in segment(document))
        if len(texts) >= limit:
            break
    while len(texts) < limit:  # a small source (seeds) is cycled to reach the batch size
        texts.extend(texts[: limit - len(texts)])
    return texts[:limit], documents


def run(context: RunContext) -> dict:
    from ..api import classify, classify_document, load_model

    config = context.config["benchmark"]
    model = context.config["model"]["name"]
    texts, documents = _passages(context, config["passages"])
    load_model(model)
    classify(texts[:100], model=model)  # warm-up
    timings = []
    for _ in range(config["repeats"]):
        started = time.perf_counter()
        classify(texts, model=model)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    # One text per call, as a pipeline that classifies items as they come: the per-call latency.
    singles = texts[:config["single_calls"]]
    started = time.perf_counter()
    for text in singles:
        classify(text, model=model)
    single_ms = 1000 * (time.perf_counter() - started) / max(len(singles), 1)
    # Whole documents: segmenting, and (for a model that reads context) each passage's window.
    started = time.perf_counter()
    document_passages = sum(len(classify_document(document, model=model).passages) for document in documents)
    document_seconds = time.perf_counter() - started
    cold = []
    for _ in range(config["cold_repeats"]):
        out = subprocess.run([sys.executable, "-c", _COLD_START, model], capture_output=True, text=True, check=True,
                             cwd=str(context.root))
        cold.append(json.loads(out.stdout.strip().splitlines()[-1]))
    metrics = {
        "model": model,
        "passages": len(texts),
        "mean_chars": float(np.mean([len(t) for t in texts])),
        "batch_seconds": [round(t, 3) for t in timings],
        "passages_per_second": round(len(texts) / best, 1),
        "first_pass_passages_per_second": round(len(texts) / timings[0], 1),
        "single_calls": len(singles),
        "single_call_ms": round(single_ms, 3),
        "reads_context": bool(getattr(load_model(model), "uses_context", False)),
        "documents": len(documents),
        "document_passages_per_second": round(document_passages / document_seconds, 1),
        "cold_start_seconds": [round(c["seconds"], 3) for c in cold],
        "cold_start_median_seconds": round(float(np.median([c["seconds"] for c in cold])), 3),
        "torch_loaded_after_classify": any(c["torch_loaded"] for c in cold),
        "heavy_modules_after_classify": sorted({m for c in cold for m in c["heavy"]}),
    }
    call = "darien_nlp.classify('...')" if model == "default" else f"darien_nlp.classify('...', model={model!r})"
    report = "\n".join([
        f"# {context.config['experiment']['name']}", "",
        f"- model `{model}`; batched `classify` on {len(texts):,} passages (mean {metrics['mean_chars']:.0f} chars): "
        f"**{metrics['passages_per_second']:,.0f} passages/s** (best of {len(timings)}; the first pass, "
        f"which also fills caches such as the static model's word cache, ran at "
        f"{metrics['first_pass_passages_per_second']:,.0f}/s)",
        f"- one text per call (`classify(text)`, warm, {len(singles):,} calls): **{single_ms:.2f} ms** a call",
        f"- `classify_document` on the {len(documents):,} documents those passages come from (segmenting"
        + (", and each passage read with its context window" if metrics["reads_context"] else "")
        + f"): **{metrics['document_passages_per_second']:,.0f} passages/s**",
        f"- cold start, `python -c \"import darien_nlp; {call}\"` to result: "
        f"**{metrics['cold_start_median_seconds']:.2f} s** (median of {len(cold)})",
        f"- torch in sys.modules after classify: **{metrics['torch_loaded_after_classify']}**; heavy modules: "
        f"{metrics['heavy_modules_after_classify'] or 'none'}", "",
    ])
    (context.run_dir / "report.md").write_text(report)
    print(report)
    return metrics


RECIPE = Recipe(
    schema={"data": {"corpora": "", "source": "corpora"}, "model": {"name": "default"},
            "benchmark": {"passages": 50_000, "repeats": 3, "cold_repeats": 5,
                          "single_calls": 2000}},  # classify(text) one at a time, for the per-call latency
    run=run,
)
