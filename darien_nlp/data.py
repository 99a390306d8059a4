"""Gold annotations stored by reference: rebuild passages from the corpora, check hashes, splits.

Annotations never carry corpus text.  Each record names ``corpus`` (file
name), ``doc_id``, ``start``/``end`` (offsets into the normalised document
text) and the ``sha256`` of the passage; :func:`load_gold` re-reads the
corpora (from a parameter or ``DARIEN_NLP_CORPORA``), rebuilds every passage
and refuses any whose hash differs.  Seed passages (committed in ``seeds/``)
join through the same loader.

>>> GoldPassage.__dataclass_fields__.keys() >= {"passage_id", "labels", "split"}
True
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .corpus import context_window, load_corpus, text_sha256
from .taxonomy import LABELS, labels_to_matrix, validate_labels

__all__ = ["GoldPassage", "GoldDataError", "CorporaNotFoundError", "load_gold", "resolve_corpora", "doc_key",
           "annotations_dir", "read_annotations", "gold_fingerprint", "merge_passes", "reference_key", "SPLITS"]

SPLITS = ("train", "dev", "test", "seeds")
SEEDS_CORPUS = "seeds"
#: The seed documents are the folder's text files (beside them: annotations, passes, README).
SEED_FILES = ("*.txt",)


class GoldDataError(ValueError):
    """Gold data that cannot be rebuilt: a corpus file missing or changed, a bad record."""


class CorporaNotFoundError(FileNotFoundError):
    """No corpora folder: pass ``corpora=`` or set ``DARIEN_NLP_CORPORA``."""


@dataclass(frozen=True, slots=True)
class GoldPassage:
    """One gold passage with its text rebuilt from the corpus and its adjudicated labels."""

    passage_id: str
    corpus: str
    doc_id: str
    start: int
    end: int
    text: str
    labels: tuple[str, ...]
    split: str
    annotation_pass: str
    stratum: str | None = None
    #: The passage with the text around it in its document (``load_gold(context_chars=...)``).
    context: str | None = None


def doc_key(doc_id: str) -> str:
    """A short, wordless reference to a document: the first 16 hex digits of sha256(doc_id).

    Gold files store this instead of the corpus's own ids (White House ids are title slugs,
    i.e. corpus words).

    >>> doc_key("articles/2025-02/example")
    '2891c1bec5f6666b'
    """
    return text_sha256(doc_id)[:16]


def record_doc(record: dict) -> str:
    """The document reference of an annotation record: ``doc`` (a key) or ``doc_id``."""
    return record.get("doc") or doc_key(record["doc_id"])


def split_key(record: dict) -> str:
    """``"corpus|document key"``: how ``splits.json`` names the document a record belongs to."""
    return f"{record['corpus']}|{record_doc(record)}"


def reference_key(record: dict) -> tuple[str, str, int, int]:
    """``(corpus, document key, start, end)``: what identifies a passage across passes and rounds."""
    return (record.get("corpus", SEEDS_CORPUS), record_doc(record), record["start"], record["end"])


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def annotations_dir() -> Path:
    """``experiments/annotations`` in the repository."""
    return repo_root() / "experiments" / "annotations"


def resolve_corpora(corpora: str | os.PathLike | None = None) -> Path:
    """The corpora folder from the argument or ``DARIEN_NLP_CORPORA``; raise when neither exists."""
    value = corpora if corpora is not None else os.environ.get("DARIEN_NLP_CORPORA")
    if value is None:
        raise CorporaNotFoundError(
            "No corpora folder given: pass corpora=PATH or set DARIEN_NLP_CORPORA "
            "(on the project machines: ../shared/corpora)"
        )
    path = Path(value)
    if not path.is_dir():
        raise CorporaNotFoundError(f"Corpora folder {str(path)!r} does not exist")
    return path


def read_annotations(path: str | Path) -> list[dict]:
    """Read a JSONL file of annotation references, checking every record's fields and labels."""
    path = Path(path)
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise GoldDataError(f"{path}:{number}: not valid JSON ({error.msg})") from error
            missing = {"start", "end", "labels"} - set(record)
            if "doc" not in record and "doc_id" not in record:
                missing.add("doc")
            if missing:
                raise GoldDataError(f"{path}:{number}: missing fields {sorted(missing)}")
            try:
                record["labels"] = list(validate_labels(record["labels"], where=f"{path}:{number}"))
            except (ValueError, TypeError) as error:
                raise GoldDataError(str(error)) from error
            records.append(record)
    return records


