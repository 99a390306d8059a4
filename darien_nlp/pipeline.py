"""Streaming classification for pipelines: what ``darien-nlp classify PATH... | -`` does.

Inputs are read lazily and classified in batches, so memory stays flat however long the input:

* ``lines`` (plain text, one text per line; stdin's default), ``jsonl`` (``--text-field``,
  ``--id-field``), ``csv``/``tsv`` and ``parquet`` (read in record batches) give one text per
  record, or, with ``--document``, every passage of it (segmented, each read with its context
  when the model reads context);
* ``documents`` (a folder, or ``.txt``/``.md``/``.html`` files read whole) go through
  :func:`darien_nlp.corpus.load_corpus` and are always segmented into passages.

Every input record gives one output record, in order; a record that cannot be read (not UTF-8,
not JSON, no text field) gives an ``error`` record in its place and the run exits 1 after
processing the rest.  Output is JSON Lines (default), CSV or Parquet; a file output is written
beside its target and renamed at the end, so an interrupted run leaves no output that looks complete.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .taxonomy import LABELS

__all__ = ["INPUT_FORMATS", "OUTPUT_FORMATS", "ClassifyRun", "input_format", "output_format", "read_lines"]

INPUT_FORMATS = ("lines", "jsonl", "csv", "parquet", "documents")
OUTPUT_FORMATS = ("jsonl", "csv", "parquet")
#: Lines longer than this (bytes) are cut: a model reads at most a few thousand characters of a text.
MAX_LINE_BYTES = 1 << 20
#: Texts classified at a time: memory stays flat however long the input.
BATCH = 1000


def input_format(path: str, given: str | None) -> str:
    """The input format: ``given``, else from the path (a folder or .txt/.md/.html: documents)."""
    if given:
        return given
    if path == "-":
        return "lines"
    p = Path(path)
    if p.is_dir():
        return "documents"
    name = p.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".md", ".markdown", ".html", ".htm")):
        return "documents"
    return "lines"


def output_format(path: str, given: str | None) -> str:
    if given:
        return given
    name = path.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    return "jsonl"


def read_lines(handle, name: str, max_bytes: int | None = None) -> Iterator[tuple[int, str | None, str | None]]:
    """Yield ``(line number, text or None, problem or None)`` from a binary handle, one line at a time.

    A line that is not UTF-8 gives ``None`` and the reason; a line over ``max_bytes`` keeps its
    first part (the rest is read and dropped, so memory stays bounded); a BOM is dropped."""
    max_bytes = max_bytes or MAX_LINE_BYTES
    number = 0
    while True:
        raw = handle.readline(max_bytes)
        if not raw:
            return
        number += 1
        problem = None
        if not raw.endswith(b"\n") and len(raw) == max_bytes:
            problem = f"longer than {max_bytes} bytes; its first {max_bytes} bytes were read"
            while True:  # drop the rest of the line
                rest = handle.readline(max_bytes)
                if not rest or rest.endswith(b"\n"):
                    break
            raw = raw[: raw.rfind(b" ") + 1 or len(raw)]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            if problem:  # the cut may have split a character
                text = raw.decode("utf-8", errors="ignore")
            else:
                yield number, None, f"{name} line {number} is not valid UTF-8 ({error.reason} at byte {error.start})"
                continue
        text = text.rstrip("\r\n")
        if number == 1:
            text = text.removeprefix("\ufeff")
        yield number, text, problem


def _worker_init(model: str) -> None:
    """A ``--jobs`` worker: Ctrl-C is the parent's to handle; load the model once, before any batch."""
    import signal

    from .api import load_model

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    load_model(model)


#: the key of an item's place in its document (document text, passage start and end, context left and right)
_SPAN = "_document_span"


def _batch_documents(items: list[dict]) -> tuple[list[str], list[tuple | None]]:
    """The documents of a batch's items (each once) and, per item, ``(document index, start, end, left,
    right)``: where its passage and context sit in that document (None for an item not from a document)."""
    documents: list[str] = []
    index: dict[int, int] = {}
    spans: list[tuple | None] = []
    for item in items:
        span = item.get(_SPAN)
        if span is None:
            spans.append(None)
            continue
        text, start, end, left, right = span
        if id(text) not in index:
            index[id(text)] = len(documents)
            documents.append(text)
        spans.append((index[id(text)], start, end, left, right))
    return documents, spans


