"""Embedding backends: texts -> vectors behind one interface, heavy imports inside functions.

Every backend has ``fit(texts)`` (a no-op for pretrained ones), ``encode(texts)``
returning a 2-D array (dense ``numpy`` or, for TF-IDF, ``scipy.sparse``),
``spec()`` (a JSON-able description) and ``state()`` (arrays to store beside
a model).  Backends are named with a version, so old configs keep their
meaning when a backend changes.

>>> sorted(BACKENDS)
['context.v1', 'hybrid.v1', 'minilm.v1', 'minilm_tuned.v1', 'static.v1', 'static_lex.v1', 'tfidf.v1', 'usem3.v1']
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .base import Embedder
from .context import ContextEmbedder
from .hybrid import HybridEmbedder
from .lexical import StaticLexicalEmbedder
from .minilm import MiniLMEmbedder
from .minilm_tuned import MiniLMTunedEmbedder
from .static import StaticEmbedder, default_static_path
from .tfidf import TfidfEmbedder
from .usem3 import USEm3Embedder

__all__ = ["Embedder", "BACKENDS", "ALIASES", "make_embedder", "StaticEmbedder",
           "MiniLMEmbedder", "MiniLMTunedEmbedder", "TfidfEmbedder", "ContextEmbedder", "HybridEmbedder", "StaticLexicalEmbedder", "USEm3Embedder", "default_static_path", "resolve_backend"]

BACKENDS = {"static.v1": StaticEmbedder, "minilm.v1": MiniLMEmbedder, "tfidf.v1": TfidfEmbedder,
            "hybrid.v1": HybridEmbedder, "static_lex.v1": StaticLexicalEmbedder,
            "minilm_tuned.v1": MiniLMTunedEmbedder, "context.v1": ContextEmbedder,
            "usem3.v1": USEm3Embedder}
#: Short names users type, mapped to the current version.
ALIASES = {"static": "static.v1", "minilm": "minilm.v1", "tfidf": "tfidf.v1", "hybrid": "hybrid.v1",
           "static_lex": "static_lex.v1", "minilm_tuned": "minilm_tuned.v1",
           "context": "context.v1", "usem3": "usem3.v1"}


def resolve_backend(name: str, *, owner: str = "PolicyClassifier") -> str:
    """Map a short or versioned backend name to its versioned name, or raise naming the choices."""
    resolved = ALIASES.get(name, name)
    if resolved not in BACKENDS:
        raise ValueError(
            f"The 'backend' parameter of {owner} must be one of "
            f"{sorted(set(ALIASES) | set(BACKENDS))}. Got {name!r} instead."
        )
    return resolved


def make_embedder(name: str, **options: Any) -> Embedder:
    """Build the embedder called ``name`` (``static``, ``minilm``, ``tfidf`` or a versioned name).

    >>> make_embedder("tfidf").spec()["name"]
    'tfidf.v1'
    >>> make_embedder("tfidf", cv=3)
    Traceback (most recent call last):
    ...
    ValueError: The backend 'tfidf.v1' takes no option(s) ['cv']; its options are ['max_features', 'min_df']
    """
    import inspect

    backend = BACKENDS[resolve_backend(name, owner="make_embedder")]
    allowed = [p for p in inspect.signature(backend.__init__).parameters if p != "self"]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"The backend {backend.name!r} takes no option(s) {unknown}; its options are {allowed}")
    return backend(**options)
