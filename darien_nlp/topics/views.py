"""Tables built from topic assignments: category mix, per-label view, over time, by source, per document.

Every function takes plain arrays (one entry per passage) and returns a pandas
``DataFrame``, so the same views work for a fitted model, a loaded one, or
assignments read back from ``topics.csv``.

>>> import numpy as np
>>> mix = category_mix(np.array([0, 0, 1]), np.array([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 0, 0, 1]]))
>>> float(mix.loc[0, "enforcement"]), float(mix.loc[0, "lawful_pathways"])
(1.0, 0.5)
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from ..taxonomy import LABELS

__all__ = ["resolve_classifier", "predict_label_matrix", "category_mix", "label_view", "month_keys",
           "topics_over_time", "category_shares_over_time", "topics_by_source", "document_topics", "event_signals"]

logger = logging.getLogger(__name__)


def resolve_classifier(classifier: Any = None):
    """A fitted classifier from an instance, a model name or folder, or ``None`` (the default model).

    Anything with ``predict_proba`` and ``thresholds_`` is used as given (a ``PolicyClassifier``).

    Raises ``FileNotFoundError`` when the named or default model folder does not exist.

    >>> resolve_classifier("no-such-model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: No model folder at ...
    """
    from ..api import load_model

    return load_model("default" if classifier is None else classifier)


def predict_label_matrix(texts: Sequence[str], classifier, *, batch_size: int = 20_000,
                         progress: bool = False, contexts: Sequence[str] | None = None) -> np.ndarray:
    """The classifier's 0/1 labels (n, 5) in :data:`~darien_nlp.taxonomy.LABELS` order, batch by batch.

    With ``contexts`` (one per text) a classifier that reads context gets ``(text, context)`` pairs."""
    if contexts is not None and len(contexts) != len(texts):
        raise ValueError(f"contexts has {len(contexts)} items but there are {len(texts)} texts")
    paired = contexts is not None and bool(getattr(classifier, "uses_context", False))
    output = np.zeros((len(texts), len(LABELS)), dtype=np.uint8)
    starts = range(0, len(texts), batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="classifying", unit="batch")
    for start in starts:
        batch = [text[:4000] for text in texts[start:start + batch_size]]
        if paired:
            batch = list(zip(batch, (c[:6000] for c in contexts[start:start + batch_size])))
        # predict_proba + thresholds_ is what both PolicyClassifier and the API's loaded predictor offer.
        output[start:start + len(batch)] = classifier.predict_proba(batch) >= classifier.thresholds_
    return output


def category_mix(topics: np.ndarray, labels: np.ndarray):
    """Per topic: passages, and the share of its passages carrying each label (rows: topic id).

    A passage can carry several labels (or none), so a row's shares need not sum to 1.
    """
    import pandas as pd

    topics = np.asarray(topics)
    frame = pd.DataFrame(np.asarray(labels, dtype=np.float64), columns=list(LABELS))
    frame["topic"] = topics
    mix = frame.groupby("topic")[list(LABELS)].mean()
    mix.insert(0, "passages", frame.groupby("topic").size())
    return mix


def label_view(topics: np.ndarray, labels: np.ndarray, *, top: int = 5):
    """For each label, the topics that carry most of its passages: ``label, topic, passages, share_of_label``.

    >>> view = label_view(np.array([0, 1, 1]), np.array([[0, 0, 0, 0, 1]] * 3))
    >>> view[view.label == "environment"].topic.tolist()
    [1, 0]
    """
    import pandas as pd

    topics = np.asarray(topics)
    labels = np.asarray(labels)
    rows = []
    for j, label in enumerate(LABELS):
        carrying = topics[labels[:, j] == 1]
        if carrying.size == 0:
            continue
        ids, counts = np.unique(carrying, return_counts=True)
        order = np.lexsort((ids, -counts))[:top]
        rows += [{"label": label, "topic": int(ids[k]), "passages": int(counts[k]),
                  "share_of_label": float(counts[k] / carrying.size)} for k in order]
    return pd.DataFrame(rows, columns=["label", "topic", "passages", "share_of_label"])


def month_keys(dates: Sequence[Any]) -> np.ndarray:
    """``"YYYY-MM"`` for each date (``""`` where a date is missing).

    >>> import datetime
    >>> month_keys([datetime.date(2023, 2, 16), None]).tolist()
    ['2023-02', '']
    """
    return np.array([f"{d.year:04d}-{d.month:02d}" if d is not None else "" for d in dates], dtype=object)


def topics_over_time(topics: np.ndarray, months: np.ndarray):
    """Passages per topic and month (``month, topic, passages, share``); undated passages are skipped.

    ``share`` is the topic's share of that month's passages. The number of
    skipped passages is in ``frame.attrs["undated_passages"]``.

    >>> frame = topics_over_time(np.array([0, 1, 0]), np.array(["2024-01", "2024-01", ""]))
    >>> frame.share.tolist(), frame.attrs["undated_passages"]
    ([0.5, 0.5], 1)
    """
    import pandas as pd

    months = np.asarray(months, dtype=object)
    dated = months != ""
    frame = pd.DataFrame({"month": months[dated], "topic": np.asarray(topics)[dated]})
    counts = frame.groupby(["month", "topic"]).size().rename("passages").reset_index()
    totals = counts.groupby("month").passages.transform("sum")
    counts["share"] = counts.passages / totals
    counts.attrs["undated_passages"] = int((~dated).sum())
    return counts


def category_shares_over_time(labels: np.ndarray, months: np.ndarray):
    """Per month: passages and the share carrying each label; undated passages are skipped (see ``attrs``).

    >>> frame = category_shares_over_time(np.array([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]]), np.array(["2024-01", "2024-02"]))
    >>> frame.enforcement.tolist()
    [1.0, 0.0]
    """
    import pandas as pd

    months = np.asarray(months, dtype=object)
    dated = months != ""
    frame = pd.DataFrame(np.asarray(labels, dtype=np.float64)[dated], columns=list(LABELS))
    frame["month"] = months[dated]
    shares = frame.groupby("month")[list(LABELS)].mean()
    shares.insert(0, "passages", frame.groupby("month").size())
    shares = shares.reset_index()
    shares.attrs["undated_passages"] = int((~dated).sum())
    return shares


def topics_by_source(topics: np.ndarray, sources: Sequence[Any]):
    """Passages per topic and source (e.g. a release section): ``source, topic, passages, share``.

    >>> topics_by_source(np.array([0, 0, 1]), ["a", "b", "b"]).passages.tolist()
    [1, 1, 1]
    """
    import pandas as pd

    frame = pd.DataFrame({"source": [s if s else "unknown" for s in sources], "topic": np.asarray(topics)})
    counts = frame.groupby(["source", "topic"]).size().rename("passages").reset_index()
    counts["share"] = counts.passages / counts.groupby("source").passages.transform("sum")
    return counts


def document_topics(topics: np.ndarray, doc_ids: Sequence[str]):
    """Passage topics aggregated to documents: ``doc_id, passages, topic`` (most frequent non-outlier), ``share``.

    >>> document_topics(np.array([2, 2, -1, 3]), ["a", "a", "a", "b"]).topic.tolist()
    [2, 3]
    """
    import pandas as pd

    frame = pd.DataFrame({"doc_id": list(doc_ids), "topic": np.asarray(topics)})
    sizes = frame.groupby("doc_id", sort=False).size().rename("passages")
    assigned = frame[frame.topic != -1]
    counts = assigned.groupby(["doc_id", "topic"], sort=False).size().rename("count").reset_index()
    counts = counts.sort_values(["doc_id", "count", "topic"], ascending=[True, False, True])
    best = counts.drop_duplicates("doc_id").set_index("doc_id")
    out = sizes.to_frame().join(best, how="left")
    out["topic"] = out.topic.fillna(-1).astype(int)
    out["share"] = (out["count"].fillna(0) / out.passages).astype(float)
    return out.drop(columns="count").reset_index()


def event_signals(over_time, events: list[dict]) -> list[dict]:
    """Does each event show in its topic's curve?  For ``events`` (``name``, ``month`` "YYYY-MM",
    ``topic``): the topic's share of the event month's passages (and of the month after, news of an
    event spills over), its median monthly share, their ratio, the topic's peak month and the event
    month's rank among all months (1: the topic's highest month).

    >>> import pandas as pd
    >>> frame = topics_over_time(np.array([0, 1, 1, 0, 1, 1, 1, 1]),
    ...                          np.array(["2022-05"] * 2 + ["2022-06"] * 2 + ["2022-07"] * 4))
    >>> signal = event_signals(frame, [{"name": "x", "month": "2022-06", "topic": 0}])[0]
    >>> signal["share"], signal["median_share"], signal["rank"]
    (0.5, 0.5, 1)
    """
    months = sorted(over_time.month.unique())
    out = []
    for event in events:
        series = over_time[over_time.topic == event["topic"]].set_index("month").share.reindex(months, fill_value=0.0)
        month, topic = event["month"], event["topic"]
        if month not in series.index:
            out.append({**event, "share": None, "next_month_share": None, "median_share": float(series.median()) if len(series) else None,
                        "ratio": None, "peak_month": series.idxmax() if len(series) else None, "rank": None})
            continue
        position = months.index(month)
        share = float(series[month])
        following = float(series.iloc[position + 1]) if position + 1 < len(series) else None
        median = float(series.median())
        rank = int((series > share).sum()) + 1
        out.append({**event, "share": round(share, 5), "next_month_share": None if following is None else round(following, 5),
                    "median_share": round(median, 5), "ratio": round(share / median, 2) if median > 0 else None,
                    "peak_month": str(series.idxmax()), "rank": rank, "months": len(months)})
    return out