def _span_registry(documents: list[str], spans: list, texts: list[str], contexts: list):
    """A :class:`~darien_nlp.embed.static.DocumentSpans` holding ``documents``, with each text and context
    registered as its span (a text that is not exactly that span is read as usual)."""
    from .embed.static import DocumentSpans

    registry = DocumentSpans()
    ids = [registry.add_document(document) for document in documents]
    for text, context, span in zip(texts, contexts, spans):
        if span is None:
            continue
        document, start, end, left, right = span
        registry.register(text, ids[document], start, end)
        if context is not None:
            registry.register(context, ids[document], left, right)
    return registry


def _batch_spans(items: list[dict]):
    """The registry of a batch's passages and contexts (the items that came from documents), so each
    document is tokenised once per static model in this process."""
    documents, spans = _batch_documents(items)
    return _span_registry(documents, spans, [item["text"] for item in items], [item.get("context") for item in items])


def _worker_classify_documents(model: str, threshold: float | None, documents: list[str], spans: list,
                               details: bool = False) -> list:
    """A ``--jobs`` worker's share of passages read in context, sent as their documents and offsets
    (not as texts and overlapping windows): rebuilt here and tokenised once per document."""
    from .embed.static import document_spans

    texts = [documents[d][start:end] for d, start, end, _, _ in spans]
    contexts = [documents[d][left:right] for d, _, _, left, right in spans]
    with document_spans(_span_registry(documents, spans, texts, contexts)):
        return _worker_classify(model, threshold, texts, contexts, details)


def _as_documents(readable: list[dict]) -> tuple[list[str], list[tuple]] | None:
    """The batch as documents and offsets when every item is exactly its span (and its context exactly
    its window) of a document; else None (the batch is sent as texts). Each document is cut to the part
    the batch's windows cover (a long document split across batches is not sent whole each time)."""
    documents, spans = _batch_documents(readable)
    for item, span in zip(readable, spans):
        if span is None or item.get("context") is None:
            return None
        d, start, end, left, right = span
        if documents[d][start:end] != item["text"] or documents[d][left:right] != item["context"]:
            return None
    first, last = [len(d) for d in documents], [0] * len(documents)
    for d, start, end, left, right in spans:
        first[d], last[d] = min(first[d], start, left), max(last[d], end, right)
    documents = [document[first[d]:last[d]] for d, document in enumerate(documents)]
    spans = [(d, start - first[d], end - first[d], left - first[d], right - first[d])
             for d, start, end, left, right in spans]
    return documents, spans


#: The fields ``--details`` adds to each output record (:func:`_details`).
DETAIL_FIELDS = ("language", "mixed_language", "supported_language", "scope", "truncated")


def _details(prediction) -> dict:
    """What ``--details`` adds: the language detected offline (and whether the models support it), the scope
    score (None for a model without a scope head) and whether the text was cut at MAX_CHARS."""
    return {"language": prediction.language, "mixed_language": prediction.mixed_language,
            "supported_language": prediction.supported_language,
            "scope": None if prediction.scope is None else round(prediction.scope, 4),
            "truncated": prediction.truncated}


def _worker_classify(model: str, threshold: float | None, texts: list[str], contexts: list | None,
                     details: bool = False) -> list:
    """A ``--jobs`` worker's share: (labels, rounded scores, details or None) per text, in order."""
    from .api import classify

    return [(list(p.labels), {k: round(v, 4) for k, v in p.scores.items()}, _details(p) if details else None)
            for p in classify(texts, model=model, threshold=threshold, context=contexts)]


