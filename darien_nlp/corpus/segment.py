"""Normalised document text -> passages with character offsets.

A passage is a paragraph, a list item, or a window of whole sentences cut
from a paragraph longer than ``max_chars``.  Headings, datelines, bylines,
attendee lists and boilerplate are recognised by rule and marked with their
``kind``; :func:`segment` leaves them out unless ``keep_all=True``.

Offsets round-trip: ``document.text[p.start:p.end] == p.text``.

>>> from darien_nlp.corpus import Document
>>> doc = Document("d", "Title\\n\\nThe border is closed. Aid arrives.")
>>> [p.text for p in segment(doc)]
['The border is closed. Aid arrives.']
"""
from __future__ import annotations

import re
from typing import Iterator

from .document import Document, Passage, text_sha256

__all__ = ["SEGMENTER_VERSION", "segment", "split_sentences", "CONTENT_KINDS", "context_window", "context_span"]

SEGMENTER_VERSION = "segment.v1"
CONTENT_KINDS = frozenset({"text", "item"})

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr no nos gen sen rep reps gov lt col sgt capt adm amb hon inc ltd co "
    "corp vs etc e.g i.e u.s u.n u.k d.c a.m p.m jan feb mar apr jun jul aug sep sept oct nov "
    "dec fig art sec para op approx dept est mt ft pres vol pp ph".split()
)
#: How far back from a full stop the abbreviation check reads: longer "words" are never abbreviations.
_TOKEN_REACH = 40
_BOUNDARY = re.compile(r"[.!?]+[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9¿¡])")
_ITEM_MARKER = re.compile(r"^(?:- |\d{1,3}\. )")
#: A block that ends with none of these (and is short) is a heading.
_SENTENCE_ENDS = (".", "!", "?", ":", ";", '"', "”")
_DATE = (r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}"
         r"|\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{4}"
         r"|\d{4}-\d{2}-\d{2}")
