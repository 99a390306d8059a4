"""Passage embeddings for topic models: the library's own backends, cached on disk per corpus and model.

The cache key is the sha256 of the embedder's spec, its model file's hash and
every text, so a changed corpus or model never reuses stale vectors. Arrays
are written as ``.npy`` (no pickle) and read memory-mapped.

>>> import tempfile
>>> from darien_nlp.embed import make_embedder
>>> embedder = make_embedder("tfidf").fit(["border", "jobs"])
>>> folder = tempfile.mkdtemp()
>>> first = cached_embeddings(["border", "jobs"], embedder, cache_dir=folder)
>>> second = cached_embeddings(["border", "jobs"], embedder, cache_dir=folder)
>>> bool((first == second).all())
True
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["embedder_fingerprint", "texts_fingerprint", "cached_embeddings", "encode_in_batches",
           "bertopic_backend"]

logger = logging.getLogger(__name__)


def embedder_fingerprint(embedder) -> str:
    """A short hash of the embedder's spec and, for file-backed models, its weights' bytes.

    >>> from darien_nlp.embed import make_embedder
    >>> len(embedder_fingerprint(make_embedder("tfidf")))
    16
    """
    from ..persistence import sha256_file

    digest = hashlib.sha256(json.dumps(embedder.spec(), sort_keys=True, default=str).encode())
    path = getattr(embedder, "path", None)
    weights = Path(path) / "model.safetensors" if path is not None else None
    if weights is not None and weights.is_file():
        digest.update(sha256_file(weights).encode())
    for name, array in sorted(embedder.state().items()):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def texts_fingerprint(texts: Sequence[str]) -> str:
    """A short hash of an ordered list of texts (the corpus part of the cache key).

    >>> texts_fingerprint(["a", "b"]) != texts_fingerprint(["b", "a"])
    True
    """
    digest = hashlib.sha256()
    for text in texts:
        encoded = text.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return digest.hexdigest()[:16]


def encode_in_batches(texts: Sequence[str], embedder, *, batch_size: int = 20_000,
                      progress: bool = False) -> np.ndarray:
    """Encode ``texts`` into one preallocated float32 matrix, ``batch_size`` texts at a time.

    >>> from darien_nlp.embed import make_embedder
    >>> encode_in_batches(["border wall", "jobs plan"], make_embedder("tfidf").fit(["border wall", "jobs plan"]), batch_size=1).shape[0]
    2
    """
    if len(texts) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    output: np.ndarray | None = None
    starts = range(0, len(texts), batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="embedding", unit="batch")
    for start in starts:
        vectors = embedder.encode(list(texts[start:start + batch_size]))
        if hasattr(vectors, "toarray"):
            vectors = vectors.toarray()
        vectors = np.asarray(vectors, dtype=np.float32)
        if output is None:
            output = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
        output[start:start + len(vectors)] = vectors
    return output


def cached_embeddings(texts: Sequence[str], embedder, *, cache_dir: str | os.PathLike | None = None,
                      batch_size: int = 20_000, progress: bool = False) -> np.ndarray:
    """Embeddings of ``texts``: read from ``cache_dir`` when this corpus and model were embedded before.

    Without ``cache_dir`` the texts are simply encoded. The file name holds the
    corpus and model fingerprints (``<corpus>-<model>.npy``).
    """
    if cache_dir is None:
        return encode_in_batches(texts, embedder, batch_size=batch_size, progress=progress)
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{texts_fingerprint(texts)}-{embedder_fingerprint(embedder)}.npy"
    if path.is_file():
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
            if array.shape[0] == len(texts):
                logger.info("embeddings: read %d vectors from cache %s", len(texts), path)
                return np.asarray(array)
        except (ValueError, OSError) as error:
            logger.warning("embeddings: ignoring unreadable cache file %s (%s)", path, error)
    vectors = encode_in_batches(texts, embedder, batch_size=batch_size, progress=progress)
    partial = path.with_suffix(".partial.npy")
    np.save(partial, vectors, allow_pickle=False)
    partial.replace(path)  # an interrupted run never leaves a truncated cache file under the real name
    logger.info("embeddings: wrote %d vectors to cache %s", len(texts), path)
    return vectors


def bertopic_backend(embedder) -> Any:
    """Wrap a darien_nlp embedder as a BERTopic ``BaseEmbedder`` (for KeyBERTInspired, MMR, guided seeds).

    >>> from darien_nlp.embed import make_embedder
    >>> backend = bertopic_backend(make_embedder("static"))  # doctest: +SKIP
    >>> backend.embed(["Safe Mobility"]).shape  # doctest: +SKIP
    (1, 256)
    """
    from bertopic.backend import BaseEmbedder

    class DarienEmbedder(BaseEmbedder):
        """BERTopic adapter around a darien_nlp embedding backend."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def embed(self, documents, verbose: bool = False) -> np.ndarray:
            vectors = self.inner.encode([str(d) for d in documents])
            if hasattr(vectors, "toarray"):
                vectors = vectors.toarray()
            return np.asarray(vectors, dtype=np.float32)

    return DarienEmbedder(embedder)
