"""Files, folders, data frames and ``datasets`` -> a stream of ``Document``.

:func:`load_corpus` returns a :class:`Corpus`: a lazy, re-iterable stream
of documents with a :class:`LoadReport` of everything skipped and why.
Nothing is dropped silently: bad records raise :class:`CorpusError` (naming
file and line), or with ``on_error="skip"`` are counted in the report.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "a.txt").write_text("Title\\n\\nThe border is closed.")
>>> corpus = load_corpus(folder)
>>> [d.doc_id for d in corpus], corpus.report.documents
(['a'], 1)
"""
from __future__ import annotations

import csv
import datetime as _dt
import email.utils
import fnmatch
import gzip
import io
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from .document import Document
from .normalise import MARKUPS, normalise

__all__ = ["Corpus", "CorpusError", "LoadReport", "Skip", "load_corpus", "parse_date", "FORMATS"]

logger = logging.getLogger(__name__)

FORMATS = ("text", "markdown", "html", "jsonl", "csv", "parquet")
_SUFFIXES = {
    ".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".csv": "csv", ".tsv": "csv", ".parquet": "parquet",
}
_TEXT_FIELDS = ("text", "content_html", "content", "body", "passage")
_ID_FIELDS = ("id", "doc_id", "guid", "passage_id")
_DATE_FIELDS = ("date", "pubDate", "published", "published_time", "timestamp")
_TITLE_FIELDS = ("title", "headline")


class CorpusError(ValueError):
    """A record or file that cannot be read; the message names file and line."""


@dataclass(frozen=True, slots=True)
class Skip:
    """One thing not turned into a document, and why."""

    source: str
    location: str | None
    reason: str


