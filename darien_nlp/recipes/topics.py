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
import re
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


def _source_path(context: RunContext, source: str | None = None) -> Path:
    source = context.config["data"]["source"] if source is None else source
    path = Path(source)
    if path.is_absolute():
        return path
    in_corpora = context.corpora() / source
    return in_corpora if in_corpora.exists() else context.root / source


def _collect(context: RunContext):
    """The passages of ``data.source``: one corpus, or a list of them (e.g. an English and a Spanish
    one) concatenated, each passage keeping its corpus as its source when the corpus gives none."""
    from ..topics.passages import collect_passages

    data = context.config["data"]
    sources = data["source"] if isinstance(data["source"], list) else [data["source"]]
    if not sources or not all(isinstance(s, str) and s for s in sources):
        raise ValueError(f"data.source must be a corpus path or a non-empty list of them. Got {data['source']!r} instead.")
    window = context.config["classifier"]["context_chars"] if context.config["classifier"]["model"] not in ("", "none") else 0
    tables = [collect_passages(_source_path(context, s), max_chars=data["max_chars"], min_chars=data["min_chars"],
                               limit_documents=data["limit_documents"] or None, context_chars=window or None)
              for s in sources]
    if len(tables) == 1:
        return _source_path(context), tables[0]
    table = tables[0]
    for name, other in zip(sources[1:], tables[1:]):
        for field in ("texts", "passage_ids", "doc_ids", "starts", "ends", "months", "sources", "contexts"):
            getattr(table, field).extend(getattr(other, field))
        for field in ("documents", "duplicate_documents", "undated_documents", "documents_without_passages",
                      "skipped_records", "short_passages"):
            setattr(table, field, getattr(table, field) + getattr(other, field))
    return " + ".join(str(_source_path(context, s).name) for s in sources), table


def _model(config: dict[str, Any], context: RunContext):
    from ..topics import TopicModel

    model = config["model"]
    seed_topics = _seed_lists(model)
    cache = context.path(config["output"]["cache_dir"]) if config["output"]["cache_dir"] else None
    reducer_options = {"n_neighbors": model["n_neighbors"]} if model["reducer"] in ("umap", "umap.v1") else {}
    return TopicModel(
        embedder=model["embedder"], embedder_options=dict(model["embedder_options"]) or None, reducer=model["reducer"], n_components=model["n_components"],
        reducer_options=reducer_options, clusterer=model["clusterer"], min_cluster_size=model["min_cluster_size"],
        n_clusters=model["n_clusters"] or None, representation=list(model["representation"]),
        representation_options=model["representation_options"] or None,
        top_n_words=model["top_n_words"], stop_phrases=(list(model["stop_phrases"]) or None),
        extra_stop_words=tuple(model["extra_stop_words"]), ngram_range=tuple(model["ngram_range"]),
        min_df=model["min_df"], max_df=model["max_df"], seed_topics=seed_topics, nr_topics=model["nr_topics"] or None,
        max_fit_passages=model["max_fit_passages"], reduce_outliers=model["reduce_outliers"],
        outlier_threshold=model["outlier_threshold"], n_representatives=config["output"]["representatives"],
        cache_dir=cache, random_state=config["experiment"]["seed"], progress=context.progress)


def _seed_lists(model: dict[str, Any]):
    """BERTopic's seed-topic lists: the taxonomy's cues (``seed_topics = "taxonomy"``) and the user's
    named ``seed_words`` lists (``{"Safe Mobility" = ["safe mobility", "movilidad segura"]}``)."""
    seeds = model["seed_words"]
    if not isinstance(seeds, dict) or not all(
            isinstance(name, str) and isinstance(words, list) and words and all(isinstance(w, str) and w.strip() for w in words)
            for name, words in seeds.items()):
        raise ValueError("model.seed_words must map a topic name to a non-empty list of words or phrases, e.g. "
                         f"{{\"Safe Mobility\" = [\"safe mobility\", \"movilidad segura\"]}}. Got {seeds!r} instead.")
    if not seeds:
        return None if model["seed_topics"] in ("", "none") else model["seed_topics"]
    from ..taxonomy import CATEGORIES

    lists = ([[cue.lower() for cue in category.cues] for category in CATEGORIES.values()]
             if model["seed_topics"] == "taxonomy" else [])
    return lists + [[w.lower() for w in words] for words in seeds.values()]


