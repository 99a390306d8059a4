"""A corpus -> one flat table of passages for topic modelling, with duplicate documents removed and counted.

Only what later views need is kept per passage (text, ids, offsets, month,
source); documents are streamed, so a corpus is never held as ``Document``
objects.

>>> table = collect_passages(["Smugglers crossed the jungle. Police arrested them.", "Smugglers crossed the jungle. Police arrested them."])
>>> table.documents, table.duplicate_documents, len(table)
(1, 1, 1)
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["PassageTable", "collect_passages"]


@dataclass
class PassageTable:
    """Passages of a corpus as parallel lists (one entry per passage) plus what was dropped."""

    texts: list[str] = field(default_factory=list)
    passage_ids: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    months: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    #: each passage with up to ``context_chars`` characters of its document on each side (empty: not collected)
    contexts: list[str] = field(default_factory=list)
    #: with contexts: the documents, with every passage and context registered as a span of its document,
    #: so the classifier's static models tokenise each document once (at most 500 at a time)
    #: (``with darien_nlp.embed.static.document_spans(table.spans): ...``; the results are the same)
    spans: Any = None
    documents: int = 0
    duplicate_documents: int = 0
    undated_documents: int = 0
    documents_without_passages: int = 0
    skipped_records: int = 0
    short_passages: int = 0

    def __len__(self) -> int:
        return len(self.texts)

    def month_array(self) -> np.ndarray:
        """Months as an object array (``""`` for undated passages)."""
        return np.array(self.months, dtype=object)

    def summary(self) -> dict[str, int]:
        """The counts for a report or ``metrics.json``."""
        return {"documents": self.documents, "duplicate_documents": self.duplicate_documents,
                "undated_documents": self.undated_documents,
                "documents_without_passages": self.documents_without_passages,
                "skipped_records": self.skipped_records, "short_passages": self.short_passages,
                "passages": len(self)}


def collect_passages(source: Any, *, max_chars: int = 600, min_chars: int = 0, source_field: str = "section",
                     limit_documents: int | None = None, context_chars: int | None = None,
                     **load_options) -> PassageTable:
    """Load ``source`` (anything :func:`~darien_nlp.corpus.load_corpus` reads) and segment it.

    Documents whose normalised text repeats an earlier one are dropped and
    counted in ``duplicate_documents``. ``source_field`` names the record field
    (kept in ``Document.meta``) used for per-source views; the file name is
    used when it is absent. Passages shorter than ``min_chars`` (transcript
    turns such as "Q Thank you." carry no topic) are left out and counted in
    ``short_passages``. With ``context_chars``, ``contexts`` holds each passage with that many
    characters of its document on each side (what a context-reading classifier needs).
    """
    from ..corpus import load_corpus, segment

    load_options.setdefault("on_error", "skip")
    corpus = load_corpus(source, **load_options)
    table = PassageTable()
    if context_chars:
        from ..embed.static import DocumentSpans

        table.spans = DocumentSpans()
    seen: set[bytes] = set()
    for document in corpus:
        if limit_documents is not None and table.documents + table.duplicate_documents >= limit_documents:
            break
        digest = hashlib.sha256(document.text.encode("utf-8")).digest()[:16]
        if digest in seen:
            table.duplicate_documents += 1
            continue
        seen.add(digest)
        table.documents += 1
        month = f"{document.date.year:04d}-{document.date.month:02d}" if document.date else ""
        if not month:
            table.undated_documents += 1
        origin = str(document.meta.get(source_field) or "") or _file_source(document)
        passages = segment(document, max_chars=max_chars)
        if not passages:
            table.documents_without_passages += 1
        kept = [passage for passage in passages if len(passage.text) >= min_chars]
        table.short_passages += len(passages) - len(kept)
        for passage in kept:
            table.texts.append(passage.text)
            table.passage_ids.append(passage.passage_id)
            table.doc_ids.append(passage.doc_id)
            table.starts.append(passage.start)
            table.ends.append(passage.end)
            table.months.append(month)
            table.sources.append(origin)
        if context_chars and kept:
            table.contexts += table.spans.add_passages(document.text, kept, context_chars)
    table.skipped_records = len(corpus.report.skipped)
    return table


def _file_source(document) -> str:
    """A folder corpus's file names carry the section before ``__`` (``briefings-statements__...``)."""
    head = document.doc_id.split("__", 1)[0] if "__" in document.doc_id else ""
    return head or "unknown"
