"""Recipe ``scope_cuts.v1``: what each cut of a model's scope score keeps of the gold.

The topic configs' ``scope.min_score`` picks which passages topics are fitted on. This recipe
shows the trade each cut makes on read passages: the gold passages of ``data.splits`` (in-domain,
and out-of-domain sets if ``data.ood`` names them), each scored the way the topic pipeline scores
passages (with ``data.context_chars`` of its document on each side when the model reads
context). A passage with any label is *in scope* by its gold; for each cut it reports the share
of passages kept, the share of in-scope passages kept (recall) and the share of kept passages
that are in scope (precision). The model's own cut (0 in ``cuts``) is the one it was trained with.

Each cut is also read as the model's own scope cut: the share of passages that would then get a label
(the label heads at their thresholds, gated at that cut) and the macro-F1 over labels with at least
:data:`darien_nlp.recipes.ood.MIN_POSITIVES` positives. The out-of-scope set is shown whole and split by
its documents' split, so a cut can be chosen on the dev half and the out-of-domain dev sets alone.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..experiments import Recipe, RunContext

logger = logging.getLogger(__name__)

__all__ = ["RECIPE", "run", "cut_table", "gated_table", "with_halves"]


def cut_table(scores, in_scope, cuts) -> list[dict[str, Any]]:
    """Kept share, recall and precision of ``scores >= cut`` for each cut, against ``in_scope`` (0/1).

    >>> cut_table([0.9, 0.6, 0.2, 0.1], [1, 0, 1, 0], [0.5])
    [{'cut': 0.5, 'kept': 0.5, 'recall': 0.5, 'precision': 0.5}]
    """
    scores = np.asarray(scores, dtype=float)
    truth = np.asarray(in_scope, dtype=bool)
    if scores.shape != truth.shape:
        raise ValueError(f"scores and in_scope must have the same length. Got {scores.shape} and {truth.shape}.")
    rows = []
    for cut in cuts:
        kept = scores >= cut
        rows.append({"cut": round(float(cut), 4), "kept": round(float(kept.mean()), 4) if len(kept) else float("nan"),
                     "recall": round(float((kept & truth).sum() / truth.sum()), 4) if truth.any() else float("nan"),
                     "precision": round(float((kept & truth).sum() / kept.sum()), 4) if kept.any() else float("nan")})
    return rows


def gated_table(scores, probabilities, thresholds, truth, cuts, min_positives: int = 10) -> list[dict[str, Any]]:
    """For each cut used as the scope gate: the share of passages given any label and the macro-F1 over
    labels with at least ``min_positives`` positives in ``truth`` (``nan`` when none has).

    >>> gated_table([0.9, 0.2], [[0.8, 0.1], [0.7, 0.1]], [0.5, 0.5], [[1, 0], [0, 0]], [0.5], min_positives=1)
    [{'cut': 0.5, 'labelled': 0.5, 'macro_f1': 1.0}]
    """
    scores = np.asarray(scores, dtype=float)
    width = len(np.atleast_1d(thresholds))
    probabilities = np.asarray(probabilities, dtype=float)
    truth = np.asarray(truth, dtype=bool)
    if not len(scores):  # an empty set: rows of nan, never a crash
        probabilities, truth = probabilities.reshape(0, width), truth.reshape(0, width)
    if probabilities.shape != (len(scores), width) or truth.shape != probabilities.shape:
        raise ValueError(f"probabilities and truth must have the same shape, one row per score and one column per "
                         f"threshold. Got {probabilities.shape} and {truth.shape} for {len(scores)} scores and "
                         f"{width} thresholds.")
    above = probabilities >= np.asarray(thresholds, dtype=float)
    supported = np.flatnonzero(truth.sum(0) >= min_positives)
    rows = []
    for cut in cuts:
        predicted = above & (scores >= cut)[:, None]
        f1 = [2 * (predicted[:, j] & truth[:, j]).sum() / max(predicted[:, j].sum() + truth[:, j].sum(), 1)
              for j in supported]
        rows.append({"cut": round(float(cut), 4),
                     "labelled": round(float(predicted.any(1).mean()), 4) if len(scores) else float("nan"),
                     "macro_f1": round(float(np.mean(f1)), 4) if f1 else float("nan")})
    return rows


def with_halves(sets: dict[str, list]) -> dict[str, list]:
    """``sets`` with the out-of-scope set also split by its documents' split (``"<name>, dev documents"``,
    ``"<name>, test documents"``; a half with no passage is left out), so a cut can be chosen on the dev
    half while the test half stays unseen."""
    from .ood import OUT_OF_SCOPE

    out: dict[str, list] = {}
    for name, gold in sets.items():
        out[name] = gold
        if name == OUT_OF_SCOPE:
            for split in ("dev", "test"):
                half = [g for g in gold if g.split == split]
                if half:
                    out[f"{name}, {split} documents"] = half
    return out


def run(context: RunContext) -> dict[str, Any]:
    from ..api import load_model
    from ..data import load_gold
    from ..evaluate import markdown_table
    from ..data import label_matrix
    from ..taxonomy import LABELS
    from .ood import MIN_POSITIVES, load_sets

    config = context.config
    data = config["data"]
    model = load_model(config["model"]["name"])
    if not getattr(model, "has_scope", False):
        raise ValueError(f"model.name = {config['model']['name']!r} has no scope head; name a model that has one "
                         "(e.g. policy-bilingual-scope).")
    own = float(model.scope_["threshold"])
    cuts = sorted({own if not c else float(c) for c in config["cuts"]["values"]})
    window = data["context_chars"]
    corpora = context.corpora()
    sets = {"in-domain " + "+".join(data["splits"]): load_gold(
        corpora, annotations=context.path(data["annotations"]), include_seeds=False, splits=list(data["splits"]),
        context_chars=window)}
    if data["ood"]:
        sets.update(with_halves(load_sets(corpora, context.path(data["ood"]), window)[0]))
    results = {}
    for name, gold in sets.items():
        items = [(g.text, g.context) for g in gold] if getattr(model, "uses_context", False) else [g.text for g in gold]
        scores = model.scope_proba(items) if gold else np.zeros(0)
        probabilities = model.label_proba(items) if gold else np.zeros((0, len(LABELS)))
        truth = np.array([bool(g.labels) for g in gold], dtype=bool)
        gated = gated_table(scores, probabilities, model.thresholds_, label_matrix(gold).reshape(len(gold), len(LABELS)),
                            cuts, MIN_POSITIVES)
        results[name] = {"passages": len(gold), "in_scope": int(truth.sum()),
                         "cuts": [dict(row, **extra) for row, extra in zip(cut_table(scores, truth, cuts), gated)]}
    lines = [f"# {config['experiment']['name']}", "",
             f"Scope score of `{config['model']['name']}` (its own cut: {own:.3f}) on read passages, each scored with "
             f"{window} characters of its document on each side, as the topic pipeline scores them. In scope: the "
             "passage has a gold label. kept: share of passages at or above the cut; recall: share of in-scope "
             "passages kept; precision: share of kept passages that are in scope. With the cut as the model's scope "
             "gate: labelled, the share of passages given any label; macro-F1 over labels with "
             f"≥ {MIN_POSITIVES} positives in the set.", ""]
    for name, block in results.items():
        lines += [f"## {name}: {block['passages']:,} passages, {block['in_scope']:,} in scope", "",
                  markdown_table([dict(r, cut=f"{r['cut']:.3f}" + (" (own)" if abs(r["cut"] - own) < 5e-5 else ""))
                                  for r in block["cuts"]],
                                 ["cut", "kept", "recall", "precision", "labelled", "macro_f1"]), ""]
    report = "\n".join(lines)
    (context.run_dir / "report.md").write_text(report, encoding="utf-8")
    print(report)
    return {"model": config["model"]["name"], "own_cut": own, "sets": results}


RECIPE = Recipe(
    schema={
        "data": {"corpora": "", "annotations": "experiments/annotations", "splits": ["dev", "test"],
                 "ood": "", "context_chars": 600},
        "model": {"name": "policy-bilingual-scope"},
        "cuts": {"values": [0, 0.25, 0.3, 0.35, 0.4, 0.5]},   # 0: the model's own cut
    },
    run=run,
)