def merge_passes(passes: dict[str, Iterable[dict]], *, lead: str = "c") -> tuple[list[dict], list[dict]]:
    """Join independent annotation passes into final labels; return ``(merged, unresolved)``.

    Per passage (matched on corpus, document, offsets): one pass -> its labels; passes that
    agree -> their labels (``"a+c agree"``, ``"a=b=c"``); three or more that differ -> the
    label-wise majority (``"majority(a,b,c)"``); two that differ -> the ``lead`` pass where it
    is one of them (``"adjudicated by c"``), else the passage is *unresolved* and returned in
    the second list (with every pass's labels under ``votes``) for a further blind pass.
    """
    votes: dict[tuple, dict[str, dict]] = {}
    for name in sorted(passes):
        for record in passes[name]:
            key = reference_key(record)
            if name in votes.setdefault(key, {}):
                raise GoldDataError(f"pass {name!r} labels passage {key} twice")
            votes[key][name] = record
    merged, unresolved = [], []
    for key, by_pass in votes.items():
        names = sorted(by_pass)
        sets = {name: set(by_pass[name]["labels"]) for name in names}
        base = {k: v for k, v in by_pass[names[0]].items() if k not in ("labels", "pass")}
        if len(names) == 1:
            labels, how = sets[names[0]], names[0]
        elif all(sets[name] == sets[names[0]] for name in names):
            labels, how = sets[names[0]], ("+".join(names) + " agree") if len(names) == 2 else "=".join(names)
        elif len(names) >= 3:
            labels = {label for label in LABELS if 2 * sum(label in s for s in sets.values()) > len(names)}
            how = f"majority({','.join(names)})"
        elif lead in names:
            labels, how = sets[lead], f"adjudicated by {lead}"
        else:
            unresolved.append({**base, "votes": {name: sorted(sets[name], key=LABELS.index) for name in names}})
            continue
        merged.append({**base, "labels": [label for label in LABELS if label in labels], "pass": how})
    return merged, unresolved


def _seed_records(seeds_dir: Path) -> list[dict]:
    path = seeds_dir / "annotations.jsonl"
    if not path.is_file():
        raise GoldDataError(f"No seed annotations at {path}")
    records = read_annotations(path)
    for record in records:
        record.setdefault("corpus", SEEDS_CORPUS)
        record.setdefault("split", "seeds")
    return records


def _rebuild(records: list[dict], source: Path, corpus_name: str,
             context_chars: int | None = None) -> dict[tuple[str, int, int], tuple[str, str, str | None]]:
    """Read the documents the records need from ``source``; return (doc, start, end) -> (doc_id, text, context)."""
    needed = defaultdict(list)
    for record in records:
        needed[record_doc(record)].append(record)
    texts: dict[tuple[str, int, int], tuple[str, str, str | None]] = {}
    found = set()
    include = SEED_FILES if corpus_name == SEEDS_CORPUS else None
    for document in load_corpus(source, select=lambda doc_id: doc_key(doc_id) in needed, on_error="skip",
                                include=include):
        key = doc_key(document.doc_id)
        if key not in needed:
            continue
        found.add(key)
        for record in needed[key]:
            start, end = record["start"], record["end"]
            context = None
            if context_chars is not None and end <= len(document.text):
                context = context_window(document.text, start, end, context_chars)
            texts[(key, start, end)] = (document.doc_id, document.text[start:end], context)
    missing = sorted(set(needed) - found)
    if missing:
        raise GoldDataError(
            f"{corpus_name}: {len(missing)} annotated documents are not in {source} "
            f"(first: {missing[0]!r}); the corpus file is not the one the annotations were made on"
        )
    return texts


