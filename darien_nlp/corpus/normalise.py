"""Raw release text (plain, Markdown or HTML) -> normalised plain text.

Normalised text is Unicode NFC, entities and Markdown escapes resolved,
links reduced to their text, hard-wrapped lines re-joined and whitespace
collapsed.  Blocks (paragraphs, headings, list items) are separated by one
blank line; list items keep a ``"- "`` or ``"1. "`` marker so the segmenter
can see them.  Site banners ("An official website of the United States
government") are removed here, because they belong to the web page, not to
the release.

Gold passages point into normalised text by offsets, so any change to the
output must come with a new :data:`NORMALISER_VERSION`.

>>> normalise("A [link](http://x.org) and **bold**\\ntext.", markup="markdown")
'A link and bold text.'
"""
from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["NORMALISER_VERSION", "normalise", "MARKUPS"]

NORMALISER_VERSION = "normalise.v1"
MARKUPS = ("plain", "markdown", "html")

# Whole blocks that are web-page furniture, not release text.
_BANNER = re.compile(
    r"^(an official website of the united states government|here['’]s how you know|"
    r"official websites use \.gov.*|secure \.gov websites use https.*|skip to (main )?content|"
    r"share( this)?( news| page)?|print|email|tweet|#+|\*+|-{3,}|_{3,})$",
    re.IGNORECASE,
)
_ITEM = re.compile(r"^\s{0,8}(?:[-*+•▪◦]|\d{1,3}[.)])\s+")
_ORDERED = re.compile(r"^\s{0,8}(\d{1,3})[.)]\s+")
_BLANK = re.compile(r"^[\s\u00a0\u200b]*$")
_SPACES = re.compile(r"[\s\u00a0\u200b\u2028\u2029]+")

# Markdown inline syntax, applied after a block's lines are joined.
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])*)\]\((?:[^()]|\([^)]*\))*\)")
_MD_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_MD_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
_MD_CODE = re.compile(r"`([^`]*)`")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~\"'$&])")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+|\s+#+\s*$")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def normalise(text: str, *, markup: str = "plain") -> str:
    """Return the normalised plain text of ``text`` written in ``markup``.

    >>> normalise("<p>One &amp; two</p><ul><li>item</li></ul>", markup="html")
    'One & two\\n\\n- item'
    """
    if not isinstance(text, str):
        raise TypeError(f"normalise() needs a str, got {type(text).__name__}")
    if markup not in MARKUPS:
        raise ValueError(
            f"The 'markup' parameter of normalise must be one of {set(MARKUPS)}. Got {markup!r} instead."
        )
    if markup == "html":
        text = _html_to_text(text)
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks = _blocks(text, mode=markup)
    cleaned = []
    for block in blocks:
        if markup == "markdown":
            block = _markdown_inline(block)
        block = html.unescape(block) if "&" in block else block
        block = _SPACES.sub(" ", block).strip()
        if block and not _BANNER.match(block) and _has_word(block):
            cleaned.append(block)
    return "\n\n".join(cleaned)


def _has_word(block: str) -> bool:
    return any(character.isalnum() for character in block)


