"""The ``static_lex`` backend: static embeddings plus TF-IDF over the same subword tokens.

The static model's tokenizer already turns every passage into subword ids;
counting them gives a bag-of-words matrix for free.  IDF weights learned on
the training texts turn it into TF-IDF, which keeps the exact policy
vocabulary ("parole", "repatriation", "Safe Mobility") that mean pooling
blurs, at the static backend's speed and still without torch.

>>> embedder = StaticLexicalEmbedder().fit(["Safe Mobility offices", "border security"])  # doctest: +SKIP
>>> embedder.encode(["Safe Mobility"]).shape  # doctest: +SKIP
(1, 30778)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .base import Embedder, check_texts
from .static import StaticEmbedder, canonical_counts

__all__ = ["StaticLexicalEmbedder"]


def _tfidf_rows(counts, idf: np.ndarray):
    """``log1p(count) * idf`` per token of each row of a canonical CSR count matrix (each token once per row),
    each row scaled to unit L2 norm: numpy on the matrix's data array, one matrix built (scipy only, no
    scikit-learn import at inference)."""
    from scipy.sparse import csr_matrix

    values = np.log1p(counts.data, dtype=np.float32) * idf[counts.indices]
    lengths = np.diff(counts.indptr)
    squares = np.zeros(len(lengths), dtype=np.float64)
    rows = np.flatnonzero(lengths)
    if len(rows):
        squares[rows] = np.add.reduceat(values.astype(np.float64) ** 2, counts.indptr[rows])
    values *= np.repeat((1.0 / np.maximum(np.sqrt(squares), 1e-12)).astype(np.float32), lengths)
    return csr_matrix((values, counts.indices, counts.indptr), shape=counts.shape)


class StaticLexicalEmbedder(Embedder):
    """``[dense_weight * static(x), tfidf_subwords(x)]`` as one sparse row per text.

    With ``bilingual`` (a second static model, e.g. ``static-usem3-v1`` whose English and Spanish
    words share one space) its mean-pooled vector, scaled by ``bilingual_weight``, is appended:
    the English-only block keeps the in-domain vocabulary, the shared block carries a label
    learnt from English passages over to Spanish ones.
    """

    name = "static_lex.v1"
    trainable = True

    def __init__(self, path: str | None = None, max_length: int = 256, dense_weight: float = 1.0,
                 min_df: int = 2, bilingual: str | None = None, bilingual_weight: float = 1.0):
        if isinstance(bilingual_weight, bool) or not isinstance(bilingual_weight, (int, float)) or bilingual_weight <= 0:
            raise ValueError(f"bilingual_weight must be a number > 0. Got {bilingual_weight!r} instead.")
        self.path = path
        self.max_length = max_length
        self.dense_weight = dense_weight
        self.min_df = min_df
        self.bilingual = bilingual
        self.bilingual_weight = float(bilingual_weight)
        self._static = StaticEmbedder(path=path, max_length=max_length)
        self._bilingual = None if bilingual is None else StaticEmbedder(path=bilingual, max_length=max_length)
        self.idf_: np.ndarray | None = None

    def fit(self, texts: Sequence[str]) -> "StaticLexicalEmbedder":
        texts = check_texts(texts)
        counts = canonical_counts(self._static._model().token_counts(texts))
        document_frequency = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
        idf = np.log((1.0 + len(texts)) / (1.0 + document_frequency)) + 1.0
        idf[document_frequency < min(self.min_df, max(len(texts) // 10, 1))] = 0.0  # rare ids: noise
        self.idf_ = idf.astype(np.float32)
        return self

    def _blocks(self, texts: list[str]):
        """Per chunk of texts: the dense static block, the TF-IDF block and the bilingual block (or None)."""
        fast = self._static._model()
        for start in range(0, len(texts), 4096):
            chunk = texts[start:start + 4096]
            counts = fast.token_counts(chunk)
            dense = fast.pool(counts) * np.float32(self.dense_weight)
            lexical = _tfidf_rows(canonical_counts(counts), self.idf_)
            shared = None
            if self._bilingual is not None:
                shared = self._bilingual.encode(chunk) * np.float32(self.bilingual_weight)
            yield dense, lexical, shared

    def project(self, texts: Sequence[str], weights):
        """``encode(texts) @ weights.T`` block by block (no stacked matrix is built)."""
        if self.idf_ is None:
            raise RuntimeError("StaticLexicalEmbedder is not fitted; call fit(texts) first")
        texts = check_texts(texts)
        dense_t, lexical_t, shared_t = self._prepared(weights, self._block_weights, len(texts))
        out = np.zeros((len(texts), dense_t.shape[1]), dtype=np.float64)
        row = 0
        for dense, lexical, shared in self._blocks(texts):
            scores = dense @ dense_t + np.asarray(lexical @ lexical_t)
            if shared is not None:
                scores += shared @ shared_t
            out[row:row + dense.shape[0]] = scores
            row += dense.shape[0]
        return out

    def _block_weights(self, weights):
        """Each block's slice of ``weights`` (k, dim), transposed and contiguous (dim_block, k), float64."""
        weights = np.asarray(weights, dtype=np.float64)
        dim, vocabulary = self._static._model().dim, len(self.idf_)
        expected = dim + vocabulary + (0 if self._bilingual is None else self._bilingual._model().dim)
        if weights.ndim != 2 or weights.shape[1] != expected:
            raise ValueError(f"weights must have shape (k, {expected}); got {weights.shape}")
        return tuple(np.ascontiguousarray(block.T) for block in
                     (weights[:, :dim], weights[:, dim:dim + vocabulary], weights[:, dim + vocabulary:]))

    def encode(self, texts: Sequence[str]):
        from scipy import sparse

        if self.idf_ is None:
            raise RuntimeError("StaticLexicalEmbedder is not fitted; call fit(texts) first")
        texts = check_texts(texts)
        fast = self._static._model()
        blocks = []
        for dense, lexical, shared in self._blocks(texts):
            parts = [sparse.csr_matrix(dense), lexical] + ([] if shared is None else [sparse.csr_matrix(shared)])
            blocks.append(sparse.hstack(parts, format="csr"))
        if not blocks:
            extra = 0 if self._bilingual is None else self._bilingual._model().dim
            return sparse.csr_matrix((0, fast.dim + len(self.idf_) + extra), dtype=np.float32)
        return sparse.vstack(blocks, format="csr")

    def shared_columns(self) -> np.ndarray | None:
        """Which columns of :meth:`encode` hold the block that English and Spanish share (the bilingual
        static vector); None without a bilingual model. Needs the fitted vocabulary size."""
        if self._bilingual is None or self.idf_ is None:
            return None
        english = self._static._model().dim + len(self.idf_)
        return np.arange(english + self._bilingual._model().dim) >= english

    def spec(self) -> dict[str, Any]:
        spec = {"name": self.name, "static": self._static.spec(), "dense_weight": self.dense_weight,
                "min_df": self.min_df}
        if self._bilingual is not None:
            spec.update(bilingual=self._bilingual.spec(), bilingual_weight=self.bilingual_weight)
        return spec

    def state(self) -> dict[str, Any]:
        return {} if self.idf_ is None else {"lexical_idf": self.idf_}

    @classmethod
    def from_spec(cls, spec, state, *, base_dir=None):
        static = StaticEmbedder.from_spec(spec.get("static", {}), {}, base_dir=base_dir)
        bilingual = (None if spec.get("bilingual") is None else
                     str(StaticEmbedder.from_spec(spec["bilingual"], {}, base_dir=base_dir).path))
        embedder = cls(path=str(static.path), max_length=static.max_length,
                       dense_weight=spec.get("dense_weight", 1.0), min_df=spec.get("min_df", 2),
                       bilingual=bilingual, bilingual_weight=spec.get("bilingual_weight", 1.0))
        if "lexical_idf" in state:
            embedder.idf_ = np.asarray(state["lexical_idf"], dtype=np.float32)
        return embedder
