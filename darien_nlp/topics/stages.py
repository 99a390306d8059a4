"""The replaceable stages of a topic model, by versioned name: reducer, clusterer, representation.

Each builder imports its library inside the function (``umap``, ``hdbscan``
and ``bertopic`` are heavy), seeds every random source with ``random_state``
and returns an object with ``fit``/``transform`` (or ``fit``/``predict``) that
BERTopic accepts as a stage.

>>> sorted(REDUCERS), sorted(CLUSTERERS), sorted(REPRESENTATIONS)
(['pca.v1', 'umap.v1'], ['hdbscan.v1', 'kmeans.v1'], ['coherent.v1', 'ctfidf.v1', 'keybert.v1', 'mmr.v1'])
"""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["REDUCERS", "CLUSTERERS", "REPRESENTATIONS", "ALIASES", "resolve_stage", "build_reducer",
           "build_clusterer", "build_representation"]

_EXTRA = "pip install 'darien-nlp[topics]'"


def _umap(*, n_components: int, random_state: int, options: dict) -> Any:
    try:
        from umap import UMAP
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(f"The 'umap' reducer needs umap-learn: {_EXTRA}") from error
    settings = {"n_neighbors": 15, "min_dist": 0.0, "metric": "cosine", "low_memory": True, **options}
    # A fixed random_state makes UMAP single-threaded and reproducible on one machine.
    return UMAP(n_components=n_components, random_state=random_state, **settings)


def _pca(*, n_components: int, random_state: int, options: dict) -> Any:
    from sklearn.decomposition import PCA

    return PCA(n_components=n_components, random_state=random_state, **options)


def _hdbscan(*, min_cluster_size: int, n_clusters: int | None, random_state: int, options: dict) -> Any:
    try:
        from hdbscan import HDBSCAN
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(f"The 'hdbscan' clusterer needs hdbscan: {_EXTRA}") from error
    settings = {"metric": "euclidean", "cluster_selection_method": "eom", "min_samples": None,
                "core_dist_n_jobs": 1, **options}
    return HDBSCAN(min_cluster_size=min_cluster_size, prediction_data=False, **settings)


def _kmeans(*, min_cluster_size: int, n_clusters: int | None, random_state: int, options: dict) -> Any:
    from sklearn.cluster import MiniBatchKMeans

    if n_clusters is None:
        raise ValueError("The 'kmeans' clusterer needs the 'n_clusters' parameter of TopicModel (an int >= 2). "
                         "Got None instead.")
    settings = {"batch_size": 4096, "n_init": 3, **options}
    return MiniBatchKMeans(n_clusters=n_clusters, random_state=random_state, **settings)


def _ctfidf(*, embedder, top_n_words: int, random_state: int, options: dict) -> Any:
    return None


def _keybert(*, embedder, top_n_words: int, random_state: int, options: dict) -> Any:
    from bertopic.representation import KeyBERTInspired

    settings = {"nr_repr_docs": 5, "nr_samples": 500, "nr_candidate_words": 60, **options}
    return KeyBERTInspired(top_n_words=top_n_words, random_state=random_state, **settings)


def _mmr(*, embedder, top_n_words: int, random_state: int, options: dict) -> Any:
    from bertopic.representation import MaximalMarginalRelevance

    return MaximalMarginalRelevance(top_n_words=top_n_words, **{"diversity": 0.3, **options})


REDUCERS: dict[str, Callable[..., Any]] = {"umap.v1": _umap, "pca.v1": _pca}
CLUSTERERS: dict[str, Callable[..., Any]] = {"hdbscan.v1": _hdbscan, "kmeans.v1": _kmeans}
def _coherent(*, embedder, top_n_words: int, random_state: int, options: dict) -> Any:
    from .coherent import CoherentRepresentation

    return CoherentRepresentation(top_n_words=top_n_words, **options)


REPRESENTATIONS: dict[str, Callable[..., Any]] = {"ctfidf.v1": _ctfidf, "coherent.v1": _coherent,
                                                  "keybert.v1": _keybert, "mmr.v1": _mmr}
#: Short names users type, mapped to the current version.
ALIASES = {"umap": "umap.v1", "pca": "pca.v1", "hdbscan": "hdbscan.v1", "kmeans": "kmeans.v1",
           "ctfidf": "ctfidf.v1", "coherent": "coherent.v1", "keybert": "keybert.v1", "mmr": "mmr.v1"}


def resolve_stage(name: str, registry: dict, parameter: str) -> str:
    """Map a short or versioned stage name to its versioned name, or raise naming the choices.

    >>> resolve_stage("pca", REDUCERS, "reducer")
    'pca.v1'
    """
    resolved = ALIASES.get(name, name) if isinstance(name, str) else name
    if resolved not in registry:
        allowed = sorted(set(registry) | {k for k, v in ALIASES.items() if v in registry})
        raise ValueError(f"The '{parameter}' parameter of TopicModel must be one of {allowed}. Got {name!r} instead.")
    return resolved


def build_reducer(name: str, *, n_components: int, random_state: int, options: dict | None = None) -> Any:
    """A dimensionality reducer (``umap``, ``pca``) seeded with ``random_state``.

    >>> build_reducer("pca", n_components=5, random_state=0).n_components
    5
    """
    return REDUCERS[resolve_stage(name, REDUCERS, "reducer")](
        n_components=n_components, random_state=random_state, options=dict(options or {}))


def build_clusterer(name: str, *, min_cluster_size: int, n_clusters: int | None, random_state: int,
                    options: dict | None = None) -> Any:
    """A clusterer (``hdbscan``: finds the number of topics and outliers; ``kmeans``: fixed count, scales).

    >>> build_clusterer("kmeans", min_cluster_size=5, n_clusters=8, random_state=0).n_clusters
    8
    """
    return CLUSTERERS[resolve_stage(name, CLUSTERERS, "clusterer")](
        min_cluster_size=min_cluster_size, n_clusters=n_clusters, random_state=random_state,
        options=dict(options or {}))


def build_representation(names: str | list[str], *, embedder, top_n_words: int, random_state: int,
                         options: dict | None = None) -> Any:
    """A BERTopic representation model (or a chain of them) that refines the c-TF-IDF words.

    >>> build_representation("ctfidf", embedder=None, top_n_words=10, random_state=0) is None
    True
    """
    chain = [names] if isinstance(names, str) else list(names)
    models = []
    for name in chain:
        resolved = resolve_stage(name, REPRESENTATIONS, "representation")
        model = REPRESENTATIONS[resolved](embedder=embedder, top_n_words=top_n_words, random_state=random_state,
                                          options=dict((options or {}).get(name, {})))
        if model is not None:
            models.append(model)
    if not models:
        return None
    return models[0] if len(models) == 1 else models
