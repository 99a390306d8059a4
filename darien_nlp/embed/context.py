"""The ``context`` backend: a passage read together with the text around it.

The annotation guide labels a passage "by itself or through the document it
sits in": a paragraph on the Darién National Park counts inside an article
about the crossing, and the same words in a climate release do not.  This
backend wraps another one (``inner``, by default ``static_lex.v1``) and
encodes each item as ``[inner(text), weight * inner(context)]``, where
``context`` is the passage with up to ``window`` characters of its document
on each side (see :func:`darien_nlp.corpus.context_window`).

Items are strings (a passage alone: its context is itself) or
``(text, context)`` pairs, ``context`` a str or ``None``.

>>> ContextEmbedder(inner="tfidf").fit(["close the border", "safe mobility"] * 3).encode(
...     ["border", ("border", "a release on migration: border")]).shape[0]
2
"""
from __future__ import annotations

from itertools import repeat
from typing import Any, Sequence

import numpy as np

from .base import Embedder

__all__ = ["ContextEmbedder", "split_items"]


def split_items(items: Sequence, *, name: str = "texts") -> tuple[list[str], list[str | None]]:
    """``(texts, contexts)`` from strings and ``(text, context)`` pairs; raise naming the first bad item."""
    if isinstance(items, (str, bytes)):
        raise TypeError(f"{name} must be a list of strings or (text, context) pairs, not a single string")
    items = list(items)
    if all(map(isinstance, items, repeat(str))):  # bare passages, the common case: no pair to unpack
        return items, [None] * len(items)
    texts: list[str] = []
    contexts: list[str | None] = []
    for position, item in enumerate(items):
        if isinstance(item, str):
            texts.append(item)
            contexts.append(None)
            continue
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"{name}[{position}] is a {type(item).__name__}, not a str or a (text, context) pair")
        text, context = item
        if not isinstance(text, str) or not (context is None or isinstance(context, str)):
            raise TypeError(f"{name}[{position}] must be (str, str or None); got "
                            f"({type(text).__name__}, {type(context).__name__})")
        texts.append(text)
        contexts.append(context)
    return texts, contexts


class ContextEmbedder(Embedder):
    """``[inner(text), weight * inner(context)]``; a bare passage is its own context."""

    name = "context.v1"
    uses_context = True

    def __init__(self, inner: str = "static_lex.v1", inner_options: dict | None = None, weight: float = 0.7,
                 window: int = 600):
        from . import make_embedder, resolve_backend

        if resolve_backend(inner, owner="ContextEmbedder (inner)") == self.name:
            raise ValueError("ContextEmbedder cannot wrap itself")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise ValueError(f"The 'weight' option of {self.name} must be a float >= 0. Got {weight!r} instead.")
        if isinstance(window, bool) or not isinstance(window, int) or window < 0:
            raise ValueError(f"The 'window' option of {self.name} must be an int >= 0 (characters). Got {window!r} instead.")
        self.inner = inner
        self.inner_options = inner_options
        self.weight = float(weight)
        self.window = window
        self._inner = make_embedder(inner, **(inner_options or {}))
        if getattr(self._inner, "tunable", False):
            raise ValueError(f"{self.name} wraps frozen or fitted backends; {inner!r} is tuned with its head")

    @property
    def trainable(self) -> bool:  # type: ignore[override]
        return self._inner.trainable

    def fit(self, items: Sequence) -> "ContextEmbedder":
        """Fit the inner backend on the passages (contexts overlap them and would count words twice)."""
        texts, _ = split_items(items)
        self._inner.fit(texts)
        return self

    def encode(self, items: Sequence):
        from scipy import sparse

        texts, contexts = split_items(items)
        passages = self._inner.encode(texts)
        if contexts.count(None) == len(contexts):
            surround = passages  # bare passages: encode once
        else:
            surround = self._inner.encode([t if c is None else c for t, c in zip(texts, contexts)])
        if sparse.issparse(passages) or sparse.issparse(surround):
            return sparse.hstack([passages, surround * np.float32(self.weight)], format="csr")
        return np.hstack([passages, surround * np.float32(self.weight)])

    def project(self, items: Sequence, weights):
        """``encode(items) @ weights.T`` without stacking: the passage and context halves of ``weights``
        score their own encodings; bare passages (their own context) are encoded and scored once."""
        texts, contexts = split_items(items)
        passage_w, context_w, both_w = self._prepared(weights, self._halves, len(texts))
        if contexts.count(None) == len(contexts):
            return self._inner.project(texts, both_w)
        surround = [t if c is None else c for t, c in zip(texts, contexts)]
        return self._inner.project(texts, passage_w) + self._inner.project(surround, context_w)

    def _halves(self, weights):
        """The passage half, the context half (times ``weight``) and their sum, as the inner backend
        reads them: the same arrays on every call with the same weights, so the inner's memo holds."""
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 2 or weights.shape[1] % 2:
            raise ValueError(f"weights must have shape (k, 2 * inner dim); got {weights.shape}")
        half = weights.shape[1] // 2
        passage_w, context_w = weights[:, :half], weights[:, half:] * self.weight
        return passage_w, context_w, passage_w + context_w

    def shared_columns(self):
        """The inner backend's language-shared columns, in the passage half and in the context half."""
        inner = getattr(self._inner, "shared_columns", lambda: None)()
        return None if inner is None else np.concatenate([inner, inner])

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "inner": self._inner.spec(), "weight": self.weight, "window": self.window}

    def state(self) -> dict[str, Any]:
        return self._inner.state()

    @classmethod
    def from_spec(cls, spec, state, *, base_dir=None):
        from . import BACKENDS

        inner_spec = spec.get("inner") or {}
        if inner_spec.get("name") not in BACKENDS or inner_spec.get("name") == cls.name:
            raise ValueError(f"{cls.name}: unknown inner embedder {inner_spec.get('name')!r}")
        embedder = cls(inner=inner_spec["name"], weight=spec.get("weight", 0.7), window=spec.get("window", 600))
        embedder._inner = BACKENDS[inner_spec["name"]].from_spec(inner_spec, state, base_dir=base_dir)
        return embedder
