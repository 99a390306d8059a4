"""The TF-IDF backend: word and character n-grams fitted on the training texts."""
from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from .base import Embedder, check_texts

__all__ = ["TfidfEmbedder"]


class TfidfEmbedder(Embedder):
    """Word (1–2) and character (3–5) n-gram TF-IDF, concatenated and L2-normalised.

    >>> embedder = TfidfEmbedder(max_features=100).fit(["border security", "safe mobility offices"])
    >>> embedder.encode(["border"]).shape[0]
    1
    """

    name = "tfidf.v1"
    trainable = True

    def __init__(self, max_features: int = 50_000, min_df: int = 2):
        self.max_features = max_features
        self.min_df = min_df
        self._vectorizers = None

    def _build(self, min_df):
        from sklearn.feature_extraction.text import TfidfVectorizer

        return [
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=min_df,
                            max_features=self.max_features, strip_accents="unicode", lowercase=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=min_df,
                            max_features=self.max_features, lowercase=True),
        ]

    def fit(self, texts: Sequence[str]) -> "TfidfEmbedder":
        texts = check_texts(texts)
        min_df = self.min_df if len(texts) >= 10 * self.min_df else 1
        self._vectorizers = [v.fit(texts) for v in self._build(min_df)]
        return self

    def encode(self, texts: Sequence[str]):
        from scipy import sparse
        from sklearn.preprocessing import normalize

        if self._vectorizers is None:
            raise RuntimeError("TfidfEmbedder is not fitted; call fit(texts) first")
        texts = check_texts(texts)
        blocks = [v.transform(texts) for v in self._vectorizers]
        return normalize(sparse.hstack(blocks).tocsr())

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"name": self.name, "max_features": self.max_features, "min_df": self.min_df}
        if self._vectorizers is not None:
            spec["vocabularies"] = [
                sorted(v.vocabulary_, key=v.vocabulary_.get) for v in self._vectorizers
            ]
        return spec

    def state(self) -> dict[str, Any]:
        if self._vectorizers is None:
            return {}
        return {f"tfidf_idf_{i}": v.idf_.astype(np.float64) for i, v in enumerate(self._vectorizers)}

    @classmethod
    def from_spec(cls, spec, state, *, base_dir=None):
        embedder = cls(max_features=spec.get("max_features", 50_000), min_df=spec.get("min_df", 2))
        if "vocabularies" in spec:
            vectorizers = embedder._build(1)
            for i, (vectorizer, vocabulary) in enumerate(zip(vectorizers, spec["vocabularies"])):
                vectorizer.vocabulary_ = {term: j for j, term in enumerate(vocabulary)}
                vectorizer.idf_ = np.asarray(state[f"tfidf_idf_{i}"], dtype=np.float64)
            embedder._vectorizers = vectorizers
        return embedder
