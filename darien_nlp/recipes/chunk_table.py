"""Recipe ``chunk_table.v1``: ship a static model's first pass warm.

The fast static encoder caches the token ids of every whitespace chunk it has seen; a new process
starts with an empty cache, so its first pass over a stream tokenises everything (about half the
warm speed).  This recipe counts the chunks of the corpora's passages, tokenises the most frequent
``size`` of them with the model's own tokenizer, and stores them in the model folder
(``chunks.safetensors``, in its manifest), which the encoder loads into its cache.  The ids are the
tokenizer's own, so embeddings are unchanged.  The report gives the share of chunk occurrences the
table covers on the corpora it was built from and on corpora it never saw, and its load time.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

from ..experiments import Recipe, RunContext

logger = logging.getLogger(__name__)


def _chunk_counts(path: Path, max_chars: int, limit: int | None = None) -> Counter:
    from ..corpus import load_corpus, segment

    counts: Counter = Counter()
    for number, document in enumerate(load_corpus(path, on_error="skip")):
        if limit is not None and number >= limit:
            break
        for passage in segment(document):
            counts.update(passage.text[:max_chars].split())
    return counts


def run(context: RunContext) -> dict:
    from ..embed.static import CHUNK_TABLE, read_chunk_table, write_chunk_table

    config = context.config
    folder = context.path(config["model"]["dir"])
    if not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(f"model.dir: no static model at {folder}")
    max_chars = config["table"]["max_chars"]
    counts: Counter = Counter()
    started = time.perf_counter()
    for name in config["data"]["build_from"]:
        counts.update(_chunk_counts(context.corpora() / name, max_chars))
    chunks = [chunk for chunk, n in counts.most_common(config["table"]["size"]) if n >= config["table"]["min_count"]]
    path = write_chunk_table(folder, chunks)
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    table = read_chunk_table(path)
    load_seconds = time.perf_counter() - started
    total = sum(counts.values())
    coverage = {"built from": sum(n for c, n in counts.items() if c in table) / max(total, 1)}
    for name in config["data"]["check_on"]:
        other = _chunk_counts(context.corpora() / name, max_chars, limit=config["data"]["check_documents"])
        coverage[name] = sum(n for c, n in other.items() if c in table) / max(sum(other.values()), 1)
    metrics = {"chunks": len(table), "bytes": path.stat().st_size, "distinct_chunks_seen": len(counts),
               "chunk_occurrences": total, "coverage": coverage, "build_seconds": round(build_seconds, 1),
               "load_seconds": round(load_seconds, 3), "file": str(path.relative_to(context.root)
                                                                  if path.is_relative_to(context.root) else path)}
    report = "\n".join([
        f"# {config['experiment']['name']}", "",
        f"`{metrics['file']}`: the {len(table):,} most frequent whitespace chunks (of {len(counts):,} distinct, seen "
        f"at least {config['table']['min_count']} times) of {', '.join(config['data']['build_from'])}, with their token "
        f"ids ({metrics['bytes'] / 2**20:.1f} MB; loads in {load_seconds:.2f} s).", "",
        "| text | share of chunk occurrences in the table |", "|---|---|",
        *(f"| {name} | {share:.1%} |" for name, share in coverage.items()), ""])
    (context.run_dir / "report.md").write_text(report, encoding="utf-8")
    print(report)
    return metrics


RECIPE = Recipe(
    schema={"data": {"corpora": "", "build_from": ["wh-briefings-2021-2026.jsonl.gz", "state-dept-press-2021-2022.jsonl.gz"],
                     "check_on": ["undp-acclabs-en-es-2019-2025.jsonl.gz"], "check_documents": 200},
            "model": {"dir": "models/static-minilm-v1"},
            "table": {"size": 200_000, "min_count": 2, "max_chars": 1536}},
    run=run,
)