_DATELINE = re.compile(rf"^(?:[A-Z][^.!?]{{0,60}}?[,–—-]\s*)?(?:{_DATE})\s*[.–—-]?$", re.IGNORECASE)
_BYLINE = re.compile(
    r"^(?:by\s+[A-Z][\w.'’ -]{2,60}|office of the spokesperson|media note|press release|"
    r"press statement|readout|fact sheet|statement|joint statement|remarks|"
    r"[A-Z][\w.'’ -]{2,50},\s+(?:secretary of state|spokesperson|press secretary|"
    r"department spokesperson|ambassador)[\w ,]{0,40}|head of delegation of [\w ]{2,40})\.?$",
    re.IGNORECASE,
)
_BOILERPLATE = re.compile(
    r"^(?:copyright|©|all rights reserved|organizations in this story|share news|"
    r"for (?:further|more) information|to learn more|follow us|subscribe|click here|"
    r"view the original|this (?:article|post) (?:was|originally)|tags?:|related:|"
    r"webp [0-9a-z]+|image(?: credit)?:|photo(?: credit)?:|(?:\w+ )?official website\b|"
    r"###|the white house$|washington, d\.?c\.?$)",
    re.IGNORECASE,
)
_ATTENDEE_CUE = re.compile(
    r"\b(delegation (?:included|consisted|was composed)|participants|attendees|attended by|"
    r"officials who (?:traveled|attended|participated)|joined by|members of the delegation|"
    r"(?:u\.s\.|american|colombian|panamanian) participants)\b",
    re.IGNORECASE,
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans of the sentences in ``text`` (rule based).

    >>> text = "Dr. Ruiz met the U.S. team. They agreed."
    >>> [text[s:e] for s, e in split_sentences(text)]
    ['Dr. Ruiz met the U.S. team.', 'They agreed.']
    """
    spans = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        punct_at = match.start()
        # The word that ends at the punctuation, read backwards (at most _TOKEN_REACH characters, never
        # before the sentence start): linear in the text, however long a run of abbreviations.
        word_start = punct_at
        while word_start > start and punct_at - word_start < _TOKEN_REACH and not text[word_start - 1].isspace():
            word_start -= 1
        token = text[word_start:punct_at + 1].rstrip(".").lower().lstrip("(\"“'")
        if token in _ABBREVIATIONS or re.fullmatch(r"[a-z]", token) or re.fullmatch(r"(?:[a-z]\.)+[a-z]", token):
            continue
        end = match.end()
        sentence_end = end
        while sentence_end > start and text[sentence_end - 1].isspace():
            sentence_end -= 1
        spans.append((start, sentence_end))
        start = end
    if start < len(text):
        spans.append((start, len(text.rstrip())))
    return [(s, e) for s, e in spans if e > s]


def _kind(text: str, *, title: str | None, position: int) -> str:
    """Classify a block by rule: content, or a kind that carries no policy content."""
    if _ITEM_MARKER.match(text):
        return "item"
    stripped = text.strip()
    if _BOILERPLATE.match(stripped):
        return "boilerplate"
    if len(stripped) <= 100 and _DATELINE.match(stripped):
        return "dateline"
    if len(stripped) <= 120 and _BYLINE.match(stripped):
        return "byline"
    if title and stripped.rstrip(".").lower() == title.strip().rstrip(".").lower():
        return "heading"
    if len(stripped) <= 150 and not stripped.endswith(_SENTENCE_ENDS) and len(stripped.split()) <= 20:
        return "heading"
    if stripped.count(";") >= 3 and _ATTENDEE_CUE.search(stripped):
        return "attendees"
    return "text"


def segment(
    document: Document,
    *,
    max_chars: int = 600,
    keep_all: bool = False,
) -> list[Passage]:
    """Cut ``document`` into passages with offsets into ``document.text``.

    Paragraphs up to ``max_chars`` are one passage; longer ones are windowed
    on sentence boundaries (a sentence longer than ``max_chars`` is cut at a
    space).  List items are their own passages; when an item follows a
    lead-in ending in ``:``, that sentence is kept as ``passage.lead``.

    >>> doc = Document("d", "We agreed to:\\n\\n- open pathways;\\n\\n- fight smuggling.")
    >>> [(p.kind, p.text, p.lead) for p in segment(doc)]
    [('text', 'We agreed to:', None), ('item', 'open pathways;', 'We agreed to:'), ('item', 'fight smuggling.', 'We agreed to:')]
    """
    if not isinstance(document, Document):
        raise TypeError(f"segment() needs a Document, got {type(document).__name__}")
    if not isinstance(max_chars, int) or max_chars < 50:
        raise ValueError(
            f"The 'max_chars' parameter of segment must be an int >= 50. Got {max_chars!r} instead."
        )
    passages: list[Passage] = []
    lead: str | None = None
    for block_index, (start, end) in enumerate(_block_spans(document.text)):
        block = document.text[start:end]
        kind = _kind(block, title=document.title, position=block_index)
        if kind == "item":
            marker = _ITEM_MARKER.match(block)
            start += marker.end()
            block = document.text[start:end]
        else:
            lead = _lead_in(block) if kind == "text" else None
        for window_start, window_end in _windows(block, max_chars):
            text = block[window_start:window_end]
            if not text.strip():  # a bare list marker ("- ") leaves nothing to read
                continue
            if not keep_all and kind not in CONTENT_KINDS:
                continue
            index = len(passages)
            passages.append(Passage(
                passage_id=f"{document.doc_id}:{index}:{text_sha256(text)[:8]}",
                doc_id=document.doc_id,
                index=index,
                start=start + window_start,
                end=start + window_end,
                text=text,
                kind=kind,
                lead=lead if kind == "item" else None,
            ))
    return passages


def iter_passages(documents, **kwargs) -> Iterator[Passage]:
    """Segment each document of an iterable in turn (streaming)."""
    for document in documents:
        yield from segment(document, **kwargs)


def _block_spans(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for match in re.finditer(r"\n\s*\n", text):
        if match.start() > start:
            yield start, match.start()
        start = match.end()
    if start < len(text):
        yield start, len(text)


def _lead_in(block: str) -> str | None:
    """The last sentence of a block that ends with ``:`` (an item's lead-in)."""
    if not block.rstrip().endswith(":"):
        return None
    sentences = split_sentences(block)
    last = block[sentences[-1][0]:sentences[-1][1]] if sentences else block
    return last if len(last) <= 300 else last[-300:]


def _windows(block: str, max_chars: int) -> Iterator[tuple[int, int]]:
    """Greedy windows of whole sentences, each at most ``max_chars`` long."""
    if len(block) <= max_chars:
        yield 0, len(block)
        return
    window_start = window_end = None
    for sentence_start, sentence_end in split_sentences(block):
        if sentence_end - sentence_start > max_chars:
            if window_start is not None:
                yield window_start, window_end
                window_start = None
            yield from _hard_cut(block, sentence_start, sentence_end, max_chars)
            continue
        if window_start is None:
            window_start, window_end = sentence_start, sentence_end
        elif sentence_end - window_start <= max_chars:
            window_end = sentence_end
        else:
            yield window_start, window_end
            window_start, window_end = sentence_start, sentence_end
    if window_start is not None:
        yield window_start, window_end


def _hard_cut(block: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int]]:
    """Cut an over-long sentence at the last space before ``max_chars``."""
    while end - start > max_chars:
        cut = block.rfind(" ", start + max_chars // 2, start + max_chars)
        if cut <= start:
            cut = start + max_chars
        yield start, cut
        start = cut
        while start < end and block[start] == " ":
            start += 1
    if end > start:
        yield start, end


def context_span(text: str, start: int, end: int, chars: int) -> tuple[int, int]:
    """Where :func:`context_window` cuts ``text``: ``text[left:right]`` is the window it returns.

    >>> text = "one two three four five"
    >>> left, right = context_span(text, 8, 13, 5)
    >>> text[left:right]
    'two three four'
    """
    if not (0 <= start <= end <= len(text)):
        raise ValueError(f"context_window: span [{start}, {end}) is outside a text of {len(text)} characters")
    if chars < 0:
        raise ValueError(f"context_window: chars must be >= 0, got {chars}")
    left = max(0, start - chars)
    right = min(len(text), end + chars)
    if left > 0 and not text[left - 1].isspace():
        space = text.find(" ", left, start)
        left = start if space < 0 else space + 1
    if right < len(text) and not text[right].isspace():
        space = text.rfind(" ", end, right)
        right = end if space < 0 else space
    while left < right and text[left].isspace():  # what str.strip() removes
        left += 1
    while right > left and text[right - 1].isspace():
        right -= 1
    return left, right


def context_window(text: str, start: int, end: int, chars: int) -> str:
    """The span ``[start, end)`` of ``text`` with up to ``chars`` characters on each side.

    What the ``context`` backend reads beside a passage; the cut falls on the
    nearest whitespace outside the window so no word is split.

    >>> context_window("one two three four five", 8, 13, 5)
    'two three four'
    """
    left, right = context_span(text, start, end, chars)
    return text[left:right]
