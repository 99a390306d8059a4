"""Scale-out on Dask: classify and segment partitioned corpora, one model load per worker process.

``pip install 'darien-nlp[dask]'``.  Each function takes a Dask collection and returns a lazy one;
compute it with any scheduler (a ``distributed.Client`` on a real cluster, the local threaded or
process scheduler otherwise).  Workers load a model by the name or folder you pass (every worker
needs the model folder: a shared path or ``DARIEN_NLP_MODELS`` on each machine, or the installed
wheel's default model), once per process, through :func:`darien_nlp.api.load_model`'s cache, with its
manifest verified.  The results equal the single-process results exactly: the same model, the
same batching-independent arithmetic per passage.

>>> import dask.bag as db  # doctest: +SKIP
>>> bag = db.from_sequence(["Panama opened Safe Mobility Offices."], npartitions=1)  # doctest: +SKIP
>>> classify_bag(bag).compute()[0]["labels"]  # doctest: +SKIP
['lawful_pathways']

A worker that dies mid-run (a lost machine, an out-of-memory kill) loses nothing: its nanny
restarts it and the scheduler reruns its tasks, so every record still comes back once, in order.
A task that kills every worker it runs on ends the job with ``distributed.scheduler.KilledWorker``
after ``distributed.scheduler.allowed-failures`` deaths (default 3), and no partial result is
returned (both tested on a local cluster).

Topics: fit on a sample in one process (:class:`darien_nlp.topics.TopicModel`), then assign every
passage in parallel with :func:`assign_topics_bag`, which ships the fitted model to the workers.
"""
from __future__ import annotations

from typing import Any

from .taxonomy import LABELS

__all__ = ["classify_bag", "classify_dataframe", "segment_bag", "assign_topics_bag"]


def _dask():
    try:
        import dask  # noqa: F401
    except ImportError as error:
        raise ImportError("darien_nlp.distributed needs Dask: pip install 'darien-nlp[dask]'") from error


def _records(texts: list, model: Any, threshold: float | None) -> list[dict]:
    from .api import classify

    predictions = classify([("" if t is None else t) for t in texts], model=model, threshold=threshold)
    return [{"labels": list(p.labels), "scores": dict(p.scores), "language": p.language} for p in predictions]


def classify_bag(bag, *, model: str = "default", threshold: float | None = None):
    """A bag of texts -> a bag of ``{"labels", "scores", "language"}`` dicts, in the same order.

    ``model`` must be a name or a folder path (a loaded model is not shipped to workers)."""
    _dask()
    if not isinstance(model, str):
        raise TypeError("classify_bag: model must be a model name or folder path that every worker can load")
    return bag.map_partitions(lambda texts: _records(list(texts), model, threshold))


def classify_dataframe(frame, text_column: str = "text", *, model: str = "default", threshold: float | None = None):
    """A Dask DataFrame -> the same with ``labels`` and ``score_<label>`` columns (see :func:`classify_dataset`)."""
    _dask()
    import pandas as pd

    from .api import classify_dataset

    if not isinstance(model, str):
        raise TypeError("classify_dataframe: model must be a model name or folder path that every worker can load")
    if text_column not in frame.columns:
        raise ValueError(f"classify_dataframe: no column {text_column!r}; columns are {list(frame.columns)}")
    meta = frame._meta.copy()
    meta["labels"] = pd.Series([], dtype=object)
    for label in LABELS:
        meta[f"score_{label}"] = pd.Series([], dtype="float64")
    return frame.map_partitions(lambda part: classify_dataset(part, text_column, model=model, threshold=threshold),
                                meta=meta)


def segment_bag(documents, *, max_chars: int = 600, context_chars: int | None = None):
    """A bag of :class:`darien_nlp.corpus.Document` (or dicts with ``id``/``text``) -> a bag of passage dicts
    (``doc_id``, ``passage_id``, ``start``, ``end``, ``text``, and ``context`` when ``context_chars`` is set)."""
    _dask()

    def cut(items):
        from .corpus import Document, context_window, normalise, segment

        out = []
        for item in items:
            document = item if isinstance(item, Document) else Document(doc_id=str(item["id"]),
                                                                         text=normalise(item["text"]))
            for passage in segment(document, max_chars=max_chars):
                row = {"doc_id": document.doc_id, "passage_id": passage.passage_id, "start": passage.start,
                       "end": passage.end, "text": passage.text}
                if context_chars is not None:
                    row["context"] = context_window(document.text, passage.start, passage.end, context_chars)
                out.append(row)
        return out

    return documents.map_partitions(cut)


def assign_topics_bag(bag, topic_model):
    """A bag of passage texts -> a bag of topic ids from a fitted :class:`darien_nlp.topics.TopicModel`
    (its ``transform``), computed per partition on the workers."""
    _dask()
    if not hasattr(topic_model, "transform"):
        raise TypeError("assign_topics_bag needs a fitted TopicModel (with transform)")
    return bag.map_partitions(lambda texts: [int(t) for t in topic_model.transform(list(texts))])