@dataclass
class LoadReport:
    """What one pass over a corpus read, skipped and repaired."""

    documents: int = 0
    skipped: list[Skip] = field(default_factory=list)
    decoding_fallbacks: list[str] = field(default_factory=list)
    missing_dates: int = 0

    def summary(self) -> str:
        """One line for logs and the CLI."""
        reasons: dict[str, int] = {}
        for skip in self.skipped:
            key = re.split(r": | \(", skip.reason, maxsplit=1)[0]  # "not valid JSON (Expecting ':' ...)" -> "not valid JSON"
            reasons[key] = reasons.get(key, 0) + 1
        parts = [f"{self.documents} documents"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped ({', '.join(f'{k}: {v}' for k, v in sorted(reasons.items()))})")
        if self.decoding_fallbacks:
            parts.append(f"{len(self.decoding_fallbacks)} decoded with a fallback encoding")
        if self.missing_dates:
            parts.append(f"{self.missing_dates} without a date")
        return "; ".join(parts)


_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


def parse_date(value: Any) -> _dt.date | None:
    """Parse a release date from ISO, RFC 822 or "February 16, 2023" style; else ``None``.

    >>> parse_date("Wed, 03 Aug 2022 19:49:23 +0000"), parse_date("February 16, 2023")
    (datetime.date(2022, 8, 3), datetime.date(2023, 2, 16))
    >>> parse_date("not a date") is None
    True
    """
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        try:
            return value.to_pydatetime().date()
        except (ValueError, TypeError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return _dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(text)
        if parsed is not None:
            return parsed.date()
    except (TypeError, ValueError, IndexError):
        pass
    match = re.search(r"\b([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})\b", text)
    if match and match.group(1).lower() in _MONTHS:
        month, day, year = _MONTHS[match.group(1).lower()], int(match.group(2)), int(match.group(3))
    else:
        match = re.search(r"\b(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?\s+(\d{4})\b", text)
        if not (match and match.group(2).lower() in _MONTHS):
            return None
        day, month, year = int(match.group(1)), _MONTHS[match.group(2).lower()], int(match.group(3))
    try:
        return _dt.date(year, month, day)
    except ValueError:
        return None


class Corpus:
    """A lazy, re-iterable stream of :class:`Document`; ``report`` describes the last pass.

    >>> corpus = load_corpus(["First text.", "Second text."])
    >>> len(list(corpus)), corpus.report.documents
    (2, 2)
    """

    def __init__(self, factory: Callable[["LoadReport"], Iterator[Document]], name: str):
        self._factory = factory
        self.name = name
        self.report = LoadReport()

    def __iter__(self) -> Iterator[Document]:
        self.report = LoadReport()
        for document in self._factory(self.report):
            self.report.documents += 1
            if document.date is None:
                self.report.missing_dates += 1
            yield document
        if self.report.skipped:
            logger.warning("%s: %s", self.name, self.report.summary())

    def __repr__(self) -> str:
        return f"Corpus({self.name!r})"

    def passages(self, **segment_options) -> Iterator["Passage"]:
        """Stream the passages of every document (see :func:`segment`)."""
        from .segment import segment

        for document in self:
            yield from segment(document, **segment_options)

    def to_dataset(self, level: str = "documents", **segment_options):
        """One call to a ``datasets.Dataset`` of documents or passages.

        Rows are written to an Arrow file as they stream, so the whole corpus
        is never held as Python objects.
        """
        if level not in ("documents", "passages"):
            raise ValueError(
                f"The 'level' parameter of to_dataset must be one of {{'documents', 'passages'}}. Got {level!r} instead."
            )
        from datasets import Dataset, Features, Value

        if level == "documents":
            features = Features({"doc_id": Value("string"), "title": Value("string"),
                                 "date": Value("string"), "source": Value("string"),
                                 "text": Value("string")})
        else:
            features = Features({"passage_id": Value("string"), "doc_id": Value("string"),
                                 "index": Value("int32"), "start": Value("int64"),
                                 "end": Value("int64"), "text": Value("string"),
                                 "kind": Value("string"), "lead": Value("string")})
        # A fresh fingerprint per call: the source may have changed since a cached build.
        import uuid

        return Dataset.from_generator(
            _dataset_rows, features=features, keep_in_memory=False,
            gen_kwargs={"corpus": self, "level": level, "segment_options": segment_options},
            fingerprint=uuid.uuid4().hex,
        )


def _dataset_rows(corpus: "Corpus", level: str, segment_options: dict) -> Iterator[dict]:
    if level == "documents":
        for document in corpus:
            yield document.to_dict()
    else:
        for passage in corpus.passages(**segment_options):
            yield passage.to_dict()


def load_corpus(
    source: Any,
    *,
    format: str | None = None,
    markup: str = "auto",
    text_field: str | None = None,
    id_field: str | None = None,
    date_field: str | None = None,
    title_field: str | None = None,
    on_error: str = "raise",
    encoding: str = "utf-8",
    select: Iterable[str] | Callable[[str], bool] | None = None,
    include: str | Sequence[str] | None = None,
) -> Corpus:
    """Open ``source`` as a stream of normalised documents.

    ``source`` is a file (``.txt``, ``.md`` with YAML front matter, ``.html``,
    ``.jsonl``/``.jsonl.gz``, ``.csv``/``.tsv``, ``.parquet``), a folder of
    them, a ``datasets.Dataset``, a pandas ``DataFrame``, or an iterable of
    strings or dicts.  Record fields default to the first present of
    ``text``/``content_html``/``content``/``body``, ``id``/``doc_id``/``guid``,
    ``date``/``pubDate``, ``title``.  ``markup`` (``auto``, ``plain``,
    ``markdown``, ``html``) says how record text is written; ``auto`` decides
    from the file type or field name.  ``on_error`` is ``"raise"`` (default)
    or ``"skip"`` (count bad records in ``corpus.report`` and go on).
    ``select`` (a collection of doc ids, or a predicate on the doc id) reads
    only those documents, skipping the others before normalisation (fast
    look-ups by reference).
    ``include`` (glob patterns such as ``"*.txt"``) limits which files of a
    folder are read; files it leaves out are not reported as skipped.

    >>> corpus = load_corpus([{"id": "x", "text": "<p>Hi &amp; bye.</p>"}], markup="html")
    >>> next(iter(corpus)).text
    'Hi & bye.'
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(
            f"The 'on_error' parameter of load_corpus must be one of {{'raise', 'skip'}}. Got {on_error!r} instead."
        )
    if markup != "auto" and markup not in MARKUPS:
        raise ValueError(
            f"The 'markup' parameter of load_corpus must be one of {{'auto', 'plain', 'markdown', 'html'}}. Got {markup!r} instead."
        )
    if format is not None and format not in FORMATS:
        raise ValueError(
            f"The 'format' parameter of load_corpus must be one of {set(FORMATS)} or None. Got {format!r} instead."
        )
    options = _Options(markup=markup, text_field=text_field, id_field=id_field,
                       date_field=date_field, title_field=title_field,
                       on_error=on_error, encoding=encoding,
                       select=None if select is None else (select if callable(select) else frozenset(select).__contains__),
                       include=(include,) if isinstance(include, str) else (tuple(include) if include else None))
    if isinstance(source, (str, os.PathLike)):
        if not os.fspath(source).strip():
            raise ValueError("load_corpus: source is an empty path; give a file or folder (use '.' for the current folder)")
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"load_corpus: no such file or folder: {str(path)!r}")
        if path.is_dir():
            return Corpus(lambda report: _read_folder(path, options, report), str(path))
        file_format = format or _format_of(path)
        if file_format is None:
            raise CorpusError(
                f"load_corpus: cannot tell the format of {str(path)!r}; give format= one of "
                f"{list(FORMATS)} (known suffixes: {sorted(_SUFFIXES)} and .gz)"
            )
        return Corpus(lambda report: _read_file(path, file_format, options, report, _stem(path)), str(path))
    if _is_dataset(source):
        return Corpus(lambda report: _read_records(
            (dict(row) for row in source), "dataset", options, report), "dataset")
    if _is_dataframe(source):
        return Corpus(lambda report: _read_records(
            source.to_dict(orient="records"), "dataframe", options, report), "dataframe")
    if isinstance(source, Iterable) and not isinstance(source, (bytes, Mapping)):
        items = source if isinstance(source, (list, tuple)) else list(source)
        return Corpus(lambda report: _read_records(
            ({"id": f"doc{i}", "text": item} if isinstance(item, str) or item is None else item
             for i, item in enumerate(items)), "records", options, report), "records")
    raise TypeError(
        "load_corpus: source must be a path, a folder, a datasets.Dataset, a pandas DataFrame or "
        f"an iterable of strings/dicts; got {type(source).__name__}"
    )


@dataclass(frozen=True)
class _Options:
    markup: str
    text_field: str | None
    id_field: str | None
    date_field: str | None
    title_field: str | None
    on_error: str
    encoding: str
    select: Callable[[str], bool] | None = None
    include: tuple[str, ...] | None = None


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz",) + tuple(_SUFFIXES):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _format_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return _SUFFIXES.get(Path(name).suffix)


def _is_dataset(source: Any) -> bool:
    return type(source).__module__.startswith("datasets") and hasattr(source, "column_names")


def _is_dataframe(source: Any) -> bool:
    return type(source).__module__.startswith("pandas") and hasattr(source, "to_dict")


def _decode(data: bytes, where: str, options: _Options, report: LoadReport) -> str:
    """Decode bytes; on invalid UTF-8 fall back to cp1252, then latin-1 (never fails).

    A UTF-8 byte-order mark is dropped; text that starts with a UTF-16 mark is read as UTF-16 (and
    reported)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            pass
        else:
            report.decoding_fallbacks.append(f"{where}: UTF-16 (byte-order mark); read as UTF-16")
            return text
    encoding = "utf-8-sig" if options.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else options.encoding
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        for fallback in ("cp1252", "latin-1"):
            try:
                text = data.decode(fallback)
            except UnicodeDecodeError:
                continue
            report.decoding_fallbacks.append(f"{where}: not valid {options.encoding} ({error.reason} at byte {error.start}); read as {fallback}")
            logger.warning("%s: not valid %s; read as %s", where, options.encoding, fallback)
            return text
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def _read_bytes(path: Path) -> bytes:
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as handle:
            return handle.read()
    return path.read_bytes()


def _lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        yield from handle


def _fail(options: _Options, report: LoadReport, source: str, location: str | None, reason: str) -> None:
    where = f"{source}:{location}" if location else source
    if options.on_error == "raise":
        raise CorpusError(f"{where}: {reason} (pass on_error='skip' to count and skip such records)")
    report.skipped.append(Skip(source, location, reason))


def _walk(folder: Path, report: LoadReport) -> Iterator[Path]:
    """Files under ``folder`` in sorted order, not following links to folders (no loops); a dangling link
    and a link to a folder are reported as skipped, hidden files and folders are left out."""
    for root, directories, files in os.walk(folder, followlinks=False):
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        base = Path(root)
        for name in directories:
            if (base / name).is_symlink():
                report.skipped.append(Skip(str(base / name), None, "symbolic link to a folder: not followed"))
        for name in sorted(files):
            path = base / name
            if name.startswith("."):
                continue
            if path.is_symlink() and not path.exists():
                report.skipped.append(Skip(str(path), None, "dangling symbolic link"))
                continue
            if path.is_file():
                yield path


def _read_folder(folder: Path, options: _Options, report: LoadReport) -> Iterator[Document]:
    for path in sorted(_walk(folder, report)):
        relative = path.relative_to(folder)
        if options.include is not None and not any(fnmatch.fnmatch(path.name, pattern) for pattern in options.include):
            continue
        file_format = _format_of(path)
        if file_format is None:
            report.skipped.append(Skip(str(path), None, f"unsupported file type: {path.suffix or 'no suffix'}"))
            logger.info("skipping %s: unsupported file type", path)
            continue
        doc_id = str(relative.with_name(_stem(path))).replace(os.sep, "/")
        if options.select is not None and file_format in ("text", "markdown", "html") and not options.select(doc_id):
            continue
        yield from _read_file(path, file_format, options, report, doc_id)


def _read_file(path: Path, file_format: str, options: _Options, report: LoadReport, doc_id: str) -> Iterator[Document]:
    source = str(path)
    if file_format in ("text", "markdown", "html"):
        try:
            data = _read_bytes(path)
        except OSError as error:
            _fail(options, report, source, None, f"cannot read file: {error}")
            return
        raw = _decode(data, source, options, report)
        if "\x00" in raw[:65536]:
            _fail(options, report, source, None, "binary data (NUL bytes), not text")
            return
        yield from _single_document(raw, path, file_format, options, report, doc_id)
    elif file_format == "jsonl":
        yield from _read_jsonl(path, options, report)
    elif file_format == "csv":
        yield from _read_csv(path, options, report)
    elif file_format == "parquet":
        yield from _read_parquet(path, options, report)


def _single_document(raw: str, path: Path, file_format: str, options: _Options,
                     report: LoadReport, doc_id: str) -> Iterator[Document]:
    source = str(path)
    if not raw.strip():
        report.skipped.append(Skip(source, None, "empty file"))
        return
    meta: dict[str, Any] = {}
    if file_format == "markdown":
        meta, raw = _front_matter(raw, source, report)
    markup = {"text": "plain", "markdown": "markdown", "html": "html"}[file_format]
    if options.markup != "auto":
        markup = options.markup
    title = meta.get("title")
    if markup == "html" and not title:
        match = re.search(r"<title[^>]*>(.*?)</title>|<h1[^>]*>(.*?)</h1>", raw, re.IGNORECASE | re.DOTALL)
        if match:
            title = normalise(match.group(1) or match.group(2), markup="html") or None
    text = normalise(raw, markup=markup)
    if not text:
        report.skipped.append(Skip(source, None, "no text left after removing markup, scripts and boilerplate"))
        return
    date = parse_date(meta.get("date"))
    if title is None or date is None:
        guessed_title, guessed_date = _guess_title_and_date(text)
        title = title or guessed_title
        date = date or guessed_date
    yield Document(doc_id=doc_id, text=text, title=_clean_title(title), date=date, source=source,
                   meta={k: v for k, v in meta.items() if k not in ("title", "date")})


def _clean_title(title: Any) -> str | None:
    if title is None:
        return None
    title = re.sub(r"\s+", " ", str(title).replace("\u00a0", " ")).strip()
    return title or None


def _guess_title_and_date(text: str) -> tuple[str | None, _dt.date | None]:
    """For plain files: the first short unpunctuated block is the title; a date in the first blocks."""
    title = date = None
    for block in text.split("\n\n")[:6]:
        if title is None and len(block) <= 200 and not block.rstrip().endswith((".", ":", ";")):
            title = block
        if date is None and len(block) <= 100:
            date = parse_date(block)
    return title, date


def _front_matter(raw: str, source: str, report: LoadReport) -> tuple[dict[str, Any], str]:
    match = re.match(r"\A---\s*\n(.*?)\n---\s*\n", raw, re.DOTALL)
    if not match:
        return {}, raw
    import yaml

    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as error:
        report.decoding_fallbacks.append(f"{source}: front matter is not valid YAML ({error.__class__.__name__}); ignored")
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    return meta, raw[match.end():]


def _read_jsonl(path: Path, options: _Options, report: LoadReport) -> Iterator[Document]:
    source = str(path)
    stem = _stem(path)
    try:
        lines = _lines(path)
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            text = _decode(line, f"{source}:{number}", options, report)
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                _fail(options, report, source, str(number), f"not valid JSON ({error.msg} at column {error.colno})")
                continue
            if not isinstance(record, dict):
                _fail(options, report, source, str(number), f"a JSON {type(record).__name__}, not an object")
                continue
            document = _record_document(record, source, str(number), f"{stem}:{number}", options, report)
            if document is not None:
                yield document
    except (OSError, EOFError) as error:
        _fail(options, report, source, None, f"cannot read file: {error}")


def _read_csv(path: Path, options: _Options, report: LoadReport) -> Iterator[Document]:
    source = str(path)
    raw = _decode(_read_bytes(path), source, options, report)
    if not raw.strip():
        report.skipped.append(Skip(source, None, "empty file"))
        return
    delimiter = "\t" if _stem(path) != path.name and path.name.lower().rstrip(".gz").endswith(".tsv") else ","
    csv.field_size_limit(1 << 30)
    reader = csv.DictReader(io.StringIO(raw, newline=""), delimiter=delimiter)
    stem = _stem(path)
    try:
        for number, record in enumerate(reader, 2):
            document = _record_document(record, source, str(number), f"{stem}:{number}", options, report)
            if document is not None:
                yield document
    except csv.Error as error:
        _fail(options, report, source, str(reader.line_num), f"not valid CSV ({error})")


def _read_parquet(path: Path, options: _Options, report: LoadReport) -> Iterator[Document]:
    import pyarrow.parquet as pq

    source = str(path)
    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises several types for a broken file
        _fail(options, report, source, None, f"not a readable Parquet file ({error})")
        return
    number = 0
    stem = _stem(path)
    for batch in parquet.iter_batches(batch_size=2048):
        for record in batch.to_pylist():
            number += 1
            document = _record_document(record, source, f"row {number}", f"{stem}:{number}", options, report)
            if document is not None:
                yield document


def _read_records(records: Iterable[Mapping[str, Any]], source: str, options: _Options,
                  report: LoadReport) -> Iterator[Document]:
    for number, record in enumerate(records):
        if not isinstance(record, Mapping):
            _fail(options, report, source, f"row {number}", f"a {type(record).__name__}, not a string or a mapping")
            continue
        document = _record_document(record, source, f"row {number}", f"{source}:{number}", options, report)
        if document is not None:
            yield document


def _pick(record: Mapping[str, Any], chosen: str | None, candidates: tuple[str, ...]) -> str | None:
    if chosen is not None:
        return chosen
    return next((name for name in candidates if name in record), None)


def _record_document(record: Mapping[str, Any], source: str, location: str, default_id: str,
                     options: _Options, report: LoadReport) -> Document | None:
    id_field = _pick(record, options.id_field, _ID_FIELDS)
    doc_id = record.get(id_field) if id_field else None
    doc_id = str(doc_id) if doc_id not in (None, "") else default_id
    if options.select is not None and not options.select(doc_id):
        return None
    text_field = _pick(record, options.text_field, _TEXT_FIELDS)
    if text_field is None or text_field not in record:
        wanted = options.text_field or " / ".join(_TEXT_FIELDS)
        _fail(options, report, source, location,
              f"no text field {wanted!r} (fields: {sorted(map(str, record))}); pass text_field=")
        return None
    value = record[text_field]
    if value is None or (isinstance(value, float) and value != value):
        _fail(options, report, source, location, f"text field {text_field!r} is empty (None)")
        return None
    if isinstance(value, bytes):
        value = _decode(value, f"{source}:{location}", options, report)
    if not isinstance(value, str):
        _fail(options, report, source, location,
              f"text field {text_field!r} is a {type(value).__name__}, not a string")
        return None
    markup = options.markup
    if markup == "auto":
        markup = "html" if ("html" in text_field.lower() or _looks_html(value)) else (
            "markdown" if _looks_markdown(value) else "plain")
    text = normalise(value, markup=markup)
    if not text:
        # An empty release is not a broken record: always skip it, always report it.
        report.skipped.append(Skip(source, location, "no text left after removing markup, scripts and boilerplate"))
        return None
    date_field = _pick(record, options.date_field, _DATE_FIELDS)
    title_field = _pick(record, options.title_field, _TITLE_FIELDS)
    title = record.get(title_field) if title_field else None
    if isinstance(title, str) and "&" in title:
        import html as _html
        title = _html.unescape(title)
    meta = {k: v for k, v in record.items()
            if k not in {text_field, id_field, date_field, title_field} and isinstance(v, (str, int, float, bool))}
    return Document(doc_id=doc_id, text=text,
                    title=_clean_title(title if isinstance(title, str) else None),
                    date=parse_date(record.get(date_field)) if date_field else None,
                    source=source, meta=meta)


def _looks_html(text: str) -> bool:
    return len(re.findall(r"</?(?:p|div|br|span|a|li|ul|script|h\d)\b", text[:5000], re.IGNORECASE)) >= 2


def _looks_markdown(text: str) -> bool:
    sample = text[:5000]
    return bool(re.search(r"\]\(https?://|^\s{0,3}#{1,6}\s|\*\*\S|\\[-*_.]", sample, re.MULTILINE))
