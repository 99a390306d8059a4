"""The committed seed gold labels cover every seed passage and still match the segmenter."""
import json

from darien_nlp.corpus import load_corpus, segment
from darien_nlp.data import load_gold, read_annotations


def test_every_seed_passage_is_annotated_once(seeds_dir):
    records = read_annotations(seeds_dir / "annotations.jsonl")
    expected = {(d.doc_id, p.start, p.end, p.text) for d in load_corpus(seeds_dir, include="*.txt") for p in segment(d)}
    got = {(r["doc_id"], r["start"], r["end"], r["text"]) for r in records}
    assert got == expected
    assert len(records) == len(expected)
    assert all(r["lang"] == "en" and r["pass"] for r in records)


def test_seed_gold_loads_through_the_gold_loader(seeds_dir):
    gold = load_gold(splits=["seeds"], seeds_dir=seeds_dir)
    assert {g.split for g in gold} == {"seeds"}
    by_text = {g.text: set(g.labels) for g in gold}
    # Two passages whose labels ANNOTATION.md spells out in its own examples.
    combat = next(t for t in by_text if t.startswith("Combat human smuggling and trafficking networks"))
    assert by_text[combat] == {"enforcement", "humanitarian"}
    pathways = "Open new and flexible lawful pathways to reduce irregular migration."
    assert by_text[pathways] == {"lawful_pathways"}


def test_two_independent_passes_cover_every_seed_passage(seeds_dir):
    gold = {r["passage_id"] for r in read_annotations(seeds_dir / "annotations.jsonl")}
    coverage = {passage_id: 0 for passage_id in gold}
    for path in sorted((seeds_dir / "passes").glob("*.jsonl")):
        records = [json.loads(line) for line in path.read_text().splitlines()]
        assert {r["pass"] for r in records} <= {path.stem}
        for record in records:
            coverage[record["passage_id"]] += 1
    assert min(coverage.values()) >= 2
