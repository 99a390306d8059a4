"""Recipe ``topics.v1``: discover topics in a release corpus, map them to the policy categories, over time.

Writes into the run folder: ``topics.csv``/``topics.json`` (id, name, words,
size, category mix, representative passages by id and offsets, never corpus
text), ``topics_over_time.csv``, ``category_shares_over_time.csv``,
``topics_by_source.csv``, ``label_view.csv``, ``document_topics.csv``,
``passage_topics.csv.gz`` (ids, offsets, topic), ``figures/`` (HTML and PNG),
the saved model (``model/``) and ``report.md``. Time, peak memory and every
count go to ``metrics.json``.
"""
from __future__ import annotations

import json
import logging
import os
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..experiments import Recipe, RunContext

logger = logging.getLogger(__name__)

__all__ = ["RECIPE", "run"]


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS); this project runs on Linux.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _source_path(context: RunContext) -> Path:
    source = context.config["data"]["source"]
    path = Path(source)
    if path.is_absolute():
        return path
    in_corpora = context.corpora() / source
    return in_corpora if in_corpora.exists() else context.root / source


def _model(config: dict[str, Any], context: RunContext):
    from ..topics import TopicModel

    model = config["model"]
    seed_topics = None if model["seed_topics"] in ("", "none") else model["seed_topics"]
    cache = context.path(config["output"]["cache_dir"]) if config["output"]["cache_dir"] else None
    reducer_options = {"n_neighbors": model["n_neighbors"]} if model["reducer"] in ("umap", "umap.v1") else {}
    return TopicModel(
        embedder=model["embedder"], embedder_options=dict(model["embedder_options"]) or None, reducer=model["reducer"], n_components=model["n_components"],
        reducer_options=reducer_options, clusterer=model["clusterer"], min_cluster_size=model["min_cluster_size"],
        n_clusters=model["n_clusters"] or None, representation=list(model["representation"]),
        top_n_words=model["top_n_words"], stop_phrases=(list(model["stop_phrases"]) or None),
        extra_stop_words=tuple(model["extra_stop_words"]), ngram_range=tuple(model["ngram_range"]),
        min_df=model["min_df"], max_df=model["max_df"], seed_topics=seed_topics, nr_topics=model["nr_topics"] or None,
        max_fit_passages=model["max_fit_passages"], reduce_outliers=model["reduce_outliers"],
        outlier_threshold=model["outlier_threshold"], n_representatives=config["output"]["representatives"],
        cache_dir=cache, random_state=config["experiment"]["seed"], progress=context.progress)


def _stop_phrases(config: dict[str, Any]) -> None:
    from ..topics import BOILERPLATE_PHRASES

    model = config["model"]
    if model["extra_stop_phrases"]:
        model["stop_phrases"] = list(model["stop_phrases"] or BOILERPLATE_PHRASES) + list(model["extra_stop_phrases"])


