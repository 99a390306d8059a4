"""Saving and loading a ``TopicModel`` folder without pickle: BERTopic safetensors + JSON + hash manifest.

Layout (see :class:`TopicModelLayout`)::

    bertopic/          BERTopic's own safetensors save (topic embeddings, c-TF-IDF, topics.json)
    topic_model.json   our parameters, embedder spec and fingerprint, topic names and sizes
    assignments.safetensors  the training assignments (before and after outlier reduction)
    README.md          a short model card
    manifest.json      sha256 of every other file, checked before anything is read

The reducer and clusterer are not saved (BERTopic's safetensors format leaves
them out): a loaded model assigns passages by nearest topic embedding, which
is the rule :class:`~darien_nlp.topics.TopicModel` uses before saving too.

>>> TopicModelLayout().required()[:2]
('topic_model.json', 'assignments.safetensors')
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TopicModelLayout", "save_topic_model", "load_topic_model", "FORMAT"]

logger = logging.getLogger(__name__)

FORMAT = "darien_nlp.topic_model.v1"


@dataclass(frozen=True)
class TopicModelLayout:
    """The files a saved :class:`~darien_nlp.topics.TopicModel` folder holds."""

    config: str = "topic_model.json"
    assignments: str = "assignments.safetensors"
    bertopic: str = "bertopic"
    card: str = "README.md"
    embedder_state: str = "embedder.safetensors"   # only for embedders fitted on the corpus (lsa.v1)

    def required(self) -> tuple[str, ...]:
        """Files that must exist (the manifest is checked separately)."""
        return (self.config, self.assignments, f"{self.bertopic}/topics.json", f"{self.bertopic}/config.json",
                f"{self.bertopic}/topic_embeddings.safetensors", f"{self.bertopic}/ctfidf.safetensors",
                f"{self.bertopic}/ctfidf_config.json")


def _card(model, config: dict[str, Any]) -> str:
    lines = [f"# Topic model ({len([t for t in model.topic_ids_ if t >= 0])} topics)", "",
             f"Fitted on {len(model.fit_index_):,} of {model.n_unique_passages_:,} unique passages "
             f"({model.n_passages_:,} in all) with embedder `{config['embedder']['name']}`, reducer "
             f"`{model.reducer}`, clusterer `{model.clusterer}`, representation `{model.representation}`.", "",
             f"Outlier share {model.outlier_share_['before']:.3f} (after reduction {model.outlier_share_['after']:.3f}).",
             "", "| topic | size | name |", "|---:|---:|---|"]
    lines += [f"| {e['topic']} | {e['size']} | {e['name']} |" for e in model.topic_info_]
    lines += ["", "Load with `darien_nlp.TopicModel.load(path)`; the folder holds no pickle and is hash-checked.", ""]
    return "\n".join(lines)


def save_topic_model(model, path: str | os.PathLike, *, metadata: dict[str, Any]) -> Path:
    """Write ``model`` to the folder ``path``, replacing an earlier save there all at once
    (:func:`darien_nlp.persistence.atomic_folder`: an interrupted save leaves the earlier one whole)."""
    from ..persistence import atomic_folder

    with atomic_folder(path) as folder:
        _write_topic_model(model, folder, metadata=metadata)
    return Path(path)


def _write_topic_model(model, folder: Path, *, metadata: dict[str, Any]) -> None:
    from .. import __version__
    from ..persistence import save_arrays, write_json, write_manifest
    from .embeddings import embedder_fingerprint

    layout = TopicModelLayout()
    bertopic_logger = logging.getLogger("BERTopic")
    level = bertopic_logger.level
    bertopic_logger.setLevel(logging.ERROR)  # its "no embedding model saved" warning is expected here
    try:
        model.bertopic_.save(str(folder / layout.bertopic), serialization="safetensors", save_ctfidf=True,
                             save_embedding_model=False)
    finally:
        bertopic_logger.setLevel(level)
    save_arrays(folder, layout.assignments, {
        "topics": np.asarray(model.topics_, dtype=np.int32),
        "topics_before_reduction": np.asarray(model.topics_before_reduction_, dtype=np.int32),
        "fit_index": np.asarray(model.fit_index_, dtype=np.int64),
    })
    params = model.get_params()
    params["ngram_range"] = list(params["ngram_range"])
    params["extra_stop_words"] = list(params["extra_stop_words"])
    params["cache_dir"] = None if params["cache_dir"] is None else str(params["cache_dir"])
    config = {
        "format": FORMAT,
        "library_version": __version__,
        "params": params,
        "embedder": model.embedder_.spec(),
        "embedder_fingerprint": embedder_fingerprint(model.embedder_),
        "topic_ids": [int(t) for t in model.topic_ids_],
        "topic_info": model.topic_info_,
        "representatives": {str(k): v for k, v in model.representatives_.items()},
        "outlier_share": model.outlier_share_,
        "cluster_agreement": model.cluster_agreement_,
        "n_passages": model.n_passages_,
        "n_unique_passages": model.n_unique_passages_,
        "n_duplicate_passages": model.n_duplicate_passages_,
        "boilerplate_passages_skipped": model.boilerplate_passages_skipped_,
        **metadata,
    }
    state = model.embedder_.state()
    if state:
        save_arrays(folder, layout.embedder_state, {name: np.asarray(array) for name, array in state.items()})
    write_json(folder, layout.config, config)
    (folder / layout.card).write_text(_card(model, config), encoding="utf-8")
    write_manifest(folder)


def _check_bertopic(folder: Path, bertopic) -> None:
    """The loaded BERTopic's arrays: its c-TF-IDF and topic embeddings present, finite, one row per topic."""
    from ..persistence import ModelIntegrityError

    embeddings = getattr(bertopic, "topic_embeddings_", None)
    ctfidf = getattr(bertopic, "c_tf_idf_", None)
    if embeddings is None or ctfidf is None:
        raise ModelIntegrityError(f"{folder}: the BERTopic model lacks its topic embeddings or c-TF-IDF")
    embeddings = np.asarray(embeddings)
    values = ctfidf.data if hasattr(ctfidf, "data") else np.asarray(ctfidf)
    if not np.all(np.isfinite(embeddings)) or not np.all(np.isfinite(values)):
        raise ModelIntegrityError(f"{folder}: NaN or infinite values in the topic embeddings or c-TF-IDF")
    if ctfidf.shape[0] != embeddings.shape[0]:
        raise ModelIntegrityError(f"{folder}: c-TF-IDF has {ctfidf.shape[0]} rows for {embeddings.shape[0]} topics")


