"""The ``hybrid`` backend: static embeddings side by side with word n-gram TF-IDF.

Static vectors carry meaning across paraphrases; word n-grams carry the exact
policy vocabulary ("Safe Mobility", "parole", "repatriation").  The two are
concatenated (the dense block scaled by ``dense_weight``) for one linear head.

>>> HybridEmbedder(max_features=50).fit(["border security", "safe mobility"]).encode(["border"]).shape[1] > 256  # doctest: +SKIP
True
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .base import Embedder, check_texts
from .static import StaticEmbedder

__all__ = ["HybridEmbedder"]


class HybridEmbedder(Embedder):
    """``[dense_weight * static(x), tfidf_words(x)]`` as one sparse matrix."""

    name = "hybrid.v1"
    trainable = True

    def __init__(self, max_features: int = 30_000, min_df: int = 2, dense_weight: float = 1.0,
                 static_model: str | None = None):
        self.max_features = max_features
        self.min_df = min_df
        self.dense_weight = dense_weight
        self.static_model = static_model
        self._static = StaticEmbedder(path=static_model) if static_model else StaticEmbedder()
        self._vectorizer = None

    def _build(self, min_df):
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=min_df, max_features=self.max_features,
                               strip_accents="unicode", lowercase=True, dtype=np.float32)

    def fit(self, texts: Sequence[str]) -> "HybridEmbedder":
        texts = check_texts(texts)
        self._vectorizer = self._build(self.min_df if len(texts) >= 10 * self.min_df else 1).fit(texts)
        return self

    def encode(self, texts: Sequence[str]):
        from scipy import sparse

        if self._vectorizer is None:
            raise RuntimeError("HybridEmbedder is not fitted; call fit(texts) first")
        texts = check_texts(texts)
        dense = self._static.encode(texts) * np.float32(self.dense_weight)
        return sparse.hstack([sparse.csr_matrix(dense), self._vectorizer.transform(texts)]).tocsr()

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"name": self.name, "max_features": self.max_features, "min_df": self.min_df,
                                "dense_weight": self.dense_weight, "static": self._static.spec()}
        if self._vectorizer is not None:
            vocabulary = self._vectorizer.vocabulary_
            spec["vocabulary"] = sorted(vocabulary, key=vocabulary.get)
        return spec

    def state(self) -> dict[str, Any]:
        return {} if self._vectorizer is None else {"hybrid_idf": self._vectorizer.idf_.astype(np.float64)}

    @classmethod
    def from_spec(cls, spec, state, *, base_dir=None):
        embedder = cls(max_features=spec.get("max_features", 30_000), min_df=spec.get("min_df", 2),
                       dense_weight=spec.get("dense_weight", 1.0))
        embedder._static = StaticEmbedder.from_spec(spec.get("static", {}), {}, base_dir=base_dir)
        if "vocabulary" in spec:
            vectorizer = embedder._build(1)
            vectorizer.vocabulary_ = {term: j for j, term in enumerate(spec["vocabulary"])}
            vectorizer.idf_ = np.asarray(state["hybrid_idf"], dtype=np.float64)
            embedder._vectorizer = vectorizer
        return embedder