def load_gold(corpora: str | os.PathLike | None = None, *, splits: Iterable[str] | None = None,
              include_seeds: bool = True, annotations: str | os.PathLike | None = None,
              seeds_dir: str | os.PathLike | None = None, context_chars: int | None = None) -> list[GoldPassage]:
    """Rebuild the gold passages (corpus references + seeds) with every hash verified.

    ``splits`` keeps only those splits (``train``, ``dev``, ``test``, ``seeds``).
    ``context_chars`` also fills each passage's ``context``: the passage with up to that
    many characters of its document on each side (what the ``context`` backend reads).
    Raises :class:`CorporaNotFoundError` when no corpora folder is available and
    :class:`GoldDataError` naming the passage when a text no longer matches its hash.

    >>> gold = load_gold("/path/to/corpora", splits=["test"])  # doctest: +SKIP
    """
    folder = Path(annotations) if annotations is not None else annotations_dir()
    seeds = Path(seeds_dir) if seeds_dir is not None else repo_root() / "seeds"
    wanted = set(SPLITS if splits is None else splits)
    if context_chars is not None and (isinstance(context_chars, bool) or not isinstance(context_chars, int)
                                      or context_chars < 0):
        raise ValueError(f"The 'context_chars' parameter of load_gold must be an int >= 0 or None. Got {context_chars!r}.")
    unknown = wanted - set(SPLITS)
    if unknown:
        raise ValueError(f"The 'splits' parameter of load_gold must hold only {list(SPLITS)}. Got {sorted(unknown)}.")
    records: list[dict] = []
    if wanted - {"seeds"}:
        gold_path = folder / "gold.jsonl"
        if not gold_path.is_file():
            raise GoldDataError(f"No gold annotations at {gold_path}")
        split_of = _split_table(folder)
        for record in read_annotations(gold_path):
            record["split"] = split_of.get(split_key(record)) or (
                split_of.get(f"{record['corpus']}|{record['doc_id']}") if "doc_id" in record else None)
            if record["split"] is None:
                raise GoldDataError(f"{gold_path}: document {record_doc(record)!r} has no split in splits.json")
            if record["split"] in wanted:
                records.append(record)
    if include_seeds and "seeds" in wanted:
        records.extend(_seed_records(seeds))
    by_corpus = defaultdict(list)
    for record in records:
        by_corpus[record.get("corpus", SEEDS_CORPUS)].append(record)
    texts: dict[tuple[str, str, int, int], tuple[str, str, str | None]] = {}
    for corpus_name, group in by_corpus.items():
        if corpus_name == SEEDS_CORPUS:
            source = seeds
        else:
            source = resolve_corpora(corpora) / corpus_name
            if not source.exists():
                raise GoldDataError(
                    f"Corpus file {corpus_name!r} is missing from {source.parent}: "
                    f"{len(group)} gold passages reference it"
                )
        for key, text in _rebuild(group, source, corpus_name, context_chars).items():
            texts[(corpus_name,) + key] = text
    gold = []
    for record in records:
        corpus_name = record.get("corpus", SEEDS_CORPUS)
        doc_id, text, context = texts[(corpus_name, record_doc(record), record["start"], record["end"])]
        expected = record.get("sha256")
        passage_id = record.get("passage_id") or f"{doc_id}:{record.get('index', record['start'])}:{text_sha256(text)[:8]}"
        if expected and text_sha256(text) != expected:
            raise GoldDataError(
                f"Passage {passage_id!r} ({corpus_name}, {doc_id} [{record['start']}:{record['end']}]) no longer "
                "matches its sha256: the corpus file or the normaliser changed since it was annotated"
            )
        gold.append(GoldPassage(
            passage_id=passage_id, corpus=corpus_name, doc_id=doc_id,
            start=record["start"], end=record["end"], text=text, labels=tuple(record["labels"]),
            split=record["split"], annotation_pass=record.get("pass", "unknown"), stratum=record.get("stratum"),
            context=context,
        ))
    return gold