def _blocks(text: str, *, mode: str) -> list[str]:
    """Split into blocks; re-join hard-wrapped lines; list items become blocks."""
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            blocks.extend(_join_lines(current, mode=mode))
            current.clear()

    markdown = mode == "markdown"
    in_fence = False
    for line in text.split("\n"):
        if markdown and line.strip() in ("```", "~~~"):
            in_fence = not in_fence  # fenced code: keep as one block
            continue
        if _BLANK.match(line):
            flush()
            continue
        if markdown and (_MD_HEADING.match(line) or re.match(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$", line)):
            flush()
            heading = _MD_HEADING.sub("", line).strip()
            if heading and not re.fullmatch(r"[-*_\s]+", heading):
                blocks.append(heading)
            continue
        if _ITEM.match(line) and current:
            flush()
        current.append(line)
        if markdown and line.endswith("  "):
            flush()  # Markdown hard line break ends the block
    flush()
    return blocks


def _join_lines(lines: list[str], *, mode: str) -> list[str]:
    """Join a block's lines into paragraphs.

    Markdown joins every line of a block (its own rule).  Plain text is
    ambiguous: a line break is a soft wrap when the line ends mid-sentence and
    the next line continues it (starts in lower case, or the line is long and
    the next is not a date or heading); otherwise each line is a paragraph.
    HTML blocks carry no meaningful line breaks.
    """
    if mode == "markdown":
        return [_mark_item(" ".join(line.strip() for line in lines))]
    paragraphs = [lines[0].strip()]
    for previous, line in zip(lines, lines[1:]):
        line = line.strip()
        if mode == "plain" and _soft_wrap(previous.rstrip(), line):
            paragraphs[-1] = paragraphs[-1] + " " + line
        else:
            paragraphs.append(line)
    return [_mark_item(paragraph) for paragraph in paragraphs if paragraph]


_DATE_LINE = re.compile(
    r"^([A-Z][\w .,'-]{0,40},\s*)?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},\s*\d{4}\.?$",
    re.IGNORECASE,
)


def _soft_wrap(line: str, following: str) -> bool:
    if not line or re.search(r"[.!?:;\"”)]$", line) or _ITEM.match(following):
        return False
    if following[:1].islower():
        return True
    return len(line) >= 60 and not _DATE_LINE.match(following)


def _mark_item(block: str) -> str:
    """Normalise a list marker to ``- `` (unordered) or ``N. `` (ordered)."""
    match = _ITEM.match(block)
    if not match:
        return block
    ordered = _ORDERED.match(block)
    marker = f"{ordered.group(1)}. " if ordered else "- "
    return marker + block[match.end():].strip()


def _markdown_inline(block: str) -> str:
    marker = ""
    match = re.match(r"^(- |\d{1,3}\. )", block)
    if match:
        marker, block = match.group(1), block[match.end():]
    block = _MD_IMAGE.sub("", block)
    previous = None
    while previous != block:  # nested links such as [**[a](x)**](y)
        previous = block
        block = _MD_LINK.sub(r"\1", block)
    block = _MD_REF_LINK.sub(r"\1", block)
    block = _MD_AUTOLINK.sub(r"\1", block)
    block = _MD_CODE.sub(r"\1", block)
    for _ in range(2):
        block = _MD_EMPHASIS.sub(r"\2", block)
    block = _MD_ESCAPE.sub(r"\1", block)
    block = block.replace("**", "")
    block = _HTML_TAG.sub(" ", block)  # stray inline HTML such as <br>
    return marker + block


_DROP_TAGS = ("script", "style", "noscript", "iframe", "nav", "header", "footer", "form",
              "button", "svg", "template", "object", "embed", "aside", "select", "figure",
              "input", "video", "audio", "canvas", "head", "meta", "link")
_BLOCK_TAGS = ("p", "div", "section", "article", "main", "blockquote", "h1", "h2", "h3",
               "h4", "h5", "h6", "table", "tr", "ul", "ol", "dl", "dt", "dd", "pre",
               "address", "figcaption", "hr", "center")


def _html_to_text(markup: str) -> str:
    """HTML -> text with blank lines between blocks and ``- `` before list items.

    One walk over the parsed tree, writing each piece once: linear in the page's size (inserting
    separators into the tree instead cost a scan of the siblings per insertion, quadratic on a page
    of many paragraphs), and without recursion, so deep nesting cannot exhaust the stack."""
    from bs4 import BeautifulSoup
    from bs4.element import NavigableString, Tag

    from bs4.element import CData

    _TEXT_TYPES = (NavigableString, CData)  # what get_text() reads: exactly these types, not their subclasses
    soup = BeautifulSoup(markup, "lxml")
    dropped_roles = {"navigation", "banner", "contentinfo"}
    block_tags = frozenset(_BLOCK_TAGS)
    drop_tags = frozenset(_DROP_TAGS)
    pieces: list[str] = []
    stack: list = [soup]  # nodes to visit, and str separators to write when a tag closes
    while stack:
        node = stack.pop()
        if isinstance(node, str) and not isinstance(node, NavigableString):
            pieces.append(node)  # a separator
            continue
        if isinstance(node, NavigableString):
            if type(node) not in _TEXT_TYPES:
                continue  # comments, doctype, declarations, processing instructions: not text
            parent = node.parent
            pieces.append(str(node) if parent is not None and parent.name == "pre" else _SPACES.sub(" ", str(node)))
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name
        if node is not soup and (name in drop_tags or node.get("role") in dropped_roles):
            continue
        if name == "br":
            pieces.append("\n\n")
            continue
        if name == "li":
            pieces.append("\n\n- ")
            closing = "\n\n"
        elif name in block_tags:
            pieces.append("\n\n")
            closing = "\n\n"
        elif name in ("td", "th"):
            closing = " | "
        else:
            closing = ""
        if closing:
            stack.append(closing)
        stack.extend(reversed(node.contents))
    return "".join(pieces)
