"""``lsa.v1``: a topic embedder fitted on the corpus itself -- TF-IDF over content words, then SVD.

Mean-pooled static embeddings place a passage by *how* it is said as much as by
*what* it is about: press-briefing turns ("I think we'll have more to say on
that") gather in large clusters whatever their subject. Latent semantic analysis
over the same content words that name the topics (boilerplate phrases and stop
words removed, :mod:`darien_nlp.topics.vectorizer`) places passages by their
subject words only. It is fitted on the topic model's fit sample and then
encodes every passage in batches; its vocabulary, IDF weights and SVD components
are stored with a saved model (JSON + safetensors), so ``transform`` after
``load`` gives the same vectors.

>>> texts = [f"smugglers move migrants through the jungle route {i}" for i in range(6)] + \\
...         [f"rainforest conservation protects rivers and wildlife {i}" for i in range(6)]
>>> embedder = LsaEmbedder(n_components=2, min_df=1, max_df=1.0).fit(texts)
>>> embedder.encode(texts[:1]).shape
(1, 2)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..embed.base import Embedder, check_texts

__all__ = ["LsaEmbedder"]


class LsaEmbedder(Embedder):
    """TF-IDF (unigrams and bigrams of content words, sublinear tf) -> truncated SVD -> unit rows."""

    name = "lsa.v1"
    trainable = True

    def __init__(self, n_components: int = 100, min_df: int = 3, max_df: float = 0.3,
                 ngram_range: tuple[int, int] = (1, 2), max_features: int = 100_000,
                 stop_phrases: Sequence[str] | None = None, extra_stop_words: Sequence[str] = (),
                 random_state: int = 0):
        self.n_components = n_components
        self.min_df = min_df
        self.max_df = max_df
        self.ngram_range = tuple(ngram_range)
        self.max_features = max_features
        self.stop_phrases = None if stop_phrases is None else list(stop_phrases)
        self.extra_stop_words = list(extra_stop_words)
        self.random_state = random_state
        self.vocabulary_: list[str] | None = None
        self.idf_: np.ndarray | None = None
        self.components_: np.ndarray | None = None
        self._vectorizer = None

    def _build(self, min_df: int | float, max_df: float):
        from sklearn.feature_extraction.text import TfidfVectorizer

        from .vectorizer import TOKEN_PATTERN, BoilerplateStripper, stop_words

        return TfidfVectorizer(preprocessor=BoilerplateStripper(self.stop_phrases),
                               stop_words=stop_words(self.extra_stop_words), token_pattern=TOKEN_PATTERN,
                               ngram_range=self.ngram_range, min_df=min_df, max_df=max_df,
                               max_features=self.max_features, sublinear_tf=True, dtype=np.float32)

    def fit(self, texts: Sequence[str]) -> "LsaEmbedder":
        from sklearn.decomposition import TruncatedSVD

        texts = check_texts(texts)
        vectorizer = self._build(self.min_df, self.max_df)
        try:
            matrix = vectorizer.fit_transform(texts)
        except ValueError as error:  # every word pruned: min_df/max_df too strict for a small sample
            raise ValueError(f"LsaEmbedder found no vocabulary in {len(texts)} passages with min_df={self.min_df}, "
                             f"max_df={self.max_df} ({error}); lower min_df or raise max_df.") from error
        n_components = min(self.n_components, matrix.shape[1] - 1, matrix.shape[0] - 1)
        if n_components < 2:
            raise ValueError(f"LsaEmbedder needs a vocabulary of at least 3 words; got {matrix.shape[1]}.")
        svd = TruncatedSVD(n_components=n_components, random_state=self.random_state).fit(matrix)
        self._vectorizer = vectorizer
        self.vocabulary_ = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
        self.idf_ = vectorizer.idf_.astype(np.float32)
        self.components_ = svd.components_.astype(np.float32)
        return self

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.components_ is None:
            raise RuntimeError("LsaEmbedder is not fitted; call fit(texts) first")
        texts = check_texts(texts)
        if self._vectorizer is None:
            self._restore_vectorizer()
        vectors = np.asarray(self._vectorizer.transform(texts) @ self.components_.T, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def _restore_vectorizer(self) -> None:
        vectorizer = self._build(1, 1.0)
        vectorizer.vocabulary_ = {term: j for j, term in enumerate(self.vocabulary_)}
        vectorizer.idf_ = np.asarray(self.idf_, dtype=np.float64)
        self._vectorizer = vectorizer

    @property
    def dim(self) -> int:
        return 0 if self.components_ is None else int(self.components_.shape[0])

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"name": self.name, "n_components": self.n_components, "min_df": self.min_df,
                                "max_df": self.max_df, "ngram_range": list(self.ngram_range),
                                "max_features": self.max_features, "stop_phrases": self.stop_phrases,
                                "extra_stop_words": self.extra_stop_words, "random_state": self.random_state}
        if self.vocabulary_ is not None:
            spec["vocabulary"] = self.vocabulary_
        return spec

    def state(self) -> dict[str, Any]:
        if self.components_ is None:
            return {}
        return {"lsa_idf": self.idf_, "lsa_components": self.components_}

    @classmethod
    def from_spec(cls, spec, state, *, base_dir=None) -> "LsaEmbedder":
        embedder = cls(n_components=spec["n_components"], min_df=spec["min_df"], max_df=spec["max_df"],
                       ngram_range=tuple(spec["ngram_range"]), max_features=spec["max_features"],
                       stop_phrases=spec["stop_phrases"], extra_stop_words=spec["extra_stop_words"],
                       random_state=spec["random_state"])
        if "vocabulary" in spec:
            missing = {"lsa_idf", "lsa_components"} - set(state)
            if missing:
                raise ValueError(f"LsaEmbedder state lacks {sorted(missing)}")
            embedder.vocabulary_ = list(spec["vocabulary"])
            embedder.idf_ = np.asarray(state["lsa_idf"], dtype=np.float32)
            embedder.components_ = np.asarray(state["lsa_components"], dtype=np.float32)
            if embedder.components_.shape[1] != len(embedder.vocabulary_):
                raise ValueError("LsaEmbedder components do not match its vocabulary")
        return embedder