@dataclass
class ClassifyRun:
    """One ``darien-nlp classify`` run: settings, and the counts reported at the end."""

    model: Any
    threshold: float | None = None
    text_field: str = "text"
    id_field: str | None = None
    document: bool = False
    progress: bool = False
    #: worker processes that classify batches while this one reads and writes (1: all in this process);
    #: each worker loads ``model_name`` (the name or folder path ``model`` was loaded from).
    jobs: int = 1
    model_name: str | None = None
    #: also write each text's language, scope score and truncation flag (:data:`DETAIL_FIELDS`; slower)
    details: bool = False
    records: int = 0
    errors: int = 0
    notes: list[str] = field(default_factory=list)

    def _pool(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if not isinstance(self.model_name, str):
            raise TypeError("jobs > 1 needs model_name: the name or folder path that each worker loads")
        return ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_init, initargs=(self.model_name,))

    # ---- reading: every reader yields dicts with "text" (str or None) plus reference fields ----

    def items(self, path: str, fmt: str) -> Iterator[dict]:
        name = "stdin" if path == "-" else path
        if fmt == "documents":
            yield from self._documents(path)
            return
        if path != "-" and not Path(path).exists():
            raise FileNotFoundError(f"classify: no such file or folder: {path!r}")
        if path != "-" and Path(path).is_dir():
            raise ValueError(f"classify: {path} is a folder; folders are read as documents (--format documents)")
        if fmt == "parquet":
            if path == "-":
                raise ValueError("classify: Parquet cannot be read from stdin; give the file")
            records = self._parquet(path)
        else:
            handle = sys.stdin.buffer if path == "-" else (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb"))
            records = self._lines(handle, name, fmt) if fmt in ("lines", "jsonl") else self._csv(handle, name, path)
        for record in records:
            if self.document and record.get("text"):
                yield from self._segment_record(record)
            else:
                yield record

    def _lines(self, handle, name: str, fmt: str) -> Iterator[dict]:
        with handle:
            for number, text, problem in read_lines(handle, name):
                record: dict[str, Any] = {"source": name, "line": number}
                if text is None:
                    yield {**record, "text": None, "error": problem}
                    continue
                if problem:
                    record["warning"] = problem
                if fmt == "lines":
                    yield {**record, "text": text}
                    continue
                if not text.strip():
                    continue  # a blank JSONL line is no record
                try:
                    data = json.loads(text)
                except json.JSONDecodeError as error:
                    yield {**record, "text": None, "error": f"{name} line {number}: not valid JSON ({error.msg})"}
                    continue
                yield {**record, **self._from_mapping(data, f"{name} line {number}")}

    def _from_mapping(self, data: Any, where: str) -> dict:
        if not isinstance(data, dict):
            return {"text": None, "error": f"{where}: a JSON {type(data).__name__}, not an object"}
        text = data.get(self.text_field)
        out: dict[str, Any] = {}
        if self.id_field:
            out["id"] = data.get(self.id_field)
        elif data.get("id") is not None:  # an "id" field is copied without being named
            out["id"] = data["id"]
        if text is None:
            return {**out, "text": None, "error": f"{where}: no {self.text_field!r} field (--text-field names it)"}
        if not isinstance(text, str):
            return {**out, "text": None, "error": f"{where}: {self.text_field!r} is a {type(text).__name__}, not text"}
        return {**out, "text": text}

    def _csv(self, handle, name: str, path: str) -> Iterator[dict]:
        delimiter = "\t" if path.lower().removesuffix(".gz").endswith(".tsv") else ","
        csv.field_size_limit(1 << 24)
        with io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace", newline="") as text:
            reader = csv.DictReader(text, delimiter=delimiter)
            if reader.fieldnames is None:
                return
            if self.text_field not in reader.fieldnames:
                raise ValueError(f"classify: {name} has no column {self.text_field!r} (columns: {reader.fieldnames}); "
                                 "name it with --text-field")
            try:
                for number, row in enumerate(reader, 2):
                    record = {"source": name, "row": number, **self._from_mapping(row, f"{name} row {number}")}
                    if record.get("text") and "\ufffd" in record["text"]:
                        record["warning"] = "bytes that are not UTF-8 were replaced by U+FFFD"
                    yield record
            except csv.Error as error:
                yield {"source": name, "row": reader.line_num, "text": None, "error": f"{name}: not valid CSV ({error})"}

    def _parquet(self, path: str) -> Iterator[dict]:
        import pyarrow.parquet as pq

        table = pq.ParquetFile(path)
        names = table.schema_arrow.names
        if self.text_field not in names:
            raise ValueError(f"classify: {path} has no column {self.text_field!r} (columns: {names}); "
                             "name it with --text-field")
        id_field = self.id_field or ("id" if "id" in names else None)
        columns = [self.text_field] + ([id_field] if id_field and id_field in names else [])
        number = 0
        for batch in table.iter_batches(columns=columns, batch_size=BATCH):
            for row in batch.to_pylist():
                number += 1
                yield {"source": path, "row": number, **self._from_mapping(row, f"{path} row {number}")}

    def _documents(self, path: str) -> Iterator[dict]:
        from .corpus import load_corpus

        if path == "-":
            raise ValueError("classify: documents cannot be read from stdin; give a file or folder")
        corpus = load_corpus(path, on_error="skip")
        for document in corpus:
            yield from self._passages(document, {"source": path})
        skipped = corpus.report.skipped
        if skipped:
            self.errors += len(skipped)
            self.notes.append(f"{path}: {corpus.report.summary()}")
            for skip in skipped[:20]:
                print(f"darien-nlp: skipped {skip.source}{':' + skip.location if skip.location else ''}: {skip.reason}",
                      file=sys.stderr)

    def _segment_record(self, record: dict) -> Iterator[dict]:
        from .corpus import Document, normalise

        doc_id = str(record.get("id") if record.get("id") is not None else record.get("line", record.get("row")))
        base = {k: v for k, v in record.items() if k not in ("text",)}
        yield from self._passages(Document(doc_id=doc_id, text=normalise(record["text"])), base)

    def _passages(self, document, base: dict) -> Iterator[dict]:
        from .corpus import context_span, segment

        window = getattr(self.model, "context_chars", None)
        for passage in segment(document):
            item = {**base, "doc_id": document.doc_id, "passage_id": passage.passage_id, "start": passage.start,
                    "end": passage.end, "text": passage.text}
            if window is not None:
                left, right = context_span(document.text, passage.start, passage.end, window)
                item["context"] = document.text[left:right]
                # where both texts sit in their document (never written): one tokenisation per document
                item[_SPAN] = (document.text, passage.start, passage.end, left, right)
            yield item

    # ---- classifying and writing ----

    def run(self, paths: list[str], fmt: str | None, writer) -> int:
        from collections import deque

        from .embed.static import document_spans

        pool = self._pool() if self.jobs > 1 else None
        pending: deque = deque()  # (batch, readable, future) in input order; at most 2 per worker in flight

        def submit(batch: list[dict]):
            readable = [item for item in batch if item.get("text") is not None]
            texts = [item["text"] for item in readable]
            contexts = [item.get("context") for item in readable]
            contexts = contexts if any(c is not None for c in contexts) else None
            if pool is None:
                with document_spans(_batch_spans(readable)):
                    results = _worker_classify(self.model, self.threshold, texts, contexts,
                                               self.details) if texts else []
                write(batch, readable, results)
            else:
                located = _as_documents(readable) if texts else None
                future = None if not texts else (
                    pool.submit(_worker_classify_documents, self.model_name, self.threshold, *located, self.details)
                    if located else pool.submit(_worker_classify, self.model_name, self.threshold, texts, contexts,
                                                self.details))
                pending.append((batch, readable, future))
                while len(pending) > 2 * self.jobs:
                    done, ready, future = pending.popleft()
                    write(done, ready, future.result() if future is not None else [])

        def write(batch: list[dict], readable: list[dict], results: list):
            for item, (labels, scores, details) in zip(readable, results):
                item["labels"], item["scores"] = labels, scores
                if details is not None:
                    item.update(details)
            for item in batch:
                item.pop("context", None)
                item.pop("text", None)
                item.pop(_SPAN, None)
                if "error" in item:
                    self.errors += 1
                    print(f"darien-nlp: {item['error']}", file=sys.stderr)
                writer.write(item)
            self.records += len(batch)
            if self.progress:
                print(f"\r{self.records:,} records", end="", file=sys.stderr, flush=True)

        try:
            batch: list[dict] = []
            for path in paths:
                for item in self.items(path, input_format(path, fmt)):
                    batch.append(item)
                    if len(batch) >= BATCH:
                        submit(batch)
                        batch = []
            if batch:
                submit(batch)
            while pending:
                done, ready, future = pending.popleft()
                write(done, ready, future.result() if future is not None else [])
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        if self.progress:
            print(file=sys.stderr)
        for note in self.notes:
            print(f"darien-nlp: {note}", file=sys.stderr)
        if self.errors:
            print(f"darien-nlp: {self.records:,} records, {self.errors:,} could not be read or classified", file=sys.stderr)
        return 1 if self.errors else 0


_COLUMNS = ["source", "line", "row", "id", "doc_id", "passage_id", "start", "end", "labels",
            *(f"score_{label}" for label in LABELS), "warning", "error"]


def _columns(details: bool) -> list[str]:
    """The CSV / Parquet columns, with :data:`DETAIL_FIELDS` before warning and error under ``--details``."""
    return _COLUMNS[:-2] + list(DETAIL_FIELDS) + _COLUMNS[-2:] if details else list(_COLUMNS)


class Writer:
    """Writes output records as JSONL, CSV or Parquet to stdout or, all at once, to a file."""

    def __init__(self, path: str, fmt: str, details: bool = False):
        if fmt == "parquet" and path == "-":
            raise ValueError("classify: Parquet output needs a file (--output results.parquet)")
        self.path, self.fmt = path, fmt
        self.columns = _columns(details)
        self._atomic = None  # persistence.atomic_path for a file: written beside it, renamed at the end
        self.partial = None
        self.handle = None
        self.csv = None
        self.parquet = None
        self.rows: list[dict] = []

    def __enter__(self):
        from .persistence import atomic_path

        if self.path != "-":
            self._atomic = atomic_path(self.path)
            self.partial = self._atomic.__enter__()
        if self.fmt != "parquet":
            self.handle = sys.stdout if self.partial is None else open(self.partial, "w", encoding="utf-8", newline="")
            if self.fmt == "csv":
                self.csv = csv.DictWriter(self.handle, fieldnames=self.columns, extrasaction="ignore")
                self.csv.writeheader()
        return self

    def _flat(self, record: dict) -> dict:
        flat = {k: v for k, v in record.items() if k not in ("labels", "scores")}
        if "labels" in record:
            flat["labels"] = ";".join(record["labels"])
            flat.update({f"score_{k}": v for k, v in record["scores"].items()})
        return flat

    def write(self, record: dict) -> None:
        if self.fmt == "jsonl":
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        elif self.fmt == "csv":
            self.csv.writerow(self._flat(record))
        else:
            self.rows.append(self._flat(record))
            if len(self.rows) >= BATCH:
                self._parquet_flush()

    def _schema(self):
        import pyarrow as pa

        types = {"line": pa.int64(), "row": pa.int64(), "start": pa.int64(), "end": pa.int64(),
                 **{f"score_{label}": pa.float64() for label in LABELS}, "scope": pa.float64(),
                 "mixed_language": pa.bool_(), "supported_language": pa.bool_(), "truncated": pa.bool_()}
        return pa.schema([(name, types.get(name, pa.string())) for name in self.columns])

    def _parquet_flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.rows:
            return
        schema = self._schema()
        table = pa.table({field.name: pa.array([None if (v := row.get(field.name)) is None
                                                else (str(v) if field.type == pa.string() else v) for row in self.rows],
                                               type=field.type) for field in schema}, schema=schema)
        if self.parquet is None:
            self.parquet = pq.ParquetWriter(str(self.partial), schema)
        self.parquet.write_table(table)
        self.rows = []

    def __exit__(self, kind, error, traceback):
        try:
            if self.fmt == "parquet":
                if error is None:
                    self._parquet_flush()
                    if self.parquet is None:  # no record at all: an empty file with the schema
                        import pyarrow.parquet as pq

                        pq.write_table(self._schema().empty_table(), str(self.partial))
                if self.parquet is not None:
                    self.parquet.close()
            elif self.handle is sys.stdout:
                sys.stdout.flush()
            elif self.handle is not None:
                self.handle.close()
        finally:
            if self._atomic is not None:  # renamed on success; deleted after an error or Ctrl-C
                self._atomic.__exit__(kind, error, traceback)
        return False