def load_topic_model(cls, path: str | os.PathLike):
    """Rebuild a :class:`~darien_nlp.topics.TopicModel` saved by :func:`save_topic_model`: the manifest,
    the files BERTopic reads (c-TF-IDF included) and every loaded value are checked; a malformed folder is a
    :class:`~darien_nlp.persistence.ModelIntegrityError`."""
    from ..persistence import ModelIntegrityError, verify_manifest

    layout = TopicModelLayout()
    folder = Path(path)
    try:
        verify_manifest(folder, required=layout.required())
    except ModelIntegrityError as error:
        raise ModelIntegrityError(f"{error}. A TopicModel folder holds {list(layout.required())} and "
                                  "manifest.json") from error
    try:
        return _load_verified(cls, folder, layout)
    except ModelIntegrityError:
        raise
    except (KeyError, TypeError, AttributeError, IndexError, ValueError, RecursionError) as error:
        raise ModelIntegrityError(f"{folder}: malformed TopicModel folder ({type(error).__name__}: {error})") from error


def _load_verified(cls, folder: Path, layout: "TopicModelLayout"):
    from ..embed import BACKENDS
    from ..persistence import ModelIntegrityError, load_arrays, read_json
    from .embeddings import bertopic_backend, embedder_fingerprint
    from .vectorizer import BoilerplateStripper

    config = read_json(folder, layout.config)
    if not isinstance(config, dict):
        raise ModelIntegrityError(f"{folder / layout.config}: not a JSON object")
    if config.get("format") != FORMAT:
        raise ModelIntegrityError(f"{folder / layout.config}: unknown format {config.get('format')!r}; "
                                  f"expected {FORMAT!r}")
    spec = config["embedder"]
    from .lsa import LsaEmbedder

    backends = {**BACKENDS, LsaEmbedder.name: LsaEmbedder}
    if spec.get("name") not in backends:
        raise ModelIntegrityError(f"{folder / layout.config}: unknown embedder {spec.get('name')!r}")
    params = dict(config["params"])
    params["ngram_range"] = tuple(params["ngram_range"])
    params["extra_stop_words"] = tuple(params["extra_stop_words"])
    model = cls(**params)
    state = load_arrays(folder, layout.embedder_state) if (folder / layout.embedder_state).is_file() else {}
    try:
        model.embedder_ = backends[spec["name"]].from_spec(spec, state, base_dir=folder)
    except (KeyError, ValueError) as error:
        raise ModelIntegrityError(f"{folder}: the {spec['name']} embedder cannot be rebuilt ({error})") from error
    if embedder_fingerprint(model.embedder_) != config.get("embedder_fingerprint"):
        logger.warning("%s was fitted with a different version of the %s embedding model; transform may "
                       "not reproduce its assignments", folder, spec.get("name"))
    from bertopic import BERTopic

    bertopic_logger = logging.getLogger("BERTopic")
    level = bertopic_logger.level
    bertopic_logger.setLevel(logging.ERROR)
    try:
        model.bertopic_ = BERTopic.load(str(folder / layout.bertopic), embedding_model=bertopic_backend(model.embedder_))
    finally:
        bertopic_logger.setLevel(level)
    # BERTopic's safetensors save keeps the vectorizer's words but not its preprocessor.
    if getattr(model.bertopic_, "vectorizer_model", None) is not None:
        model.bertopic_.vectorizer_model.preprocessor = BoilerplateStripper(model.stop_phrases)
    _check_bertopic(folder, model.bertopic_)
    model._set_topics_from_bertopic()
    if [int(t) for t in model.topic_ids_] != config["topic_ids"]:
        raise ModelIntegrityError(f"{folder}: BERTopic topics {model.topic_ids_.tolist()} do not match "
                                  f"topic_model.json {config['topic_ids']}")
    arrays = load_arrays(folder, layout.assignments)
    for key in ("topics", "topics_before_reduction", "fit_index"):
        if key not in arrays:
            raise ModelIntegrityError(f"{folder / layout.assignments}: array {key!r} missing")
    for key in ("topics", "topics_before_reduction", "fit_index"):
        if arrays[key].ndim != 1 or arrays[key].dtype.kind not in "iu":
            raise ModelIntegrityError(f"{folder / layout.assignments}: array {key!r} must be a vector of ints")
    if len(arrays["topics"]) != len(arrays["topics_before_reduction"]):
        raise ModelIntegrityError(f"{folder / layout.assignments}: 'topics' and 'topics_before_reduction' differ in length")
    if not set(np.unique(arrays["topics"]).tolist()) <= set(config["topic_ids"]) | {-1, -2}:
        raise ModelIntegrityError(f"{folder / layout.assignments}: 'topics' names topics the model does not have")
    model.topics_ = arrays["topics"]
    model.topics_before_reduction_ = arrays["topics_before_reduction"]
    model.fit_index_ = arrays["fit_index"]
    model.topic_info_ = config["topic_info"]
    model.representatives_ = {int(k): v for k, v in config["representatives"].items()}
    model.outlier_share_ = config["outlier_share"]
    model.cluster_agreement_ = config["cluster_agreement"]
    model.n_passages_ = config["n_passages"]
    model.n_unique_passages_ = config["n_unique_passages"]
    model.n_duplicate_passages_ = config["n_duplicate_passages"]
    model.boilerplate_passages_skipped_ = config["boilerplate_passages_skipped"]
    model.metadata_ = config
    return model