def run(context: RunContext) -> dict[str, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from ..topics import views
    from ..topics.figures import write_figures
    from ..topics.passages import collect_passages
    from ..topics.vectorizer import is_stop_term

    config = context.config
    _stop_phrases(config)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        timings[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        logger.info("topics: %s done in %.1f s (peak RSS %.0f MB)", name, timings[name], _peak_rss_mb())

    source = _source_path(context)
    table = collect_passages(source, max_chars=config["data"]["max_chars"], min_chars=config["data"]["min_chars"],
                             limit_documents=config["data"]["limit_documents"] or None)
    lap("load_and_segment")
    minimum = config["model"]["min_cluster_size"]
    if table.documents < minimum:
        raise ValueError(f"Topic discovery needs at least {minimum} documents (model.min_cluster_size = {minimum}); "
                         f"{source} has {table.documents} after removing {table.duplicate_documents} duplicates. "
                         "Use a larger corpus or lower model.min_cluster_size.")
    model = _model(config, context)
    cache_before = _cache_files(model.cache_dir)
    months = table.month_array()
    excluded = set(config["data"]["fit_exclude_sources"])
    fit_mask = [source not in excluded for source in table.sources] if excluded else None
    model.fit(table.texts, strata=months, fit_mask=fit_mask)
    embedded_from_cache = bool(cache_before) and _cache_files(model.cache_dir) == cache_before
    lap("embed_and_fit")
    info = [dict(entry) for entry in model.topic_info_]
    names = {e["topic"]: e["name"] for e in info}

    labels, category_note = _labels(config, table, context)
    lap("classify")

    over_time = views.topics_over_time(model.topics_, months)
    shares = views.category_shares_over_time(labels, months) if labels is not None else None
    by_source = views.topics_by_source(model.topics_, table.sources)
    documents = views.document_topics(model.topics_, table.doc_ids)
    mix = views.category_mix(model.topics_, labels) if labels is not None else None
    label_table = views.label_view(model.topics_, labels) if labels is not None else None
    for entry in info:
        entry["share"] = entry["size"] / max(len(table), 1)
        entry["category_mix"] = ({label: round(float(mix.loc[entry["topic"], label]), 4) for label in _labels_order()}
                                 if mix is not None and entry["topic"] in mix.index else None)
        entry["representatives"] = [
            {"passage_id": table.passage_ids[i], "doc_id": table.doc_ids[i], "start": table.starts[i],
             "end": table.ends[i]} for i in model.representatives_.get(entry["topic"], [])]
    _write_tables(context.run_dir, info, over_time, shares, by_source, documents, label_table, table, model)
    figures = write_figures(context.run_dir / "figures", info=info, topic_embeddings=model.topic_embeddings_,
                            over_time=over_time, shares=shares)
    if config["output"]["save_model"]:
        model.save(context.run_dir / "model", metadata={"experiment": config["experiment"]["name"]})
    lap("views_figures_save")

    # A name is bad when it has no words or any of its terms is made of stop words only.
    stop_named = [e["topic"] for e in info if e["topic"] != -1 and (
        not e["words"] or any(is_stop_term(term, extra_stop_words=config["model"]["extra_stop_words"])
                              for term in e["name"].split(" · ")))]
    topics_found = sum(1 for e in info if e["topic"] != -1)
    metrics = {
        "source": str(source), **table.summary(),
        "unique_passages": model.n_unique_passages_, "duplicate_passages": model.n_duplicate_passages_,
        "fit_passages": int(len(model.fit_index_)), "fit_eligible_passages": model.n_fit_eligible_,
        "fit_excluded_sources": sorted(excluded), "boilerplate_passages_skipped": model.boilerplate_passages_skipped_,
        "undated_passages": int(over_time.attrs["undated_passages"]),
        "topics": topics_found, "outlier_share_before": round(model.outlier_share_["before"], 4),
        "outlier_share_after": round(model.outlier_share_["after"], 4),
        "cluster_agreement": round(model.cluster_agreement_, 4),
        "topics_named_by_stop_words": stop_named, "category_mix": category_note,
        "embeddings_from_cache": embedded_from_cache, "stage_seconds": timings,
        "total_seconds": round(sum(timings.values()), 2), "peak_rss_mb": _peak_rss_mb(),
        "cpu_count": os.cpu_count(), "figures": [str(p.relative_to(context.run_dir)) for p in figures],
    }
    report = _report(config, metrics, info, label_table, names)
    (context.run_dir / "report.md").write_text(report, encoding="utf-8")
    print(report)
    return metrics


def _labels_order():
    from ..taxonomy import LABELS

    return LABELS


def _cache_files(cache_dir) -> set[str]:
    if cache_dir is None or not Path(cache_dir).is_dir():
        return set()
    return {p.name for p in Path(cache_dir).glob("*.npy")}


def _labels(config, table, context) -> tuple[np.ndarray | None, dict[str, Any]]:
    """The classifier's labels for every passage, or ``None`` with the reason when no model is available."""
    from ..topics import views

    name = config["classifier"]["model"]
    if name in ("", "none"):
        return None, {"available": False, "reason": "classifier.model is 'none' in the config"}
    try:
        classifier = views.resolve_classifier(None if name == "default" else name)
    except FileNotFoundError as error:
        message = f"category mix unavailable: no classifier model ({error})"
        logger.warning(message)
        return None, {"available": False, "reason": message}
    labels = views.predict_label_matrix(table.texts, classifier, progress=context.progress)
    return labels, {"available": True, "model": str(name)}


def _write_tables(folder: Path, info, over_time, shares, by_source, documents, label_table, table, model) -> None:
    import pandas as pd

    rows = []
    for e in info:
        row = {"topic": e["topic"], "name": e["name"], "size": e["size"], "share": round(e["share"], 5),
               "size_before_reduction": e["size_before_reduction"], "words": "; ".join(e["words"])}
        for label in _labels_order():
            row[label] = e["category_mix"][label] if e["category_mix"] else None
        row["representative_passages"] = "; ".join(r["passage_id"] for r in e["representatives"])
        rows.append(row)
    pd.DataFrame(rows).to_csv(folder / "topics.csv", index=False)
    (folder / "topics.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    over_time.to_csv(folder / "topics_over_time.csv", index=False)
    if shares is not None:
        shares.to_csv(folder / "category_shares_over_time.csv", index=False)
    if label_table is not None:
        label_table.to_csv(folder / "label_view.csv", index=False)
    by_source.to_csv(folder / "topics_by_source.csv", index=False)
    documents.to_csv(folder / "document_topics.csv", index=False)
    pd.DataFrame({"passage_id": table.passage_ids, "doc_id": table.doc_ids, "start": table.starts,
                  "end": table.ends, "month": table.months, "topic": model.topics_,
                  "topic_before_reduction": model.topics_before_reduction_}).to_csv(
        folder / "passage_topics.csv.gz", index=False)


def _report(config, metrics, info, label_table, names) -> str:
    lines = [f"# {config['experiment']['name']}", "",
             f"- corpus: `{Path(metrics['source']).name}`: {metrics['documents']:,} documents "
             f"({metrics['duplicate_documents']} duplicates removed, {metrics['undated_documents']} undated), "
             f"{metrics['passages']:,} passages ({metrics['duplicate_passages']:,} repeated texts)",
             f"- model: {config['model']['embedder']} vectors + {config['model']['reducer']} + {config['model']['clusterer']} + "
             f"{', '.join(config['model']['representation'])}, fitted on {metrics['fit_passages']:,} passages"
             + (f" drawn from {metrics['fit_eligible_passages']:,} outside {', '.join(metrics['fit_excluded_sources'])} "
                "(those are assigned, not fitted on)" if metrics["fit_excluded_sources"] else "") + "; "
             f"**{metrics['topics']} topics**",
             f"- outliers (topic -1): **{metrics['outlier_share_before']:.1%}** of passages before reassignment, "
             f"**{metrics['outlier_share_after']:.1%}** after",
             f"- time **{metrics['total_seconds']:.1f} s** ({', '.join(f'{k} {v:.1f} s' for k, v in metrics['stage_seconds'].items())}); "
             f"peak memory **{metrics['peak_rss_mb']:,.0f} MB** on {metrics['cpu_count']} cores; embeddings "
             + ("read from the cache of an earlier run" if metrics["embeddings_from_cache"] else "computed in this run (no cache)"),
             f"- category mix: {'from the classifier' if metrics['category_mix']['available'] else metrics['category_mix']['reason']}",
             f"- undated passages skipped in time views: {metrics['undated_passages']:,}", ""]
    shown = [e for e in info if e["topic"] != -1][: config["output"]["top_topics"]]
    header = "| topic | passages | name | top category |"
    lines += ["## Top topics", "", header, "|---:|---:|---|---|"]
    for e in sorted(shown, key=lambda e: -e["size"]):
        top = ""
        if e["category_mix"]:
            label, share = max(e["category_mix"].items(), key=lambda item: item[1])
            top = f"{label} {share:.2f}"
        lines.append(f"| {e['topic']} | {e['size']:,} | {e['name']} | {top} |")
    if label_table is not None and len(label_table):
        lines += ["", "## Topics carrying each category", ""]
        for label, group in label_table.groupby("label", sort=False):
            parts = [f"{names.get(int(r.topic), r.topic)} ({r.share_of_label:.0%})" for r in group.head(3).itertuples()]
            lines.append(f"- **{label}**: " + "; ".join(parts))
    lines += ["", "Files: topics.csv/json, topics_over_time.csv, category_shares_over_time.csv, figures/ "
              "(HTML + PNG), model/ (safetensors + JSON + manifest).", ""]
    return "\n".join(lines)


RECIPE = Recipe(
    schema={
        "data": {"corpora": "", "source": "wh-migration-americas-md", "max_chars": 600, "min_chars": 0, "limit_documents": 0,
                 "fit_exclude_sources": []},
        "model": {"embedder": "static", "embedder_options": {}, "reducer": "umap", "n_components": 5, "n_neighbors": 15,
                  "clusterer": "hdbscan", "min_cluster_size": 15, "n_clusters": 0,
                  "representation": ["keybert"], "top_n_words": 10, "ngram_range": [1, 2], "min_df": 1, "max_df": 1.0,
                  "stop_phrases": [], "extra_stop_phrases": [], "extra_stop_words": [], "seed_topics": "none",
                  "nr_topics": 0, "max_fit_passages": 40_000, "reduce_outliers": True, "outlier_threshold": 0.0},
        "classifier": {"model": "default"},
        "output": {"cache_dir": "results/.cache/embeddings", "save_model": True, "top_topics": 20,
                   "representatives": 3},
    },
    run=run,
    choices={"model.embedder": ("static", "minilm", "lsa"), "model.reducer": ("umap", "pca"),
             "model.clusterer": ("hdbscan", "kmeans"), "model.representation": ("keybert", "mmr", "ctfidf"),
             "model.seed_topics": ("none", "taxonomy")},
)