def _split_table(folder: Path) -> dict[str, str]:
    path = folder / "splits.json"
    if not path.is_file():
        raise GoldDataError(f"No split table at {path}")
    return json.loads(path.read_text(encoding="utf-8"))["documents"]


def gold_fingerprint(gold: Iterable[GoldPassage]) -> str:
    """sha256 over sorted ``passage_id`` + labels: identifies the training data of a model."""
    lines = sorted(f"{g.corpus}|{g.passage_id}|{','.join(g.labels)}" for g in gold)
    return text_sha256("\n".join(lines))


def source_groups(passages: Iterable[GoldPassage]) -> list[str]:
    """``"corpus|document"`` per passage: the ``groups`` that keep a document's passages in one fold and
    name their source for :class:`darien_nlp.PolicyClassifier` (``source_weight``, ``f1_source_mean``)."""
    return [f"{g.corpus}|{g.doc_id}" for g in passages]


def label_matrix(gold: Iterable[GoldPassage]) -> np.ndarray:
    """(n, 5) indicator matrix of the gold labels."""
    return labels_to_matrix([g.labels for g in gold])


def _place(key, split, documents, assignment, sizes, counts) -> None:
    assignment[key] = split
    sizes[split] += len(documents[key])
    for record in documents[key]:
        for label in record["labels"]:
            counts[split][label] += 1


def assign_splits(records: Iterable[dict], *, seed: int, fractions=(("train", 0.65), ("dev", 0.15), ("test", 0.20)),
                  min_test_positives: int = 30, fixed: dict[str, str] | None = None) -> dict[str, str]:
    """Assign whole documents to splits, stratified by label so rare labels reach every split.

    ``fixed`` (``{"corpus|doc_id": split}``, e.g. the committed ``splits.json``) keeps those
    documents where they are and counts them first, so that adding annotated documents
    never moves a document already in dev or test; only the other documents are placed.

    Documents are taken rarest-label first, those with the most positives of that label first
    (ties broken by a seeded shuffle); each goes to the
    split furthest below its target share of that document's rarest label (or, for documents
    without labels, of passages).  A label too rare for ``min_test_positives`` at the test
    fraction gets a larger test share (at most half).  Returns ``{"corpus|doc_id": split}``.
    """
    import random

    documents: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        documents[split_key(record)].append(record)
    totals = {label: sum(label in r["labels"] for rs in documents.values() for r in rs) for label in LABELS}
    total_passages = sum(len(rs) for rs in documents.values())
    keys = sorted(documents)
    random.Random(seed).shuffle(keys)

    def rarest(key):
        present = {label for r in documents[key] for label in r["labels"]}
        return min(present, key=lambda label: totals[label]) if present else None

    def weight(key):  # how many positives of its rarest label a document brings: big lumps are placed first
        label = rarest(key)
        return sum(label in r["labels"] for r in documents[key]) if label else 0

    order = sorted(keys, key=lambda key: (totals[rarest(key)] if rarest(key) else 10**9, -weight(key)))
    names = [name for name, _ in fractions]
    base = dict(fractions)

    def shares(label) -> dict[str, float]:
        """Target shares for a label: test gets enough for ``min_test_positives`` (with a 10 % margin, at most half)."""
        if "test" not in base or not totals[label]:
            return base
        test = min(0.5, max(base["test"], 1.1 * min_test_positives / totals[label]))
        rest = (1.0 - test) / max(1.0 - base["test"], 1e-9)
        return {name: (test if name == "test" else share * rest) for name, share in base.items()}

    label_shares = {label: shares(label) for label in LABELS}
    counts = {name: defaultdict(int) for name in names}
    sizes = {name: 0 for name in names}
    assignment = {}
    fixed = fixed or {}
    for key in keys:
        if key in fixed:
            if fixed[key] not in names:
                raise ValueError(f"document {key!r} is fixed to unknown split {fixed[key]!r}; splits are {names}")
            _place(key, fixed[key], documents, assignment, sizes, counts)
    for key in order:
        if key in fixed:
            continue
        label = rarest(key)
        if label is not None:
            deficit = {name: label_shares[label][name] * totals[label] - counts[name][label] for name in names}
        else:
            deficit = {name: share * total_passages - sizes[name] for name, share in fractions}
        split = max(names, key=lambda name: (deficit[name], -names.index(name)))
        _place(key, split, documents, assignment, sizes, counts)
    short = {label: counts["test"][label] for label in LABELS
             if "test" in counts and counts["test"][label] < min_test_positives}
    if short:
        import logging

        logging.getLogger(__name__).warning("test split has fewer than %d positives for %s", min_test_positives, short)
    return assignment