def _seeded(config, model, texts, months=None) -> list[dict[str, Any]]:
    """For each named seed-word list: the topic nearest to its words, and where the passages that
    name any of them went (the evidence of what gathers there); with ``months`` (one per text, empty
    when undated), how many of those passages each month holds."""
    import re
    from collections import Counter

    out = []
    names = {e["topic"]: e["name"] for e in model.topic_info_}
    for name, words in config["model"]["seed_words"].items():
        pattern = re.compile("|".join(rf"\b{re.escape(w)}\b" for w in words), re.IGNORECASE)
        hits = [i for i, text in enumerate(texts) if pattern.search(text)]
        nearest = int(model.transform([" ".join(words)])[0])
        counts = Counter(int(model.topics_[i]) for i in hits)
        top, top_count = counts.most_common(1)[0] if counts else (None, 0)
        entry = {"seed": name, "words": list(words), "nearest_topic": nearest, "nearest_name": names.get(nearest),
                 "passages_naming_a_seed_word": len(hits), "main_topic": top, "main_topic_name": names.get(top),
                 "share_in_main_topic": round(top_count / len(hits), 4) if hits else 0.0}
        if months is not None:
            entry["months_naming_a_seed_word"] = dict(sorted(Counter(str(months[i]) for i in hits
                                                                     if months[i]).items()))  # undated: skipped
        out.append(entry)
    return out


