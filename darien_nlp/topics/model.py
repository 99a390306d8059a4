"""``TopicModel``: BERTopic over the library's embeddings, fitted on a sample, assigning every passage.

Pipeline: passages -> embeddings (static backend, cached on disk) -> reducer
(UMAP or PCA) -> clusterer (HDBSCAN or MiniBatchKMeans) -> c-TF-IDF with a
boilerplate-aware vectorizer -> representation (KeyBERTInspired or MMR).

Scale: BERTopic is fitted on at most ``max_fit_passages`` unique passages,
drawn per stratum (e.g. month) so every period is represented. Every passage,
the fitted ones included, is then assigned by one rule: the nearest topic
embedding by cosine similarity (the rule BERTopic itself uses after a
safetensors load). One rule before and after saving means a loaded model
reproduces the saved assignments exactly, and assigning the rest of a large
corpus costs one ``(batch, topics)`` product per batch.

>>> model = TopicModel(min_cluster_size=5, reducer="pca", representation="ctfidf")
>>> model.get_params()["reducer"]
'pca'
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from .stages import CLUSTERERS, REDUCERS, REPRESENTATIONS, resolve_stage

__all__ = ["TopicModel", "NotFittedError", "stratified_sample"]

logger = logging.getLogger(__name__)

_TOPIC_BACKENDS = ("static", "static.v1", "minilm", "minilm.v1", "lsa", "lsa.v1")


def stratified_sample(strata: Sequence[Any], size: int, *, random_state: int = 0) -> np.ndarray:
    """Sorted indices of about ``size`` items, drawn from each stratum in proportion to its size.

    Every stratum keeps at least one item, so a rare month is never lost.

    >>> stratified_sample(["a"] * 8 + ["b"] * 2, 5, random_state=0).size
    5
    """
    strata = np.asarray(strata)
    if size >= len(strata):
        return np.arange(len(strata))
    rng = np.random.default_rng(random_state)
    keys, inverse = np.unique(strata, return_inverse=True)
    fraction = size / len(strata)
    chosen = []
    for k in range(len(keys)):
        members = np.flatnonzero(inverse == k)
        take = max(1, int(round(len(members) * fraction)))
        chosen.append(rng.choice(members, size=min(take, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def _texts(items: Sequence[Any], where: str) -> list[str]:
    if isinstance(items, (str, bytes)):
        raise TypeError(f"{where} needs a list of strings or Passage objects, not a single string")
    texts = []
    for position, item in enumerate(items):
        text = getattr(item, "text", item)
        if not isinstance(text, str):
            raise TypeError(f"{where}: item {position} is a {type(item).__name__}, not a str or a Passage")
        texts.append(text)
    return texts


class TopicModel(BaseEstimator):
    """Topics of a corpus of release passages, with readable names and one assignment rule.

    Parameters (keyword-only, stored as given; validated in ``fit``):

    embedder : ``"static"`` (default, ~10k passages/s, no torch), ``"minilm"``, or ``"lsa"`` (TF-IDF + SVD
        fitted on the fit sample's content words: groups passages by subject, not by style; see
        :mod:`darien_nlp.topics.lsa`). ``embedder_options`` go to the backend.
    reducer : ``"umap"`` (fixed ``random_state``) or ``"pca"`` (fast, for whole corpora).
    n_components : dimensions the reducer keeps.
    clusterer : ``"hdbscan"`` (finds the number of topics and outliers) or ``"kmeans"`` (``n_clusters``).
    min_cluster_size : smallest topic HDBSCAN may form (also the minimum input size: twice this).
    representation : ``"mmr"`` (default: c-TF-IDF words made diverse), ``"coherent"`` (c-TF-IDF candidates
        re-ranked so the name's words share passages: :mod:`darien_nlp.topics.coherent`), ``"keybert"``,
        ``"ctfidf"`` or a list. ``representation_options`` maps a stage name to its options, e.g.
        ``{"coherent": {"weight": 0.4, "candidates": 30}}``.
    stop_phrases : boilerplate phrases to strip before counting words (None: the release defaults).
    extra_stop_words : more single words to drop.
    ngram_range, min_df, max_df, top_n_words : the c-TF-IDF vocabulary (``min_df``/``max_df`` count
        topics) and how many words name a topic.
    reduce_frequent_words : damp words frequent in every topic (c-TF-IDF's square-root term weight):
        transcript filler ("getting", "maybe") otherwise names topics of briefing-heavy corpora.
    seed_topics : ``None``, ``"taxonomy"`` (the five categories' cues) or a list of seed-word lists.
    nr_topics : BERTopic topic reduction (``None``, ``"auto"`` or an int).
    max_fit_passages : fit on at most this many unique passages (stratified by ``strata``).
    reduce_outliers : reassign outlier passages to their nearest topic when its cosine
        similarity is at least ``outlier_threshold``.
    cache_dir : folder for cached embeddings (keyed by corpus and model fingerprint).
    random_state : seed for the sample, the reducer, the clusterer and the representation.

    Learned attributes: ``topics_`` (one id per input passage, -1 outlier), ``topic_ids_``,
    ``topic_embeddings_``, ``topic_info_``, ``representatives_``, ``outlier_share_``,
    ``fit_index_``, ``bertopic_``, ``embedder_``.

    >>> texts = [f"Smugglers move migrants through the jungle route {i}." for i in range(20)] + \\
    ...         [f"Rainforest conservation protects rivers and wildlife {i}." for i in range(20)]
    >>> model = TopicModel(reducer="pca", clusterer="kmeans", n_clusters=2,
    ...                    representation="ctfidf").fit(texts)  # doctest: +SKIP
    >>> len(set(model.topics_))  # doctest: +SKIP
    2
    """

    def __init__(self, *, embedder: str = "static", embedder_options: dict | None = None,
                 reducer: str = "umap", n_components: int = 5, reducer_options: dict | None = None,
                 clusterer: str = "hdbscan", min_cluster_size: int = 10, n_clusters: int | None = None,
                 clusterer_options: dict | None = None, representation: str | list = "mmr",
                 representation_options: dict | None = None, top_n_words: int = 10,
                 stop_phrases: Sequence[str] | None = None, extra_stop_words: Sequence[str] = (),
                 ngram_range: tuple[int, int] = (1, 2), min_df: int = 1, max_df: float = 1.0, reduce_frequent_words: bool = True,
                 seed_topics: Any = None,
                 nr_topics: int | str | None = None, max_fit_passages: int = 40_000,
                 reduce_outliers: bool = False, outlier_threshold: float = 0.0, n_representatives: int = 3,
                 batch_size: int = 20_000, cache_dir: str | os.PathLike | None = None, random_state: int = 0,
                 progress: bool = False):
        self.embedder = embedder
        self.embedder_options = embedder_options
        self.reducer = reducer
        self.n_components = n_components
        self.reducer_options = reducer_options
        self.clusterer = clusterer
        self.min_cluster_size = min_cluster_size
        self.n_clusters = n_clusters
        self.clusterer_options = clusterer_options
        self.representation = representation
        self.representation_options = representation_options
        self.top_n_words = top_n_words
        self.stop_phrases = stop_phrases
        self.extra_stop_words = extra_stop_words
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.reduce_frequent_words = reduce_frequent_words
        self.seed_topics = seed_topics
        self.nr_topics = nr_topics
        self.max_fit_passages = max_fit_passages
        self.reduce_outliers = reduce_outliers
        self.outlier_threshold = outlier_threshold
        self.n_representatives = n_representatives
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.random_state = random_state
        self.progress = progress

    # -- validation ---------------------------------------------------------------------------
    def _validate_params(self) -> None:
        if self.embedder not in _TOPIC_BACKENDS:
            raise ValueError(f"The 'embedder' parameter of TopicModel must be one of {sorted(_TOPIC_BACKENDS)}. "
                             f"Got {self.embedder!r} instead.")
        resolve_stage(self.reducer, REDUCERS, "reducer")
        resolve_stage(self.clusterer, CLUSTERERS, "clusterer")
        chain = [self.representation] if isinstance(self.representation, str) else list(self.representation)
        for name in chain:
            resolve_stage(name, REPRESENTATIONS, "representation")
        options = self.representation_options
        if options is not None and not (isinstance(options, dict) and all(
                name in chain and isinstance(value, dict) for name, value in options.items())):
            raise ValueError("The 'representation_options' parameter of TopicModel must be None or map stage names "
                             f"of representation={chain!r} to option tables. Got {options!r} instead.")
        positive = {"min_cluster_size": 2, "n_components": 2, "max_fit_passages": 10, "batch_size": 1,
                    "top_n_words": 1, "n_representatives": 0}
        for name, least in positive.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"The '{name}' parameter of TopicModel must be an int >= {least}. "
                                 f"Got {value!r} instead.")
        if resolve_stage(self.clusterer, CLUSTERERS, "clusterer") == "kmeans.v1" and not (
                isinstance(self.n_clusters, int) and self.n_clusters >= 2):
            raise ValueError("The 'n_clusters' parameter of TopicModel must be an int >= 2 when clusterer='kmeans'. "
                             f"Got {self.n_clusters!r} instead.")
        if not (self.seed_topics is None or self.seed_topics == "taxonomy" or (
                isinstance(self.seed_topics, (list, tuple)) and all(isinstance(s, (list, tuple)) for s in self.seed_topics))):
            raise ValueError("The 'seed_topics' parameter of TopicModel must be None, 'taxonomy' or a list of "
                             f"seed-word lists. Got {self.seed_topics!r} instead.")
        if not isinstance(self.outlier_threshold, (int, float)) or not -1.0 <= self.outlier_threshold <= 1.0:
            raise ValueError("The 'outlier_threshold' parameter of TopicModel must be a float in [-1, 1]. "
                             f"Got {self.outlier_threshold!r} instead.")

    def minimum_passages(self) -> int:
        """How many unique content passages ``fit`` needs with these parameters.

        >>> TopicModel(min_cluster_size=10).minimum_passages()
        20
        """
        needed = 2 * int(self.min_cluster_size)
        if _versioned(self.reducer) == "umap.v1":
            needed = max(needed, int((self.reducer_options or {}).get("n_neighbors", 15)) + 2)
        if _versioned(self.clusterer) == "kmeans.v1" and isinstance(self.n_clusters, int):
            needed = max(needed, 2 * self.n_clusters)
        return max(needed, int(self.n_components) + 2)

    def _seed_topic_list(self) -> list[list[str]] | None:
        if self.seed_topics is None:
            return None
        if self.seed_topics == "taxonomy":
            from ..taxonomy import CATEGORIES

            return [[cue.lower() for cue in category.cues] for category in CATEGORIES.values()]
        return [list(map(str, seeds)) for seeds in self.seed_topics]

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, passages: Sequence[Any], *, embeddings: np.ndarray | None = None,
            strata: Sequence[Any] | None = None, fit_mask: Sequence[bool] | None = None) -> "TopicModel":
        """Discover topics in ``passages`` (strings or ``Passage`` objects) and assign each one.

        ``embeddings`` (one row per passage) skips encoding; ``strata`` (one key per
        passage, e.g. its month) stratifies the fit sample on large inputs; ``fit_mask``
        (one bool per passage) says which passages may be drawn into the fit sample --
        e.g. leave press-briefing transcripts out, so that topics and their names come from
        written releases -- while every passage is still assigned to its nearest topic.
        """
        from .vectorizer import content_words

        self._validate_params()
        texts = _texts(passages, "TopicModel.fit")
        if strata is not None and len(strata) != len(texts):
            raise ValueError(f"strata has {len(strata)} items but there are {len(texts)} passages")
        first: dict[str, int] = {}
        inverse = np.empty(len(texts), dtype=np.int64)
        for position, text in enumerate(texts):
            inverse[position] = first.setdefault(text, len(first))
        unique_texts = list(first)
        first_index = np.empty(len(unique_texts), dtype=np.int64)
        first_index[inverse[::-1]] = np.arange(len(texts))[::-1]
        self.n_passages_ = len(texts)
        self.n_unique_passages_ = len(unique_texts)
        self.n_duplicate_passages_ = len(texts) - len(unique_texts)
        needed = self.minimum_passages()
        if len(unique_texts) < needed:
            raise ValueError(
                f"TopicModel.fit needs at least {needed} unique passages with min_cluster_size="
                f"{self.min_cluster_size} (twice the minimum topic size); got {len(unique_texts)} "
                f"({len(texts)} passages, {self.n_duplicate_passages_} duplicates). Add documents or lower "
                "min_cluster_size.")
        if embeddings is not None:
            embeddings = np.asarray(embeddings, dtype=np.float32)
            if embeddings.ndim != 2 or embeddings.shape[0] != len(texts):
                raise ValueError(f"embeddings must have one row per passage ({len(texts)}); "
                                 f"got shape {embeddings.shape}")
        unique_strata = np.asarray(strata, dtype=object)[first_index].astype(str) if strata is not None else \
            np.zeros(len(unique_texts), dtype=str)
        eligible = np.arange(len(unique_texts))
        if fit_mask is not None:
            mask = np.asarray(fit_mask, dtype=bool)
            if mask.shape != (len(texts),):
                raise ValueError(f"fit_mask has {mask.size} items but there are {len(texts)} passages")
            unique_mask = np.zeros(len(unique_texts), dtype=bool)
            np.logical_or.at(unique_mask, inverse, mask)
            eligible = np.flatnonzero(unique_mask)
            if eligible.size < needed:
                raise ValueError(f"fit_mask leaves {eligible.size} unique passages to fit on; TopicModel.fit needs "
                                 f"at least {needed} (min_cluster_size={self.min_cluster_size}).")
        self.n_fit_eligible_ = int(eligible.size)
        # Draw a little more than needed: passages with no content words are dropped below.
        candidates = eligible[stratified_sample(unique_strata[eligible], self.max_fit_passages,
                                                random_state=self.random_state)]
        keep = [i for i in candidates if content_words(unique_texts[i], stop_phrases=self.stop_phrases,
                                                       extra_stop_words=self.extra_stop_words)]
        if not keep:
            raise ValueError(f"All {len(candidates)} passages drawn for fitting are boilerplate or stop words "
                             "(no content word left after removing stop_phrases and stop words); there is nothing "
                             "to model. Check the corpus or the stop_phrases parameter.")
        if len(keep) < needed:
            raise ValueError(f"TopicModel.fit needs at least {needed} passages with content words "
                             f"(min_cluster_size={self.min_cluster_size}); only {len(keep)} of {len(candidates)} "
                             "are not boilerplate.")
        self.boilerplate_passages_skipped_ = len(candidates) - len(keep)
        sample = np.asarray(keep, dtype=np.int64)
        self.embedder_ = self._make_embedder()
        if getattr(self.embedder_, "trainable", False):  # e.g. lsa.v1: learns its vocabulary on the fit sample
            self.embedder_.fit([unique_texts[i] for i in sample])
        if embeddings is not None:
            unique_embeddings = embeddings[first_index]
        else:
            from .embeddings import cached_embeddings

            unique_embeddings = cached_embeddings(unique_texts, self.embedder_, cache_dir=self.cache_dir,
                                                  batch_size=self.batch_size, progress=self.progress)
        self.bertopic_ = self._build_bertopic()
        logger.info("topics: fitting BERTopic on %d of %d unique passages", len(sample), len(unique_texts))
        cluster_labels, _ = self.bertopic_.fit_transform([unique_texts[i] for i in sample],
                                                         embeddings=np.array(unique_embeddings[sample], copy=True))
        self._set_topics_from_bertopic()
        if not (self.topic_ids_ >= 0).any():
            raise ValueError(f"{self.clusterer!r} found no topic in {len(sample)} passages (all outliers); "
                             "lower min_cluster_size or use more documents.")
        raw, final, similarity = self._assign(unique_embeddings)
        self.cluster_agreement_ = float(np.mean(raw[sample] == np.asarray(cluster_labels)))
        self.fit_index_ = first_index[sample]
        self.topics_before_reduction_ = raw[inverse].astype(np.int32)
        self.topics_ = final[inverse].astype(np.int32)
        self.outlier_share_ = {"before": float(np.mean(self.topics_before_reduction_ == -1)),
                               "after": float(np.mean(self.topics_ == -1))}
        self.representatives_ = self._representatives(final, similarity, first_index)
        self.topic_info_ = self._topic_info()
        logger.info("topics: %d topics; outliers %.1f%% (%.1f%% after reduction); cluster agreement %.2f",
                    int((self.topic_ids_ >= 0).sum()), 100 * self.outlier_share_["before"],
                    100 * self.outlier_share_["after"], self.cluster_agreement_)
        return self

    def fit_transform(self, passages: Sequence[Any], **kwargs) -> np.ndarray:
        """Fit and return ``topics_`` (one topic id per passage)."""
        return self.fit(passages, **kwargs).topics_

    def _make_embedder(self):
        if self.embedder in ("lsa", "lsa.v1"):
            from .lsa import LsaEmbedder

            options = {"stop_phrases": self.stop_phrases, "extra_stop_words": tuple(self.extra_stop_words),
                       "random_state": self.random_state, **(self.embedder_options or {})}
            return LsaEmbedder(**options)
        from ..embed import make_embedder

        return make_embedder(self.embedder, **(self.embedder_options or {}))

    def _build_bertopic(self):
        try:
            from bertopic import BERTopic
            from bertopic.vectorizers import ClassTfidfTransformer
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ImportError(f"TopicModel needs bertopic ({error}): pip install 'darien-nlp[topics]'") from error
        from .embeddings import bertopic_backend
        from .stages import build_clusterer, build_reducer, build_representation
        from .vectorizer import make_vectorizer

        return BERTopic(
            embedding_model=bertopic_backend(self.embedder_),
            umap_model=build_reducer(self.reducer, n_components=self.n_components, random_state=self.random_state,
                                     options=self.reducer_options),
            hdbscan_model=build_clusterer(self.clusterer, min_cluster_size=self.min_cluster_size,
                                          n_clusters=self.n_clusters, random_state=self.random_state,
                                          options=self.clusterer_options),
            ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=bool(self.reduce_frequent_words)),
            vectorizer_model=make_vectorizer(stop_phrases=self.stop_phrases, extra_stop_words=self.extra_stop_words,
                                             ngram_range=tuple(self.ngram_range), min_df=self.min_df,
                                             max_df=self.max_df),
            representation_model=build_representation(self.representation, embedder=self.embedder_,
                                                       top_n_words=self.top_n_words, random_state=self.random_state,
                                                       options=self.representation_options),
            top_n_words=self.top_n_words, min_topic_size=self.min_cluster_size, nr_topics=self.nr_topics,
            seed_topic_list=self._seed_topic_list(), calculate_probabilities=False, verbose=False,
        )

    def _set_topics_from_bertopic(self) -> None:
        """Read topic ids and embeddings from the fitted (or loaded) BERTopic model."""
        representations = self.bertopic_.topic_representations_
        self.topic_ids_ = np.array(sorted(int(t) for t in representations), dtype=np.int64)
        # float32 as in BERTopic's safetensors file: the same numbers before saving and after loading.
        self.topic_embeddings_ = np.asarray(self.bertopic_.topic_embeddings_, dtype=np.float32)
        if self.topic_embeddings_.shape[0] != len(self.topic_ids_):
            raise RuntimeError(f"BERTopic has {len(self.topic_ids_)} topics but "
                               f"{self.topic_embeddings_.shape[0]} topic embeddings")
        norms = np.linalg.norm(self.topic_embeddings_, axis=1, keepdims=True)
        self._unit_topics = self.topic_embeddings_ / np.maximum(norms, 1e-12)

    # -- assignment ---------------------------------------------------------------------------
    def _assign(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest topic embedding, batch by batch: (raw ids, ids after outlier reduction, similarity)."""
        count = embeddings.shape[0]
        raw = np.empty(count, dtype=np.int64)
        final = np.empty(count, dtype=np.int64)
        similarity = np.empty(count, dtype=np.float32)
        real = self.topic_ids_ >= 0
        real_ids = self.topic_ids_[real]
        for start in range(0, count, self.batch_size):
            batch = np.asarray(embeddings[start:start + self.batch_size], dtype=np.float32)
            batch = batch / np.maximum(np.linalg.norm(batch, axis=1, keepdims=True), 1e-12)
            scores = batch @ self._unit_topics.T
            best = scores.argmax(axis=1)
            rows = np.arange(len(batch))
            raw_batch = self.topic_ids_[best]
            final_batch = raw_batch.copy()
            best_similarity = scores[rows, best]
            if self.reduce_outliers and not real.all():
                real_scores = scores[:, real]
                best_real = real_scores.argmax(axis=1)
                best_real_similarity = real_scores[rows, best_real]
                move = (raw_batch == -1) & (best_real_similarity >= self.outlier_threshold)
                final_batch[move] = real_ids[best_real[move]]
                best_similarity = np.where(move, best_real_similarity, best_similarity)
            raw[start:start + len(batch)] = raw_batch
            final[start:start + len(batch)] = final_batch
            similarity[start:start + len(batch)] = best_similarity
        return raw, final, similarity

    def _check_fitted(self) -> None:
        if not hasattr(self, "topic_embeddings_"):
            raise NotFittedError("This TopicModel instance is not fitted yet. Call 'fit' with passages, or load a "
                                 "saved model with TopicModel.load(path).")

    def transform(self, passages: Sequence[Any], *, embeddings: np.ndarray | None = None) -> np.ndarray:
        """Topic id of each passage (nearest topic embedding; outliers reduced when the model does so).

        >>> TopicModel().transform(["text"])
        Traceback (most recent call last):
        ...
        sklearn.exceptions.NotFittedError: This TopicModel instance is not fitted yet. Call 'fit' with passages, or load a saved model with TopicModel.load(path).
        """
        self._check_fitted()
        texts = _texts(passages, "TopicModel.transform")
        if embeddings is None:
            from .embeddings import encode_in_batches

            embeddings = encode_in_batches(texts, self.embedder_, batch_size=self.batch_size) if texts else \
                np.zeros((0, self.topic_embeddings_.shape[1]), dtype=np.float32)
        return self._assign(np.asarray(embeddings, dtype=np.float32))[1].astype(np.int32)

    # -- descriptions -------------------------------------------------------------------------
    def _representatives(self, final: np.ndarray, similarity: np.ndarray, first_index: np.ndarray) -> dict[int, list[int]]:
        """The ``n_representatives`` passages most similar to each topic (indices into the fit input)."""
        out: dict[int, list[int]] = {}
        order = np.lexsort((-similarity, final))  # grouped by topic, most similar first
        boundaries = np.searchsorted(final[order], self.topic_ids_)
        for topic, start in zip(self.topic_ids_, boundaries):
            members = order[start:start + self.n_representatives]
            out[int(topic)] = [int(first_index[m]) for m in members if final[m] == topic]
        return out

    def topic_words(self, topic: int) -> list[tuple[str, float]]:
        """The words (and weights) that represent ``topic``, best first, empty strings dropped."""
        self._check_fitted()
        return [(word, float(weight)) for word, weight in self.bertopic_.topic_representations_.get(int(topic), [])
                if word]

    def _topic_info(self) -> list[dict[str, Any]]:
        from .vectorizer import is_stop_term

        ids, counts = np.unique(self.topics_, return_counts=True)
        sizes = dict(zip(ids.tolist(), counts.tolist()))
        ids, counts = np.unique(self.topics_before_reduction_, return_counts=True)
        sizes_before = dict(zip(ids.tolist(), counts.tolist()))
        info = []
        for row, topic in enumerate(self.topic_ids_):
            words = [w for w, _ in self.topic_words(int(topic))
                     if not is_stop_term(w, extra_stop_words=self.extra_stop_words)]
            name = "outliers" if topic == -1 else " · ".join(words[:3]) or f"topic {topic}"
            info.append({"topic": int(topic), "name": name, "words": words,
                         "size": int(sizes.get(int(topic), 0)),
                         "size_before_reduction": int(sizes_before.get(int(topic), 0))})
        return info

    def topic_names(self) -> dict[int, str]:
        """Topic id -> readable name (its three best words), e.g. ``{0: 'safe mobility · ...'}``."""
        self._check_fitted()
        return {entry["topic"]: entry["name"] for entry in self.topic_info_}

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, *, metadata: dict[str, Any] | None = None) -> Path:
        """Write the model folder (BERTopic safetensors, JSON, assignments, card, manifest); no pickle."""
        from .persistence import save_topic_model

        self._check_fitted()
        return save_topic_model(self, path, metadata=metadata or {})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TopicModel":
        """Load a folder written by :meth:`save`, verifying every file's hash first."""
        from .persistence import load_topic_model

        return load_topic_model(cls, path)


def _versioned(name: Any) -> Any:
    """The versioned name of a stage given by short name (unknown names pass through)."""
    from .stages import ALIASES

    return ALIASES.get(name, name) if isinstance(name, str) else name
