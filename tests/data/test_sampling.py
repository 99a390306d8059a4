"""The annotation sample is reproducible from its seed, and a later round never redraws a passage."""
import gzip
import json

from darien_nlp.data import doc_key
from darien_nlp.sampling import CORPUS_FILES, draw_annotation_sample


def _corpora(tmp_path):
    folder = tmp_path / "corpora"
    (folder / "wh-migration-americas-md").mkdir(parents=True)
    (folder / "wh-migration-americas-md" / "wh__other.md").write_text("---\ntitle: x\n---\nx\n")
    wh = [
        "Migrants crossing the Darién face deadly rivers and need shelter and protection.\n\n"
        "Smuggling networks that move migrants through the jungle will be dismantled by border police.\n\n"
        "Investment and jobs in border communities address the root causes of migration in the region.",
        "The Treasury will enforce tax law and the development of vaccines continues across the country.\n\n"
        "Our investment climate and the business environment keep improving for small firms everywhere.",
    ]
    state = ["Refugee resettlement and parole for Venezuelan migrants expanded in Colombia and Panama this year."]
    for key, texts in (("wh", wh), ("state", state)):
        with gzip.open(folder / CORPUS_FILES[key], "wt", encoding="utf-8") as handle:
            for i, text in enumerate(texts):
                handle.write(json.dumps({"id": f"wh/d{i}" if key == "wh" else f"s{i}", "date": "2023-01-01",
                                         "title": f"T{i}", "text": text}) + "\n")
    return folder


def test_same_seed_same_sample_and_no_text_in_references(tmp_path):
    folder = _corpora(tmp_path)
    first = draw_annotation_sample(folder, seed=3, sizes={"wh_migration_terms": 2, "wh_hard_negative": 1})
    again = draw_annotation_sample(folder, seed=3, sizes={"wh_migration_terms": 2, "wh_hard_negative": 1})
    assert [r["sha256"] for r in first] == [r["sha256"] for r in again]
    assert {r["stratum"] for r in first} == {"wh_migration_terms", "wh_hard_negative"}
    assert len(first) == 3


def test_exclude_skips_passages_drawn_before(tmp_path):
    folder = _corpora(tmp_path)
    sizes = {"wh_migration_terms": 10, "state_migration_terms": 10}
    everything = draw_annotation_sample(folder, seed=1, sizes=sizes)
    taken = {(r["corpus"], doc_key(r["doc_id"]), r["start"], r["end"]) for r in everything[:2]}
    later = draw_annotation_sample(folder, seed=1, sizes=sizes, exclude=taken)
    assert len(later) == len(everything) - 2
    assert not taken & {(r["corpus"], doc_key(r["doc_id"]), r["start"], r["end"]) for r in later}