def _events(config, seeded, over_time) -> list[dict[str, Any]]:
    """Known events (``output.events``: name, month, seed) on the curve of the topic their seed gathered in."""
    from ..topics import views

    events = config["output"]["events"]
    if not events:
        return []
    by_seed = {s["seed"]: s for s in seeded}
    resolved = []
    for event in events:
        if not (isinstance(event, dict) and set(event) == {"name", "month", "seed"}
                and re.fullmatch(r"\d{4}-\d{2}", str(event["month"]))):
            raise ValueError("output.events must be a list of { name = ..., month = \"YYYY-MM\", seed = ... }; "
                             f"got {event!r}")
        if event["seed"] not in by_seed:
            raise ValueError(f"output.events: {event['name']!r} names seed {event['seed']!r}, which is not in "
                             f"model.seed_words ({sorted(by_seed)})")
        topic = by_seed[event["seed"]]["main_topic"]
        if topic is not None:
            resolved.append({"name": event["name"], "month": event["month"], "seed": event["seed"], "topic": int(topic)})
    # a seed that gathered in a topic set aside has no topic curve: reported with no figures
    signals = views.event_signals(over_time, [e for e in resolved if e["topic"] >= 0]) + [
        {**e, "share": None, "next_month_share": None, "median_share": None, "ratio": None, "peak_month": None,
         "rank": None} for e in resolved if e["topic"] < 0]
    for signal in signals:  # does the corpus speak of the event that month at all? (the seed words' passages)
        named = by_seed[signal["seed"]].get("months_naming_a_seed_word")
        if named is not None:
            signal["seed_passages_that_month"] = int(named.get(signal["month"], 0))
            signal["seed_peak_month"] = max(named, key=named.get) if named else None
    return signals


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
    from ..topics.figures import events_plot as write_events_figure
    from ..topics.figures import write_figures
    from ..topics.passages import collect_passages
    from ..topics.vectorizer import is_stop_term

    config = context.config
    _stop_phrases(config)
    _check_topic_min_labelled(config)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        timings[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        logger.info("topics: %s done in %.1f s (peak RSS %.0f MB)", name, timings[name], _peak_rss_mb())

    source, table = _collect(context)
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
    scope_mode = config["scope"]["mode"]
    labels, category_note, in_scope, scope_note = None, None, None, {"mode": "off"}
    if scope_mode != "off":  # classify first: topics are fitted on the in-scope passages only
        with _spans(table):
            labels, category_note = _labels(config, table, context)
            in_scope, scope_note = _in_scope(config, table, labels)
        lap("classify_and_scope")
    keep = np.arange(len(table)) if in_scope is None else np.flatnonzero(in_scope)
    fitted = _subset(table, keep)
    if fitted.documents < minimum or len(fitted) < model.minimum_passages():
        raise ValueError(f"Only {len(fitted)} passages of {len(table)} ({fitted.documents} documents) are in scope "
                         f"(scope.mode = {scope_mode!r}); topic discovery needs at least {model.minimum_passages()} "
                         f"passages from {minimum} documents. Use scope.mode = 'off' or a larger corpus.")
    fit_mask = [source not in excluded for source in fitted.sources] if excluded else None
    model.fit(fitted.texts, strata=fitted.month_array(), fit_mask=fit_mask)
    embedded_from_cache = bool(cache_before) and _cache_files(model.cache_dir) == cache_before
    lap("embed_and_fit")
    topics, topics_before = _expand(model.topics_, keep, len(table)), _expand(model.topics_before_reduction_, keep, len(table))
    info = [dict(entry) for entry in model.topic_info_]
    if in_scope is not None:
        info.append({"topic": OUTSIDE, "name": OUTSIDE_NAME, "size": int((~in_scope).sum()),
                     "size_before_reduction": int((~in_scope).sum()), "words": []})
    names = {e["topic"]: e["name"] for e in info}

    if labels is None:
        with _spans(table):
            labels, category_note = _labels(config, table, context)
        lap("classify")
    set_aside = _set_aside(config, topics, labels, info)
    if set_aside:  # topics the classifier mostly leaves unlabelled join the "outside the categories" group
        gone = [e["topic"] for e in set_aside]
        moved = np.isin(topics, gone)
        topics = np.where(moved, OUTSIDE, topics).astype(np.int32)
        info = [e for e in info if e["topic"] not in gone]
        outside = next(e for e in info if e["topic"] == OUTSIDE)
        outside["size"] += int(moved.sum())
        outside["size_before_reduction"] += int(moved.sum())
        scope_note = {**scope_note, "topic_min_labelled": config["scope"]["topic_min_labelled"], "set_aside": set_aside,
                      "set_aside_passages": int(moved.sum())}

    over_time = views.topics_over_time(topics, months)
    shares = views.category_shares_over_time(labels, months) if labels is not None else None
    by_source = views.topics_by_source(topics, table.sources)
    documents = views.document_topics(topics, table.doc_ids)
    mix = views.category_mix(topics, labels) if labels is not None else None
    label_table = views.label_view(topics, labels) if labels is not None else None
    _languages(info, topics, table.texts)
    quality = _quality(config, fitted.texts, info)
    seeded = _seeded(config, model, fitted.texts, fitted.months) if config["model"]["seed_words"] else []
    gone = {e["topic"]: e["name"] for e in set_aside}
    for seed in seeded:  # a seed whose topic was set aside gathered in the "outside the categories" group
        for topic_key, name_key in (("nearest_topic", "nearest_name"), ("main_topic", "main_topic_name")):
            if seed[topic_key] in gone:
                seed[name_key] = f"{OUTSIDE_NAME} (set aside: {gone[seed[topic_key]]})"
                seed[topic_key] = OUTSIDE
    lap("quality")
    for entry in info:
        entry["share"] = entry["size"] / max(len(table), 1)
        entry["category_mix"] = ({label: round(float(mix.loc[entry["topic"], label]), 4) for label in _labels_order()}
                                 if mix is not None and entry["topic"] in mix.index else None)
        entry["representatives"] = [
            {"passage_id": table.passage_ids[i], "doc_id": table.doc_ids[i], "start": table.starts[i],
             "end": table.ends[i]} for i in (keep[j] for j in model.representatives_.get(entry["topic"], []))]
    _write_tables(context.run_dir, info, over_time, shares, by_source, documents, label_table, table, topics,
                  topics_before)
    # figures show the topics; the "outside the categories" group is reported, not drawn among them
    figures = write_figures(context.run_dir / "figures", info=[e for e in info if e["topic"] != OUTSIDE],
                            topic_embeddings=model.topic_embeddings_, over_time=over_time[over_time.topic != OUTSIDE],
                            shares=shares)
    events = _events(config, seeded, over_time)
    if any(e["topic"] >= 0 for e in events):
        figures += write_events_figure(over_time, [e for e in events if e["topic"] >= 0], names,
                                       context.run_dir / "figures")
    if config["output"]["save_model"]:
        # with scope on, the model knows the in-scope passages only: transform assigns whatever it is given
        model.save(context.run_dir / "model", metadata={"experiment": config["experiment"]["name"], "scope": scope_note})
    lap("views_figures_save")

    # A name is bad when it has no words or any of its terms is made of stop words only.
    stop_named = [e["topic"] for e in info if e["topic"] not in (-1, OUTSIDE) and (
        not e["words"] or any(is_stop_term(term, extra_stop_words=config["model"]["extra_stop_words"])
                              for term in e["name"].split(" · ")))]
    topics_found = sum(1 for e in info if e["topic"] not in (-1, OUTSIDE))
    themes = _themes(config["output"]["themes"], info)
    metrics = {
        "source": str(source), **table.summary(),
        "unique_passages": model.n_unique_passages_, "duplicate_passages": model.n_duplicate_passages_,
        "fit_passages": int(len(model.fit_index_)), "fit_eligible_passages": model.n_fit_eligible_,
        "fit_excluded_sources": sorted(excluded), "boilerplate_passages_skipped": model.boilerplate_passages_skipped_,
        "undated_passages": int(over_time.attrs["undated_passages"]), "scope": scope_note,
        "topics": topics_found, "outlier_share_before": round(model.outlier_share_["before"], 4),
        "outlier_share_after": round(model.outlier_share_["after"], 4),
        "cluster_agreement": round(model.cluster_agreement_, 4),
        "topics_named_by_stop_words": stop_named, "category_mix": category_note, "seeded_topics": seeded,
        "events": events, "themes": themes,
        "quality": {**{k: v for k, v in quality.items() if k != "npmi_per_topic"},
                    "stop_named_share": round(len(stop_named) / topics_found, 4) if topics_found else 0.0},
        "embeddings_from_cache": embedded_from_cache, "stage_seconds": timings,
        "total_seconds": round(sum(timings.values()), 2), "peak_rss_mb": _peak_rss_mb(),
        "cpu_count": os.cpu_count(), "figures": [str(p.relative_to(context.run_dir)) for p in figures],
    }
    report = _report(config, metrics, info, label_table, names)
    (context.run_dir / "report.md").write_text(report, encoding="utf-8")
    print(report)
    return metrics


#: Topic id of the passages kept out of the topics by the scope option ("outside the categories").
OUTSIDE = -2
OUTSIDE_NAME = "outside the categories"


def _expand(values, keep, size) -> np.ndarray:
    """Per-passage topic ids of the whole table: the fitted subset's ids, :data:`OUTSIDE` elsewhere."""
    out = np.full(size, OUTSIDE, dtype=np.int32)
    out[keep] = values
    return out


def _subset(table, keep):
    """The passages of ``table`` at positions ``keep`` (a :class:`PassageTable`; counts kept)."""
    import dataclasses

    if len(keep) == len(table):
        return table
    columns = ("texts", "passage_ids", "doc_ids", "starts", "ends", "months", "sources") + (
        ("contexts",) if table.contexts else ())
    subset = dataclasses.replace(table, **{name: [getattr(table, name)[i] for i in keep] for name in columns})
    subset.documents = len(set(subset.doc_ids))
    return subset


def _spans(table):
    """Within the block the classifier's static models read the table's passages and contexts as spans of
    their documents (each document tokenised once; the same results), when the table holds them."""
    from contextlib import nullcontext

    from ..embed.static import document_spans

    return nullcontext() if table.spans is None else document_spans(table.spans)


def _in_scope(config, table, labels) -> tuple[np.ndarray, dict[str, Any]]:
    """Which passages the topics are fitted on: those the classifier labels (``labels``) or those
    whose scope score passes the model's cut (``score``, a model with a scope head)."""
    from ..topics import views

    settings = config["scope"]
    mode = settings["mode"]
    name = settings["model"] or config["classifier"]["model"]
    if mode == "labels":
        if labels is None:
            raise ValueError("scope.mode = 'labels' needs a classifier: set classifier.model (not 'none')")
        in_scope = labels.any(axis=1)
        if settings["model"] and settings["model"] != config["classifier"]["model"]:
            in_scope = views.predict_label_matrix(table.texts, views.resolve_classifier(
                None if name == "default" else name), contexts=table.contexts or None).any(axis=1)
        cut = None
    else:
        model = views.resolve_classifier(None if name == "default" else name)
        if not getattr(model, "has_scope", False):
            raise ValueError(f"scope.mode = 'score' needs a model with a scope head (e.g. policy-bilingual-scope); "
                             f"{name!r} has none. Use scope.mode = 'labels' or name another scope.model.")
        def items(i):
            texts = [t[:4000] for t in table.texts[i:i + 20_000]]
            if table.contexts and getattr(model, "uses_context", False):
                return list(zip(texts, (c[:6000] for c in table.contexts[i:i + 20_000])))
            return texts

        scores = np.concatenate([model.scope_proba(items(i)) for i in range(0, len(table), 20_000)]) if len(table) \
            else np.zeros(0)
        cut = float(settings["min_score"]) if settings["min_score"] else float(model.scope_["threshold"])
        in_scope = scores >= cut
    note = {"mode": mode, "model": name, "cut": cut, "in_scope": int(in_scope.sum()),
            "outside": int((~in_scope).sum()), "outside_share": round(float(np.mean(~in_scope)), 4) if len(table) else 0.0}
    logger.info("scope: %d of %d passages in scope (%s)", note["in_scope"], len(table), mode)
    return in_scope, note


def _check_topic_min_labelled(config) -> None:
    """Bad ``scope.topic_min_labelled`` settings fail before any work; a setting that cannot act is logged."""
    scope = config["scope"]
    cut = scope["topic_min_labelled"]
    if isinstance(cut, bool) or not isinstance(cut, (int, float)) or not 0.0 <= cut <= 1.0:
        raise ValueError(f"scope.topic_min_labelled must be a number in [0, 1]. Got {cut!r} instead.")
    if cut and (scope["mode"] == "off" or config["classifier"]["model"] in ("", "none")):
        raise ValueError("scope.topic_min_labelled needs scope.mode 'labels' or 'score' and a classifier")
    if cut and scope["mode"] == "labels" and scope["model"] in ("", config["classifier"]["model"]):
        logger.warning("scope.topic_min_labelled has no effect with scope.mode 'labels' and the classifier as the "
                       "scope model: every passage in scope already has a label")


def _set_aside(config, topics, labels, info) -> list[dict[str, Any]]:
    """Topics whose passages the classifier mostly leaves without a label (``scope.topic_min_labelled``:
    the least share of a topic's passages with any label; 0 keeps every topic): the scope score let
    them in, the label heads do not agree that they are about migration policy."""
    cut = config["scope"]["topic_min_labelled"]
    if not cut or labels is None:
        return []
    labelled = labels.any(axis=1)
    out = []
    for entry in info:
        if entry["topic"] < 0:
            continue
        members = topics == entry["topic"]
        share = float(labelled[members].mean()) if members.any() else 0.0
        if share < cut:
            out.append({"topic": int(entry["topic"]), "name": entry["name"], "size": int(members.sum()),
                        "labelled_share": round(share, 4)})
    return out


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
    contexts = table.contexts or None
    labels = views.predict_label_matrix(table.texts, classifier, progress=context.progress, contexts=contexts)
    read = (f"each passage read with {config['classifier']['context_chars']} characters of its document on each side"
            if contexts is not None and getattr(classifier, "uses_context", False) else "each passage read alone")
    return labels, {"available": True, "model": str(name), "read": read}


def _write_tables(folder: Path, info, over_time, shares, by_source, documents, label_table, table, topics,
                 topics_before) -> None:
    import pandas as pd

    rows = []
    for e in info:
        row = {"topic": e["topic"], "name": e["name"], "size": e["size"], "share": round(e["share"], 5),
               "npmi": e.get("npmi"),
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
                  "end": table.ends, "month": table.months, "topic": topics,
                  "topic_before_reduction": topics_before}).to_csv(
        folder / "passage_topics.csv.gz", index=False)


