"""The two records every layer passes around: ``Document`` and ``Passage``."""
from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["Document", "Passage", "text_sha256"]


def text_sha256(text: str) -> str:
    """The hex sha256 of ``text`` encoded as UTF-8 (used to pin passages by reference).

    >>> text_sha256("abc")[:12]
    'ba7816bf8f01'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Document:
    """One release: normalised ``text`` plus where it came from.

    ``text`` is the output of :func:`darien_nlp.corpus.normalise`; passages
    point into it by character offsets.

    >>> Document(doc_id="d1", text="Hello.").title is None
    True
    """

    doc_id: str
    text: str
    title: str | None = None
    date: _dt.date | None = None
    source: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (the date as ISO string) for JSON, pandas or ``datasets``."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "source": self.source,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class Passage:
    """A unit the classifier labels: a span ``[start, end)`` of its document's text.

    ``kind`` is ``"text"`` or ``"item"`` for content, or ``"heading"``,
    ``"dateline"``, ``"byline"``, ``"attendees"``, ``"boilerplate"`` for spans
    the segmenter marks as carrying no policy content.  ``lead`` is the short
    lead-in sentence of a list item that is a sentence fragment (context for
    readers; it is not part of ``text``).
    """

    passage_id: str
    doc_id: str
    index: int
    start: int
    end: int
    text: str
    kind: str = "text"
    lead: str | None = None

    @property
    def sha256(self) -> str:
        """The hex sha256 of the passage text."""
        return text_sha256(self.text)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict for JSON, pandas or ``datasets``."""
        return {
            "passage_id": self.passage_id,
            "doc_id": self.doc_id,
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "kind": self.kind,
            "lead": self.lead,
        }
