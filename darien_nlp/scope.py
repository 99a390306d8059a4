"""The scope gate: is a passage about human mobility at all?

The annotation guide labels migration policy only; the same words in a tax case or a
jobs report get no label.  A classifier's per-label heads learn the categories' words,
so a model also carries a *scope head*: one logistic regression, on its own (usually
bilingual) embedding, of "the passage has any label" against passages without one,
including label-less passages of pages that never mention migration
(:func:`darien_nlp.sampling.scope_negatives`).  Its Platt-calibrated probability is the
passage's *scope score*.  The cut is set so that ``keep`` of the in-scope training
passages (scored out of fold) pass it.

Below the cut the per-label heads defer: each label's score is capped just under that
label's threshold (and at most the scope score), so no label is given, whichever code
path compares scores with thresholds, while scores still rank passages.

>>> import numpy as np
>>> gate(np.array([[0.9, 0.2]]), np.array([0.1]), 0.3, np.array([0.5, 0.5])).round(3).tolist()
[[0.1, 0.1]]
>>> gate(np.array([[0.9, 0.2]]), np.array([0.6]), 0.3, np.array([0.5, 0.5])).tolist()
[[0.9, 0.2]]
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["gate", "check_scope_options", "SCOPE_DEFAULTS"]

#: What ``PolicyClassifier(scope={...})`` may hold; missing keys take these values.
SCOPE_DEFAULTS: dict[str, Any] = {"backend": "context.v1", "backend_options": {}, "C": 0.25, "keep": 0.95}

#: How far under a label's threshold an out-of-scope passage's score is capped.
_MARGIN = 0.999


def check_scope_options(scope: dict | None) -> dict | None:
    """The scope settings with defaults filled in; a clear error for unknown keys or bad values."""
    if scope is None:
        return None
    if not isinstance(scope, dict):
        raise ValueError(f"The 'scope' parameter of PolicyClassifier must be a dict or None. Got {scope!r} instead.")
    unknown = set(scope) - set(SCOPE_DEFAULTS)
    if unknown:
        raise ValueError(f"Unknown scope settings {sorted(unknown)}; allowed: {sorted(SCOPE_DEFAULTS)}")
    options = {**SCOPE_DEFAULTS, **scope}
    keep, C = options["keep"], options["C"]
    if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0.5 <= keep <= 1.0:
        raise ValueError(f"scope 'keep' must be a number in [0.5, 1]. Got {keep!r} instead.")
    if isinstance(C, bool) or not isinstance(C, (int, float)) or C <= 0:
        raise ValueError(f"scope 'C' must be a number > 0. Got {C!r} instead.")
    if not isinstance(options["backend_options"], dict):
        raise ValueError(f"scope 'backend_options' must be a dict. Got {options['backend_options']!r} instead.")
    return options


def gate(probabilities: np.ndarray, scope: np.ndarray, threshold: float, label_thresholds: np.ndarray) -> np.ndarray:
    """Label scores that respect the scope score: unchanged at or above ``threshold``; below it,
    each label's score is capped at the scope score and just under that label's threshold."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    scope = np.asarray(scope, dtype=np.float64)
    outside = scope < threshold
    if not outside.any():
        return probabilities
    capped = np.minimum(probabilities, scope[:, None])
    capped = np.minimum(capped, np.asarray(label_thresholds, dtype=np.float64)[None, :] * _MARGIN)
    return np.where(outside[:, None], capped, probabilities)