def _languages(info, topics, texts) -> None:
    """Each topic's share of passages per detected language (``info[i]["languages"]``): in a mixed
    corpus, whether one subject's passages share a topic across languages."""
    from collections import Counter

    from ..corpus.language import detect_language

    languages = np.array([detect_language(text[:300]).language for text in texts], dtype=object)
    for entry in info:
        mask = topics == entry["topic"]
        counts = Counter(languages[mask])
        total = int(mask.sum())
        entry["languages"] = {k: round(v / total, 4) for k, v in counts.most_common(3)} if total else {}


def _quality(config, texts, info) -> dict[str, Any]:
    """NPMI coherence and diversity of the topics' names over the passages they were fitted on and
    assigned (:func:`darien_nlp.topics.quality.topic_quality`); each topic's NPMI goes into ``info``."""
    from ..topics.quality import topic_quality

    model = config["model"]
    words = {e["topic"]: e["words"] for e in info if e["topic"] not in (-1, OUTSIDE) and len(e["words"]) >= 2}
    quality = topic_quality(texts, words, top_n=model["top_n_words"], stop_phrases=model["stop_phrases"] or None,
                            extra_stop_words=tuple(model["extra_stop_words"]), ngram_range=tuple(model["ngram_range"]),
                            max_passages=config["output"]["quality_passages"] or None,
                            random_state=config["experiment"]["seed"])
    for entry in info:
        score = quality["npmi_per_topic"].get(entry["topic"])
        entry["npmi"] = None if score is None else round(score, 4)
    return quality


