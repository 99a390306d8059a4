"""The calls other pipelines make: ``classify``, ``classify_document``, ``classify_dataset``.

The default model (``models/policy-bilingual-scope``: English and Spanish through one shared
word space, with a scope head) is loaded once, lazily, and cached; loading is guarded by a lock and prediction holds no shared mutable
state, so the functions are safe to call from many threads.

>>> import darien_nlp
>>> darien_nlp.classify("Dismantle the smuggling networks that prey on migrants.").labels  # doctest: +SKIP
('enforcement', 'humanitarian')
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from ._chars import has_lone_surrogate, replace_lone_surrogates
from .corpus import Document, Passage, segment
from .corpus.language import detect_language
from .taxonomy import LABELS

logger = logging.getLogger(__name__)

__all__ = ["Prediction", "DocumentPrediction", "classify", "classify_document", "classify_dataset",
           "load_model", "default_model_path", "MAX_CHARS", "DEFAULT_MODEL"]

#: Texts longer than this are truncated before classification (use ``classify_document`` for
#: long texts: it segments them into passages first).  The static model reads at most 256
#: tokens anyway; the cut keeps tokenising a 5 MB string from costing seconds.
MAX_CHARS = 4_000
#: English and Spanish read through one shared word space (static-usem3-v1 beside the English static
#: model), trained on the US-government gold and the Mexican Presidency / UNDP training set, with a
#: scope head; ``policy-static`` (English only, the default until 2026-12-07) stays shipped.
DEFAULT_MODEL = "policy-bilingual-scope"

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Prediction:
    """The labels of one text: ids at or above threshold (taxonomy order) and every label's score.

    ``language`` and ``mixed_language`` are detected offline from the text's first 300 characters
    (:func:`darien_nlp.corpus.language.detect_language`) the first time either is read, so a
    pipeline that never asks pays nothing for them.
    """

    labels: tuple[str, ...]
    scores: Mapping[str, float]
    length: int
    truncated: bool = False
    #: The model's scope score: probability that the text is about human mobility at all
    #: (:mod:`darien_nlp.scope`); ``None`` for a model without a scope head.
    scope: float | None = None
    #: The start of the text, kept for the language detection.
    text_head: str = field(default="", repr=False, compare=False)
    _detected: Any = field(default=None, init=False, repr=False, compare=False)

    def _language(self):
        detected = self._detected
        if detected is None:  # computed once; two threads racing compute the same immutable value
            detected = detect_language(self.text_head)
            object.__setattr__(self, "_detected", detected)
        return detected

    @property
    def language(self) -> str:
        """ISO 639-1 code detected offline; ``"und"`` when the text is too short or holds no words."""
        return self._language().language

    @property
    def mixed_language(self) -> bool:
        """The text mixes English and Spanish."""
        return self._language().mixed

    @property
    def supported_language(self) -> bool:
        """False for a language the models were not built for: the labels are then a guess."""
        from .corpus.language import SUPPORTED_LANGUAGES

        return self.language in SUPPORTED_LANGUAGES

    def __contains__(self, label: str) -> bool:
        return label in self.labels


@dataclass(frozen=True)
class DocumentPrediction:
    """Per-passage predictions of one document plus a document-level summary."""

    doc_id: str
    passages: list[tuple[Passage, Prediction]]
    label_shares: dict[str, float] = field(default_factory=dict)
    strongest: dict[str, list[tuple[Passage, float]]] = field(default_factory=dict)


def default_model_path(model: str | Path = "default") -> Path:
    """Resolve ``"default"``, a model name in ``models/`` or a folder path to a model folder."""
    from .embed.static import models_dir

    if isinstance(model, Path) or (isinstance(model, str) and ("/" in model or "\\" in model)):
        path = Path(model)
    elif isinstance(model, str):
        path = models_dir() / (DEFAULT_MODEL if model == "default" else model)
    else:
        raise TypeError(f"model must be a name or a path, got {type(model).__name__}")
    if not path.is_dir():
        shipped = models_dir()
        known = sorted(p.name for p in shipped.iterdir() if (p / "manifest.json").is_file()) if shipped.is_dir() else []
        raise FileNotFoundError(
            f"No model folder at {str(path)!r}. Shipped models live in models/ (set DARIEN_NLP_MODELS "
            f"to another folder): {', '.join(known) or 'none found'} ('darien-nlp models list' shows them); "
            "train one with: darien-nlp experiment run experiments/train_policy_bilingual_scope.toml"
        )
    return path


def load_model(model: Any = "default"):
    """Return a loaded predictor (cached per folder; thread-safe).

    ``model`` is ``"default"``, a model name in ``models/``, a folder, or any fitted
    object with ``predict_proba`` and ``thresholds_`` (e.g. a :class:`PolicyClassifier`).
    """
    from .inference import load_predictor

    if hasattr(model, "predict_proba") and hasattr(model, "thresholds_"):
        return model
    path = default_model_path(model)
    key = str(path.resolve())
    cached = _MODELS.get(key)
    if cached is not None:
        return cached
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = load_predictor(path)
        return _MODELS[key]


def _check_threshold(threshold):
    if threshold is None:
        return None
    import numbers

    # numbers.Real: numpy scalars (np.float32(0.5)) are thresholds too; NaN fails the range test
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"The 'threshold' parameter of classify must be a float in [0, 1] or None. Got {threshold!r} instead.")
    return float(threshold)


def _context_chars(classifier) -> int | None:
    """The context window a loaded model reads, or ``None`` for a model that reads passages alone."""
    return getattr(classifier, "context_chars", None)


def _check_context(context, n: int) -> list[str | None]:
    """One context per item: ``None``, a str shared by every item, or a sequence of str/None."""
    if context is None:
        return [None] * n
    if isinstance(context, (bytes, bytearray)):
        raise TypeError("classify(): context must be str, got bytes: decode it first")
    if isinstance(context, str):
        return [context] * n
    if not isinstance(context, Iterable):
        raise TypeError(f"classify(): context must be a str, a list of str or None, got {type(context).__name__}")
    contexts = list(context)
    if len(contexts) != n:
        raise ValueError(f"classify(): {n} texts but {len(contexts)} contexts; give one context per text")
    for position, value in enumerate(contexts):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"classify(): context {position} is a {type(value).__name__}, not a str or None")
    return contexts


def classify(texts: str | Iterable[str], *, model: Any = "default", threshold: float | None = None,
             strict: bool = False, context: str | Iterable[str | None] | None = None) -> Prediction | list[Prediction]:
    """Label a string (-> one :class:`Prediction`) or an iterable of strings (-> a list, in order).

    Empty and whitespace-only strings get a prediction with no labels and zero
    scores (``strict=True`` raises instead).  Texts over :data:`MAX_CHARS`
    characters are truncated and flagged ``truncated=True``.

    ``context`` is the text around each passage in its document (a str for all
    of them, or one str or ``None`` per text).  The annotation guide labels a
    passage also through the document it sits in, and the default model reads
    the context beside the passage (its first 256 tokens or so; a window of
    about 600 characters each side works best, as :func:`classify_document`
    builds).  Without a context a passage is read alone.  Models without the
    ``context`` backend ignore it.

    >>> [p.labels for p in classify(["", "   "])]  # doctest: +SKIP
    [(), ()]
    """
    single = isinstance(texts, str)
    if texts is None:
        raise TypeError("classify() needs a string or an iterable of strings, got None")
    if isinstance(texts, (bytes, bytearray)):
        raise TypeError("classify() needs str, got bytes: decode it first, e.g. data.decode('utf-8')")
    if not single and not isinstance(texts, Iterable):
        raise TypeError(f"classify() needs a string or an iterable of strings, got {type(texts).__name__}")
    if isinstance(texts, Mapping):
        raise TypeError(f"classify() needs a string or an iterable of strings, got a {type(texts).__name__} "
                        "(iterating it would classify its keys); pass list(d.values()) or the texts you mean")
    items = [texts] if single else list(texts)
    for position, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(f"classify(): item {position} is a {type(text).__name__}, not a str")
    contexts = _check_context(context, len(items))
    cut = _check_threshold(threshold)
    predictions = _predict(items, model=model, threshold=cut, strict=strict, contexts=contexts)
    return predictions[0] if single else predictions


def _scrub(texts: Sequence[str], where: str) -> list[str]:
    """Texts with lone surrogate code points (not valid Unicode: no tokenizer or UTF-8 encoder takes them)
    get U+FFFD in their place, one for one (lengths and offsets kept), and a warning names the items."""
    out = list(texts)
    bad = [i for i, text in enumerate(out) if has_lone_surrogate(text)]
    for i in bad:
        out[i] = replace_lone_surrogates(out[i])
    if bad:
        logger.warning("%s: item(s) %s hold lone surrogate code points (not valid Unicode); replaced with U+FFFD",
                       where, bad[:10] + (["..."] if len(bad) > 10 else []))
    return out


def _predict(items: Sequence[str], *, model, threshold, strict,
             contexts: Sequence[str | None] | None = None, scrubbed: bool = False) -> list[Prediction]:
    """Predictions for ``items``; ``scrubbed``: the texts (and contexts) are cut from documents that
    :func:`_prepare_document` already scrubbed."""
    if not scrubbed:
        items = _scrub(items, "classify")
    if contexts is not None and not scrubbed:
        clean = _scrub([c or "" for c in contexts], "classify (context)")
        contexts = [None if c is None else text for c, text in zip(contexts, clean)]
    # a text with something besides whitespace (what text.strip() keeps); checked in C when all have
    present = range(len(items)) if all(items) and not any(map(str.isspace, items)) else \
        [i for i, text in enumerate(items) if text and not text.isspace()]
    if strict and len(present) < len(items):
        empty = next(i for i, text in enumerate(items) if not text.strip())
        raise ValueError(f"classify(strict=True): item {empty} is empty or whitespace only")
    results: list[Prediction | None] = [None] * len(items)
    if present:
        classifier = load_model(model)
        if contexts is not None and _context_chars(classifier) is not None and any(c is not None for c in contexts):
            batch = [(items[i][:MAX_CHARS], None if contexts[i] is None else contexts[i][:MAX_CHARS]) for i in present]
        elif len(present) == len(items) and max(map(len, items)) <= MAX_CHARS:
            batch = list(items)
        else:
            batch = [items[i][:MAX_CHARS] for i in present]
        if hasattr(classifier, "predict_scored"):
            probabilities, scope = classifier.predict_scored(batch)
        else:
            probabilities, scope = classifier.predict_proba(batch), None
        cuts = classifier.thresholds_ if threshold is None else np.full(len(LABELS), threshold)
        # one bit per label -> the label tuple, and plain floats in one call: no per-cell numpy scalars
        codes = ((probabilities >= cuts) * (1 << np.arange(len(LABELS)))).sum(axis=1).tolist()
        tuples = {code: tuple(label for j, label in enumerate(LABELS) if code >> j & 1) for code in set(codes)}
        rows = probabilities.tolist()
        scopes = repeat(None) if scope is None else np.asarray(scope, dtype=float).tolist()
        texts = items if len(present) == len(items) else [items[i] for i in present]
        lengths = list(map(len, texts))
        # one Prediction per row, the loop in C (map): labels, scores, length, truncated, scope and the
        # first 300 characters (about 50 words tell the language; reading more only costs time)
        made = map(Prediction, map(tuples.__getitem__, codes), map(dict, map(zip, repeat(LABELS), rows)), lengths,
                   map(MAX_CHARS.__lt__, lengths), scopes, [text[:300] for text in texts])
        if len(present) == len(items):
            results = list(made)
        else:
            for i, prediction in zip(present, made):
                results[i] = prediction
    zero = {label: 0.0 for label in LABELS}
    return [r if r is not None else Prediction((), dict(zero), len(items[i])) for i, r in enumerate(results)]


def _prepare_document(document, caller: str, position: int | None = None) -> Document:
    """A Document for ``document``; a raw string gets doc_id ``"text"`` (``"text-<position>"`` in a stream)."""
    if isinstance(document, str):
        from .corpus import normalise

        document = Document(doc_id="text" if position is None else f"text-{position}", text=normalise(document))
    if not isinstance(document, Document):
        raise TypeError(f"{caller}() needs a str or a Document, got {type(document).__name__}")
    clean = _scrub([document.text], f"{caller}({document.doc_id!r})")[0]
    if clean is not document.text:  # U+FFFD one for one: passage offsets still point into the caller's text
        import dataclasses

        document = dataclasses.replace(document, text=clean)
    return document


def _summarise(document: Document, passages, predictions, top: int) -> DocumentPrediction:
    pairs = list(zip(passages, predictions))
    shares = {label: (sum(label in p.labels for p in predictions) / len(predictions) if predictions else 0.0)
              for label in LABELS}
    strongest = {}
    for label in LABELS:
        ranked = sorted(((passage, pred.scores[label]) for passage, pred in pairs if label in pred.labels),
                        key=lambda pair: -pair[1])
        if ranked:
            strongest[label] = ranked[:top]
    return DocumentPrediction(doc_id=document.doc_id, passages=pairs, label_shares=shares, strongest=strongest)


def _check_top(top, caller: str) -> None:
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise ValueError(f"The 'top' parameter of {caller} must be an int >= 0. Got {top!r} instead.")


def classify_documents(documents: Iterable[str | Document], *, model: Any = "default", threshold: float | None = None,
                       max_chars: int = 600, top: int = 3, batch_passages: int = 20_000) -> Iterator[DocumentPrediction]:
    """:func:`classify_document` for many documents, batching their passages together (faster than one
    call per document: the model scores up to ``batch_passages`` passages at a time).  A generator: yields one
    :class:`DocumentPrediction` per document, in order (a raw string's ``doc_id`` is ``"text-<its position>"``),
    as soon as its batch is scored; the results
    equal ``classify_document`` on each (scores to float rounding).  Documents are read lazily, so a stream stays in constant memory."""
    _check_top(top, "classify_documents")
    cut = _check_threshold(threshold)
    if isinstance(documents, (str, Document)):
        raise TypeError("classify_documents() needs an iterable of documents; for one, use classify_document()")
    classifier = load_model(model)
    pending: list[tuple[Document, list]] = []
    size = 0

    def flush():
        predictions = _classify_passages(pending, classifier, cut)
        at = 0
        for document, passages in pending:
            yield _summarise(document, passages, predictions[at:at + len(passages)], top)
            at += len(passages)
        pending.clear()

    for position, item in enumerate(documents):
        document = _prepare_document(item, "classify_documents", position)
        passages = segment(document, max_chars=max_chars)
        pending.append((document, passages))
        size += len(passages)
        if size >= batch_passages:
            yield from flush()
            size = 0
    yield from flush()


def classify_document(document: str | Document, *, model: Any = "default", threshold: float | None = None,
                      max_chars: int = 600, top: int = 3) -> DocumentPrediction:
    """Segment a document (or raw text) and label each passage; summarise per label.

    A model that reads context (the default) gets each passage with the text
    around it (its ``window`` characters each side, see
    :func:`darien_nlp.corpus.context_window`).  ``label_shares`` is the share of
    passages carrying each label; ``strongest`` lists the ``top``
    highest-scoring labelled passages per label.  For many documents,
    :func:`classify_documents` batches their passages together.
    """
    _check_top(top, "classify_document")
    cut = _check_threshold(threshold)
    document = _prepare_document(document, "classify_document")
    passages = segment(document, max_chars=max_chars)
    predictions = _classify_passages([(document, passages)], load_model(model), cut) if passages else []
    return _summarise(document, passages, predictions, top)


def _classify_passages(pending, classifier, cut) -> list[Prediction]:
    """Predictions for the passages of ``pending`` (``(document, passages)`` pairs, documents from
    :func:`_prepare_document`, so scrubbed already), each read in its context window when the model
    reads context; the static models tokenise each document once."""
    from .embed.static import document_spans

    texts, contexts, registry = _passages_in_context(pending, _context_chars(classifier))
    if not texts:
        return []
    with document_spans(registry):
        return _predict(texts, model=classifier, threshold=cut, strict=False, contexts=contexts, scrubbed=True)


def _passages_in_context(pending, window):
    """The passages' texts and (for a model that reads context, ``window`` not None) their context windows,
    with a registry that knows both as spans of their documents, so the static models tokenise each
    document once (:class:`darien_nlp.embed.static.DocumentSpans`; the results are the same)."""
    from .embed.static import DocumentSpans

    registry = DocumentSpans()
    contexts = registry.add_documents([(document.text, passages) for document, passages in pending], window)
    return [p.text for _, passages in pending for p in passages], contexts, registry


def _dataset_text(value, position: int, column: str) -> str:
    """A text cell as a str: missing values (None, NaN, pandas NA/NaT) are empty; anything else that is
    not a str is refused, naming the row."""
    if value is None or (isinstance(value, float) and value != value) or type(value).__name__ in ("NAType", "NaTType"):
        return ""
    if isinstance(value, str):
        return value
    raise TypeError(f"classify_dataset(): row {position} of column {column!r} is a {type(value).__name__} "
                    f"({value!r}), not text; convert the column (e.g. .astype(str)) if that is intended")


def classify_dataset(data, text_column: str = "text", *, model: Any = "default", threshold: float | None = None,
                     batch_size: int = 2048, overwrite: bool = False):
    """Add ``labels`` and ``score_<label>`` columns to a ``datasets.Dataset`` or pandas ``DataFrame``.

    Columns of those names already in ``data`` are refused (naming them) unless ``overwrite=True``.
    A ``Dataset`` is processed with batched ``.map``; a ``DataFrame`` gets a new copy.
    Missing values in the text column (``None``, ``NaN``, pandas ``NA``) are treated as empty (no
    labels); a column that holds anything else but text is refused before any row is classified.
    """
    classifier = load_model(model)
    cut = _check_threshold(threshold)
    columns = getattr(data, "column_names", None)
    if columns is None and hasattr(data, "columns"):
        columns = list(data.columns)
    if columns is None:
        raise TypeError(f"classify_dataset() needs a datasets.Dataset or a pandas DataFrame, got {type(data).__name__}")
    if text_column not in columns:
        raise ValueError(f"classify_dataset(): no column {text_column!r}; columns are {list(columns)}")
    taken = [name for name in ("labels", *(f"score_{label}" for label in LABELS)) if name in columns]
    if taken and not overwrite:
        raise ValueError(f"classify_dataset(): the data already has column(s) {taken}, which this would replace; "
                         "rename them, or pass overwrite=True")
    if taken and text_column in taken:
        raise ValueError(f"classify_dataset(): the text column {text_column!r} would be replaced by the output")

    if hasattr(data, "features"):  # a Dataset: refuse a column that is not text before mapping anything
        dtype = getattr(data.features.get(text_column), "dtype", None)
        if dtype not in ("string", "large_string", "null"):  # "null": a column of missing values only
            raise TypeError(f"classify_dataset(): column {text_column!r} holds {dtype or data.features.get(text_column)}, "
                            "not text; cast it first (dataset.cast_column) if that is intended")

    def label_batch(texts):
        texts = [_dataset_text(t, position, text_column) for position, t in enumerate(texts)]
        predictions = _predict(texts, model=classifier, threshold=cut, strict=False)
        out = {"labels": [list(p.labels) for p in predictions]}
        for label in LABELS:
            out[f"score_{label}"] = [p.scores[label] for p in predictions]
        return out

    if hasattr(data, "map") and hasattr(data, "column_names"):
        return data.map(lambda batch: label_batch(batch[text_column]), batched=True, batch_size=batch_size)
    frame = data.copy()
    values = list(frame[text_column])
    for position, value in enumerate(values):  # every row checked before any is classified
        _dataset_text(value, position, text_column)
    for name, values in label_batch(values).items():
        frame[name] = values
    return frame
