"""Multi-label metrics with bootstrap confidence intervals, calibration error, and report tables.

>>> import numpy as np
>>> y = np.array([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]])
>>> round(evaluate(y, y, n_bootstrap=0)["macro_f1"], 2)
1.0
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .taxonomy import LABELS

__all__ = ["evaluate", "per_label_scores", "expected_calibration_error", "cohen_kappa", "markdown_table"]


def per_label_scores(true: np.ndarray, predicted: np.ndarray) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per label (0 where undefined)."""
    scores = {}
    for j, label in enumerate(LABELS):
        t, p = true[:, j].astype(bool), predicted[:, j].astype(bool)
        tp = float((t & p).sum())
        precision = tp / p.sum() if p.sum() else 0.0
        recall = tp / t.sum() if t.sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = {"precision": precision, "recall": recall, "f1": f1, "support": int(t.sum())}
    return scores


def _point(true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    per_label = per_label_scores(true, predicted)
    tp = float((true.astype(bool) & predicted.astype(bool)).sum())
    micro_p = tp / predicted.sum() if predicted.sum() else 0.0
    micro_r = tp / true.sum() if true.sum() else 0.0
    return {
        "macro_f1": float(np.mean([s["f1"] for s in per_label.values()])),
        "micro_f1": 2 * micro_p * micro_r / (micro_p + micro_r) if micro_p + micro_r else 0.0,
        "subset_accuracy": float((true == predicted).all(axis=1).mean()) if len(true) else 0.0,
        "hamming_loss": float((true != predicted).mean()) if len(true) else 0.0,
        **{f"f1_{label}": s["f1"] for label, s in per_label.items()},
    }


def expected_calibration_error(true: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> float:
    """Mean over labels of the binned |accuracy - confidence| gap (ECE, equal-width bins)."""
    errors = []
    edges = np.linspace(0, 1, bins + 1)
    for j in range(true.shape[1]):
        p, t = probabilities[:, j], true[:, j]
        which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
        gap = 0.0
        for b in range(bins):
            mask = which == b
            if mask.any():
                gap += mask.mean() * abs(t[mask].mean() - p[mask].mean())
        errors.append(gap)
    return float(np.mean(errors)) if errors else 0.0


def evaluate(true, predicted, probabilities=None, *, n_bootstrap: int = 1000, seed: int = 0,
             groups=None) -> dict[str, Any]:
    """Point metrics, per-label scores, and bootstrap 95 % intervals (resampling documents when ``groups``)."""
    true = np.asarray(true).astype(np.int64)
    predicted = np.asarray(predicted).astype(np.int64)
    if true.shape != predicted.shape or true.ndim != 2 or true.shape[1] != len(LABELS):
        raise ValueError(f"true and predicted must both be (n, {len(LABELS)}); got {true.shape} and {predicted.shape}")
    result: dict[str, Any] = {"n": int(len(true)), **_point(true, predicted),
                              "per_label": per_label_scores(true, predicted)}
    if probabilities is not None:
        result["ece"] = expected_calibration_error(true, np.asarray(probabilities))
    if n_bootstrap and len(true):
        rng = np.random.default_rng(seed)
        if groups is not None:
            groups = np.asarray(list(groups))
            unique = np.unique(groups)
            members = {g: np.flatnonzero(groups == g) for g in unique}
        samples: dict[str, list[float]] = {}
        for _ in range(n_bootstrap):
            if groups is not None:
                chosen = rng.choice(unique, size=len(unique), replace=True)
                index = np.concatenate([members[g] for g in chosen])
            else:
                index = rng.integers(0, len(true), len(true))
            for key, value in _point(true[index], predicted[index]).items():
                samples.setdefault(key, []).append(value)
        result["ci95"] = {key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]
                          for key, v in samples.items()}
    return result


def cohen_kappa(a, b) -> float:
    """Cohen's kappa of two 0/1 vectors (1.0 when both are constant and equal)."""
    a, b = np.asarray(a).astype(int), np.asarray(b).astype(int)
    observed = float((a == b).mean())
    pa, pb = a.mean(), b.mean()
    expected = pa * pb + (1 - pa) * (1 - pb)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return float((observed - expected) / (1 - expected))


def markdown_table(rows: list[dict[str, Any]], columns: list[str], *, digits: int = 3) -> str:
    """A Markdown table of ``rows`` (dicts) with the given columns."""
    def cell(value):
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