def _scope_line(scope) -> list[str]:
    if scope["mode"] == "off":
        return ["- scope: off (every passage is fitted and assigned to a topic)"]
    how = ("any label of" if scope["mode"] == "labels" else f"scope score ≥ {scope['cut']:.3f} of")
    lines = [f"- scope: topics fitted on the **{scope['in_scope']:,}** passages in scope ({how} `{scope['model']}`); "
             f"**{scope['outside']:,} ({scope['outside_share']:.1%})** kept apart as topic {OUTSIDE}, "
             f"\"{OUTSIDE_NAME}\""]
    if scope.get("set_aside"):
        names = "; ".join(f"{e['name']} ({e['size']:,} passages, {e['labelled_share']:.0%} labelled)"
                          for e in scope["set_aside"])
        lines.append(f"- set aside after fitting, as topic {OUTSIDE} (fewer than {scope['topic_min_labelled']:.0%} of "
                     f"their passages get any label): {len(scope['set_aside'])} topics, "
                     f"{scope['set_aside_passages']:,} passages: {names}")
    return lines


def _themes(themes: dict[str, Any], info: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Which topics a theme names (``output.themes``: name -> terms): a topic's name (its first words,
    lower-cased) holding one of the theme's terms as a whole word or phrase."""
    if not themes:
        return None
    if not isinstance(themes, dict) or not all(isinstance(terms, list) and terms and all(isinstance(t, str) and t.strip()
                                                                                   for t in terms)
                                               for terms in themes.values()):
        raise ValueError("output.themes must map a theme's name to a non-empty list of terms, e.g. "
                         '{ "Safe Mobility" = ["safe mobility", "movilidad segura"] }')
    import re

    named = {}
    for theme, terms in themes.items():
        pattern = re.compile(r"\b(?:" + "|".join(re.escape(t.lower().strip()) for t in terms) + r")\b")
        named[theme] = [e["topic"] for e in info if e["topic"] not in (-1, OUTSIDE) and pattern.search(e["name"].lower())]
    return {"named": named, "themes": len(named), "themes_named": sum(1 for topics in named.values() if topics)}