class SyntheticDataError(ValueError):
    """A synthetic-passage file that breaks the rules of :func:`load_synthetic`."""


def load_synthetic(paths: Iterable[str | os.PathLike]) -> list[GoldPassage]:
    """Synthetic training passages (written from ANNOTATION.md, never read from any corpus).

    Every record must carry ``"synthetic": true``, a ``synthetic_id``, ``text`` and ``labels``;
    the passages come back as training-only :class:`GoldPassage` objects with corpus
    ``"synthetic"`` and ``stratum="synthetic"``, so no evaluation split can ever hold them.
    Raises :class:`SyntheticDataError` naming the file and line of a bad record.
    """
    from .taxonomy import LABELS

    passages: list[GoldPassage] = []
    seen: set[str] = set()
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise SyntheticDataError(f"No synthetic-passage file at {str(path)!r}")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise SyntheticDataError(f"{path}:{number}: not JSON ({error.msg})") from None
            if not isinstance(record, dict) or record.get("synthetic") is not True:
                raise SyntheticDataError(f"{path}:{number}: a synthetic passage must say \"synthetic\": true")
            ident, text, labels = record.get("synthetic_id"), record.get("text"), record.get("labels")
            if not isinstance(ident, str) or not ident or ident in seen:
                raise SyntheticDataError(f"{path}:{number}: missing or repeated synthetic_id {ident!r}")
            if not isinstance(text, str) or not text.strip():
                raise SyntheticDataError(f"{path}:{number}: empty text")
            if not isinstance(labels, list) or any(label not in LABELS for label in labels):
                raise SyntheticDataError(f"{path}:{number}: labels must be a list drawn from {list(LABELS)}")
            seen.add(ident)
            passages.append(GoldPassage(passage_id=ident, corpus="synthetic", doc_id=ident, start=0, end=len(text),
                                        text=text, labels=tuple(l for l in LABELS if l in labels), split="train",
                                        annotation_pass=str(record.get("author", "synthetic")), stratum="synthetic"))
    return passages


def cap_synthetic(real: Sequence[GoldPassage], synthetic: Sequence[GoldPassage], share: float = 0.2,
                  seed: int = 0) -> list[GoldPassage]:
    """Keep synthetic passages (in a seeded order) while, for every label, they stay at most
    ``share`` of that label's training positives (real + synthetic)."""
    import random

    from .taxonomy import LABELS

    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 <= share < 1.0:
        raise ValueError(f"share must be a number in [0, 1). Got {share!r} instead.")
    real_positives = {label: sum(label in g.labels for g in real) for label in LABELS}
    order = list(synthetic)
    random.Random(seed).shuffle(order)
    kept: list[GoldPassage] = []
    counts = dict.fromkeys(LABELS, 0)
    for passage in order:
        if all((counts[l] + 1) <= share * (real_positives[l] + counts[l] + 1) for l in passage.labels):
            kept.append(passage)
            for label in passage.labels:
                counts[label] += 1
    return sorted(kept, key=lambda g: g.passage_id)
