"""``PolicyPredictor``: the numpy-only inference half of a saved classifier.

It reads the same folder as :meth:`PolicyClassifier.load` but never imports
scikit-learn, so ``darien_nlp.classify`` starts in well under a second.

>>> predictor = PolicyPredictor.load("models/policy-static")  # doctest: +SKIP
>>> predictor.predict_proba(["Open lawful pathways."]).shape  # doctest: +SKIP
(1, 5)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .taxonomy import LABELS

__all__ = ["PolicyPredictor", "load_predictor"]


def load_predictor(path: str | Path):
    """Load a model folder for inference: a :class:`PolicyPredictor`, or an ensemble of them.

    Either way the folder's manifest (and an ensemble's members) are verified first.
    """
    from .ensemble import EnsemblePredictor, is_ensemble

    return EnsemblePredictor.load(path) if is_ensemble(path) else PolicyPredictor.load(path)


class PolicyPredictor:
    """Embed -> linear scores -> Platt calibration; thresholds from the trained model."""

    def __init__(self, *, embedder, coef: np.ndarray, intercept: np.ndarray, calibration: np.ndarray,
                 thresholds: np.ndarray, metadata: dict[str, Any] | None = None):
        self.embedder_ = embedder
        self.coef_ = np.asarray(coef, dtype=np.float32)
        self.intercept_ = np.asarray(intercept, dtype=np.float32)
        self.calibration_ = np.asarray(calibration, dtype=np.float64)
        self.thresholds_ = np.asarray(thresholds, dtype=np.float64)
        self.classes_ = np.array(LABELS)
        self.metadata_ = metadata or {}

    @property
    def uses_context(self) -> bool:
        """True when the model reads ``(text, context)`` pairs (the ``context`` backend)."""
        return bool(getattr(self.embedder_, "uses_context", False))

    @property
    def context_chars(self) -> int | None:
        """Characters of the document on each side of a passage that the model reads (``None``: none)."""
        return getattr(self.embedder_, "window", None) if self.uses_context else None

    @classmethod
    def load(cls, path: str | Path) -> "PolicyPredictor":
        """Load a model folder after verifying its manifest (see :mod:`darien_nlp.persistence`)."""
        from .persistence import read_model_folder

        parts = read_model_folder(path)
        head = parts["head"]
        return cls(embedder=parts["embedder"], coef=head["coef"], intercept=head["intercept"],
                   calibration=head["calibration"], thresholds=head["thresholds"], metadata=parts["config"])

    def predict_proba(self, texts: Sequence) -> np.ndarray:
        """Calibrated per-label probabilities (n, 5) in :data:`LABELS` order.

        ``texts`` are strings, or ``(text, context)`` pairs for a model that reads context."""
        features = self.embedder_.encode(list(texts))
        scores = np.asarray(features @ self.coef_.T, dtype=np.float64) + self.intercept_
        z = scores * self.calibration_[:, 0] + self.calibration_[:, 1]
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