def _report(config, metrics, info, label_table, names) -> str:
    lines = [f"# {config['experiment']['name']}", "",
             f"- corpus: `{' + '.join(Path(part).name for part in metrics['source'].split(' + '))}`: {metrics['documents']:,} documents "
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
             f"- category mix: {'from the classifier, ' + metrics['category_mix'].get('read', 'each passage read alone') if metrics['category_mix']['available'] else metrics['category_mix']['reason']}",
             *_scope_line(metrics["scope"]),
             f"- quality: NPMI coherence **{metrics['quality']['npmi']:.3f}** (pairs of each topic's top "
             f"{metrics['quality']['top_n']} terms, co-occurrence within one passage, over "
             f"{metrics['quality']['passages']:,} of the passages modelled), topic diversity "
             f"**{metrics['quality']['diversity']:.2f}**, topics named by stop words or chatter "
             f"**{len(metrics['topics_named_by_stop_words'])} of {metrics['topics']}**",
             f"- undated passages skipped in time views: {metrics['undated_passages']:,}", ""]
    shown = [e for e in info if e["topic"] not in (-1, OUTSIDE)][: config["output"]["top_topics"]]
    mixed = len({k for e in shown for k, v in (e.get("languages") or {}).items() if v >= 0.1 and k != "und"}) > 1
    header = "| topic | passages | name | top category |" + (" languages |" if mixed else "")
    lines += ["## Top topics", "", header, "|---:|---:|---|---|" + ("---|" if mixed else "")]
    for e in sorted(shown, key=lambda e: -e["size"]):
        top = ""
        if e["category_mix"]:
            label, share = max(e["category_mix"].items(), key=lambda item: item[1])
            top = f"{label} {share:.2f}"
        languages = " ".join(f"{k} {v:.0%}" for k, v in (e.get("languages") or {}).items())
        lines.append(f"| {e['topic']} | {e['size']:,} | {e['name']} | {top} |" + (f" {languages} |" if mixed else ""))
    if metrics.get("themes"):
        themes = metrics["themes"]
        lines += ["", f"## Central themes: {themes['themes_named']} of {themes['themes']} name a topic", "",
                  "A theme names a topic when one of its terms (`output.themes`) is in the topic's name.", "",
                  "| theme | topics it names |", "|---|---|"]
        for theme, topics in themes["named"].items():
            lines.append(f"| {theme} | " + ("; ".join(f"{t}: {names.get(t, '')}" for t in topics) or "–") + " |")
    if metrics.get("seeded_topics"):
        lines += ["", "## Seeded topics: what gathers there", "",
                  "The nearest topic is the one closest to the seed words themselves; with no passage naming a "
                  "seed word, it says only which topic lies nearest, not that the corpus speaks of the seed.", "",
                  "| seed | nearest topic to the seed words | passages naming a seed word | where most of them are |",
                  "|---|---|---:|---|"]
        for seed in metrics["seeded_topics"]:
            unheard = " (no passage names a seed word)" if not seed["passages_naming_a_seed_word"] else ""
            lines.append(f"| {seed['seed']} | {seed['nearest_topic']}: {seed['nearest_name']}{unheard} | "
                         f"{seed['passages_naming_a_seed_word']:,} | "
                         + (f"{seed['main_topic']}: {seed['main_topic_name']} ({seed['share_in_main_topic']:.0%})"
                            if seed["main_topic"] is not None else "–") + " |")
    if metrics.get("events"):
        lines += ["", "## Known events over time", "",
                  "Share of each month's passages in the topic the event's seed words gathered in "
                  "(figure: `figures/events_over_time.png`). The last two columns say whether the corpus speaks of "
                  "the event that month at all: its passages (of those modelled) that name a seed word, and the month "
                  "with most of them.", "",
                  "| event | month | topic | share that month | next month | median month | ratio | rank of the month | "
                  "peak month | seed passages that month | their peak month |",
                  "|---|---|---|---:|---:|---:|---:|---:|---|---:|---|"]
        for e in metrics["events"]:
            share = "–" if e["share"] is None else f"{e['share']:.4f}"
            following = "–" if e.get("next_month_share") is None else f"{e['next_month_share']:.4f}"
            rank = "–" if e["rank"] is None else f"{e['rank']} of {e['months']}"
            lines.append(f"| {e['name']} | {e['month']} | {e['topic']}: {names.get(e['topic'], '')} | {share} | {following} | "
                         + ("–" if e["median_share"] is None else f"{e['median_share']:.4f}")
                         + f" | {e['ratio'] if e['ratio'] is not None else '–'} | {rank} | {e['peak_month'] or '–'} | "
                         f"{e.get('seed_passages_that_month', '–')} | {e.get('seed_peak_month') or '–'} |")
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
                  "representation": ["keybert"],
                  # options per representation stage: { coherent = { weight = 0.3, candidates = 30 } }
                  "representation_options": {}, "top_n_words": 10, "ngram_range": [1, 2], "min_df": 1, "max_df": 1.0,
                  "stop_phrases": [], "extra_stop_phrases": [], "extra_stop_words": [], "seed_topics": "none",
                  # named seed-word lists for guided topics: {"Safe Mobility" = ["safe mobility", "movilidad segura"]}
                  "seed_words": {},
                  "nr_topics": 0, "max_fit_passages": 40_000, "reduce_outliers": True, "outlier_threshold": 0.0},
        # context_chars: characters of the document each side of a passage that a context-reading classifier
        # gets for the category mix and the scope (600: what classify_document gives; 0: passages alone)
        "classifier": {"model": "default", "context_chars": 600},
        # fit topics on the passages in scope only; the rest form one "outside the categories" group (topic -2).
        # mode: "off", "labels" (any label of the model) or "score" (its scope head; min_score 0: the model's cut)
        # topic_min_labelled: after fitting, a topic in which fewer than this share of passages get any label
        # joins topic -2 too, named in the report (0: off)
        "scope": {"mode": "off", "model": "", "min_score": 0.0, "topic_min_labelled": 0.0},
        "output": {"cache_dir": "results/.cache/embeddings", "save_model": True, "top_topics": 20,
                   "representatives": 3,
                   # passages (a seeded sample) over which NPMI coherence is counted; 0: all
                   "quality_passages": 50_000,
                   # known events to find on the curves: [{ name = "...", month = "YYYY-MM", seed = "<seed_words name>" }]
                   "events": [],
                   # central themes to look for among the topic names: { "Safe Mobility" = ["safe mobility"], ... }
                   "themes": {}},
    },
    run=run,
    choices={"model.embedder": ("static", "minilm", "lsa"), "model.reducer": ("umap", "pca"),
             "model.clusterer": ("hdbscan", "kmeans"), "model.representation": ("keybert", "mmr", "ctfidf", "coherent"),
             "model.seed_topics": ("none", "taxonomy"), "scope.mode": ("off", "labels", "score")},
)
