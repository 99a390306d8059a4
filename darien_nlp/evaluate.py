"""Multi-label metrics with bootstrap confidence intervals, calibration error, and report tables.

>>> import numpy as np
>>> y = np.eye(5, dtype=int)
>>> round(evaluate(y, y, n_bootstrap=0)["macro_f1"], 2)
1.0
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .taxonomy import LABELS

__all__ = ["evaluate", "compare", "per_label_scores", "expected_calibration_error", "calibration_bins", "cohen_kappa",
           "markdown_table"]


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


def calibration_bins(true: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> dict[str, list[dict[str, float]]]:
    """Per label, the reliability diagram's points: for each non-empty equal-width bin of predicted
    probability, its edges, count, mean predicted probability and observed share of positives.

    >>> calibration_bins(np.array([[1] * 5, [0] * 5]), np.array([[0.9] * 5, [0.1] * 5]), bins=2)["enforcement"]
    [{'lower': 0.0, 'upper': 0.5, 'n': 1, 'predicted': 0.1, 'observed': 0.0}, {'lower': 0.5, 'upper': 1.0, 'n': 1, 'predicted': 0.9, 'observed': 1.0}]
    """
    true, probabilities = np.asarray(true), np.asarray(probabilities, dtype=np.float64)
    edges = np.linspace(0, 1, bins + 1)
    result = {}
    for j, label in enumerate(LABELS[: true.shape[1]]):
        which = np.clip(np.digitize(probabilities[:, j], edges[1:-1]), 0, bins - 1)
        points = []
        for b in range(bins):
            mask = which == b
            if mask.any():
                points.append({"lower": round(float(edges[b]), 4), "upper": round(float(edges[b + 1]), 4),
                               "n": int(mask.sum()), "predicted": round(float(probabilities[mask, j].mean()), 4),
                               "observed": round(float(true[mask, j].mean()), 4)})
        result[label] = points
    return result


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
        result["calibration"] = calibration_bins(true, np.asarray(probabilities))
    if n_bootstrap and len(true):
        samples: dict[str, list[float]] = {}
        for index in _resamples(len(true), n_bootstrap, seed, groups):
            for key, value in _point(true[index], predicted[index]).items():
                samples.setdefault(key, []).append(value)
        result["ci95"] = {key: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]
                          for key, v in samples.items()}
    return result


def _resamples(n: int, n_bootstrap: int, seed: int, groups=None):
    """Index arrays of ``n_bootstrap`` resamples of ``n`` rows (whole documents when ``groups``)."""
    rng = np.random.default_rng(seed)
    if groups is None:
        for _ in range(n_bootstrap):
            yield rng.integers(0, n, n)
        return
    groups = np.asarray(list(groups))
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries for {n} rows")
    unique = np.unique(groups)
    members = {g: np.flatnonzero(groups == g) for g in unique}
    for _ in range(n_bootstrap):
        yield np.concatenate([members[g] for g in rng.choice(unique, size=len(unique), replace=True)])


def compare(true, predicted_a, predicted_b, *, n_bootstrap: int = 1000, seed: int = 0, groups=None) -> dict[str, Any]:
    """Paired bootstrap of ``macro-F1(a) - macro-F1(b)`` on the same rows (documents when ``groups``).

    Returns the point difference, its 95 % interval, the per-label F1 differences and
    ``share_not_better``: the share of resamples in which ``a`` does not beat ``b`` (a one-sided
    bootstrap p-value for "a is better").

    >>> y = np.array([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]] * 5)
    >>> compare(y, y, np.zeros_like(y), n_bootstrap=50)["share_not_better"]
    0.0
    """
    true = np.asarray(true).astype(np.int64)
    a = np.asarray(predicted_a).astype(np.int64)
    b = np.asarray(predicted_b).astype(np.int64)
    if not (true.shape == a.shape == b.shape) or true.ndim != 2 or true.shape[1] != len(LABELS):
        raise ValueError(f"true and both predictions must be (n, {len(LABELS)}); got {true.shape}, {a.shape}, {b.shape}")
    if n_bootstrap < 1 or not len(true):
        raise ValueError("compare() needs rows and n_bootstrap >= 1")
    point_a, point_b = _point(true, a), _point(true, b)
    deltas = []
    for index in _resamples(len(true), n_bootstrap, seed, groups):
        deltas.append(_point(true[index], a[index])["macro_f1"] - _point(true[index], b[index])["macro_f1"])
    deltas = np.asarray(deltas)
    return {
        "n": int(len(true)), "n_bootstrap": int(n_bootstrap),
        "delta_macro_f1": point_a["macro_f1"] - point_b["macro_f1"],
        "ci95": [float(np.percentile(deltas, 2.5)), float(np.percentile(deltas, 97.5))],
        "share_not_better": float((deltas <= 0).mean()),
        "delta_f1": {label: point_a[f"f1_{label}"] - point_b[f"f1_{label}"] for label in LABELS},
    }


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
