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

#: Texts per batch when a scope head reads the same static model as the label heads: the static
#: encoder's own chunk, so each batch is tokenised once and the shared counts stay one batch large.
SHARED_BATCH = 4096

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
                 thresholds: np.ndarray, metadata: dict[str, Any] | None = None, scope: dict[str, Any] | None = None):
        self.embedder_ = embedder
        self.coef_ = np.asarray(coef, dtype=np.float32)
        self.intercept_ = np.asarray(intercept, dtype=np.float32)
        self.calibration_ = np.asarray(calibration, dtype=np.float64)
        self.thresholds_ = np.asarray(thresholds, dtype=np.float64)
        self.classes_ = np.array(LABELS)
        self.metadata_ = metadata or {}
        #: The scope head (:mod:`darien_nlp.scope`): embedder, coef, intercept, calibration, threshold; or None.
        self.scope_ = scope
        # the scope head's weights as one (1, dim) array, the same on every call (the embedder prepares it once)
        self._scope_row = None if scope is None else np.asarray(scope["coef"]).reshape(1, -1)

    @property
    def has_scope(self) -> bool:
        return self.scope_ is not None

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
                   calibration=head["calibration"], thresholds=head["thresholds"], metadata=parts["config"],
                   scope=parts["scope"])

    def predict_proba(self, texts: Sequence) -> np.ndarray:
        """Calibrated per-label probabilities (n, 5) in :data:`LABELS` order.

        ``texts`` are strings, or ``(text, context)`` pairs for a model that reads context.  With a
        scope head, a passage below its cut has every score capped under its label's threshold."""
        return self.predict_scored(texts)[0]

    def predict_scored(self, texts: Sequence) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-label probabilities (scope-gated) and the scope scores (``None`` without a scope head)."""
        from .embed.static import shared_counts
        from .scope import gate

        items = list(texts)
        if self.scope_ is None:
            scores = self.embedder_.project(items, self.coef_) + self.intercept_
            return self._calibrated(scores), None
        # Batch by batch, the label heads and then the scope head, so both read one tokenisation of the
        # batch (shared_counts) and the memo never holds more than one batch.
        probabilities = np.zeros((len(items), len(self.coef_)), dtype=np.float64)
        scope = np.zeros(len(items), dtype=np.float64)
        for start in range(0, len(items), SHARED_BATCH):
            part = items[start:start + SHARED_BATCH]
            with shared_counts():
                probabilities[start:start + len(part)] = self._calibrated(
                    self.embedder_.project(part, self.coef_) + self.intercept_)
                scope[start:start + len(part)] = self.scope_proba(part)
        return gate(probabilities, scope, self.scope_["threshold"], self.thresholds_), scope

    def label_proba(self, texts: Sequence) -> np.ndarray:
        """Per-label probabilities (n, 5) before the scope head's gate (what :meth:`predict_proba` gives
        a model without one)."""
        return self._calibrated(self.embedder_.project(list(texts), self.coef_) + self.intercept_)

    def _calibrated(self, scores: np.ndarray) -> np.ndarray:
        z = scores * self.calibration_[:, 0] + self.calibration_[:, 1]
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def scope_proba(self, texts: Sequence) -> np.ndarray:
        """Probability that each item is about human mobility at all (needs a scope head)."""
        if self.scope_ is None:
            raise ValueError("This model has no scope head")
        embedder = self.scope_["embedder"]
        items = list(texts)
        if not getattr(embedder, "uses_context", False):
            items = [item[0] if isinstance(item, tuple) else item for item in items]
        decision = embedder.project(items, self._scope_row).ravel()
        z = (decision + self.scope_["intercept"]) * self.scope_["calibration"][0] + self.scope_["calibration"][1]
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
