import gzip
import json

import pytest

from darien_nlp.corpus import load_corpus, segment
from darien_nlp.data import CorporaNotFoundError, GoldDataError, assign_splits, gold_fingerprint, load_gold


def _make_corpus(folder, texts):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mini.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for i, text in enumerate(texts):
            handle.write(json.dumps({"id": f"d{i}", "date": "2023-01-01", "title": f"T{i}", "text": text}) + "\n")
    return path


@pytest.fixture()
def gold_setup(tmp_path, tiny_seeds):
    corpora = tmp_path / "corpora"
    path = _make_corpus(corpora, ["Smuggling networks exploit migrants.\n\nThe jobs report was strong.",
                                  "Safe Mobility Offices opened in Colombia."])
    annotations = tmp_path / "annotations"
    annotations.mkdir()
    records, splits = [], {}
    labels = {"Smuggling networks exploit migrants.": ["enforcement", "humanitarian"],
              "The jobs report was strong.": [], "Safe Mobility Offices opened in Colombia.": ["lawful_pathways"]}
    for document in load_corpus(path):
        splits[f"mini.jsonl.gz|{document.doc_id}"] = "train" if document.doc_id == "d0" else "test"
        for passage in segment(document):
            records.append({"passage_id": passage.passage_id, "corpus": "mini.jsonl.gz", "doc_id": document.doc_id,
                            "start": passage.start, "end": passage.end, "sha256": passage.sha256,
                            "labels": labels[passage.text], "pass": "a"})
    (annotations / "gold.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (annotations / "splits.json").write_text(json.dumps({"documents": splits}))
    return corpora, annotations, path


def test_rebuilds_passages_and_verifies_hashes(gold_setup, tiny_seeds):
    corpora, annotations, _ = gold_setup
    gold = load_gold(corpora, annotations=annotations, seeds_dir=tiny_seeds)
    texts = {g.text: g for g in gold if g.corpus == "mini.jsonl.gz"}
    assert texts["Smuggling networks exploit migrants."].labels == ("enforcement", "humanitarian")
    assert texts["Safe Mobility Offices opened in Colombia."].split == "test"
    seeds = [g for g in gold if g.split == "seeds"]
    assert len(seeds) == 4 and all(g.corpus == "seeds" for g in seeds)
    only_test = load_gold(corpora, annotations=annotations, seeds_dir=tiny_seeds, splits=["test"])
    assert [g.text for g in only_test] == ["Safe Mobility Offices opened in Colombia."]
    assert gold_fingerprint(gold) == gold_fingerprint(list(reversed(gold)))


def test_changed_corpus_file_names_the_passage(gold_setup, tiny_seeds):
    corpora, annotations, _ = gold_setup
    _make_corpus(corpora, ["Smuggling networks exploit many migrants.\n\nThe jobs report was strong.",
                           "Safe Mobility Offices opened in Colombia."])
    with pytest.raises(GoldDataError, match=r"Passage 'd0:0:[0-9a-f]+' .* no longer matches its sha256"):
        load_gold(corpora, annotations=annotations, seeds_dir=tiny_seeds)


def test_missing_corpus_file_is_clear(gold_setup, tiny_seeds):
    corpora, annotations, path = gold_setup
    path.unlink()
    with pytest.raises(GoldDataError, match=r"Corpus file 'mini.jsonl.gz' is missing .* 3 gold passages reference it"):
        load_gold(corpora, annotations=annotations, seeds_dir=tiny_seeds)


def test_missing_document_is_clear(gold_setup, tiny_seeds):
    corpora, annotations, _ = gold_setup
    _make_corpus(corpora, ["Only one document now."])
    with pytest.raises(GoldDataError, match=r"annotated documents are not in"):
        load_gold(corpora, annotations=annotations, seeds_dir=tiny_seeds)


def test_absent_corpora_folder(gold_setup, tiny_seeds, tmp_path, monkeypatch):
    _, annotations, _ = gold_setup
    monkeypatch.delenv("DARIEN_NLP_CORPORA", raising=False)
    with pytest.raises(CorporaNotFoundError, match="pass corpora=PATH or set DARIEN_NLP_CORPORA"):
        load_gold(annotations=annotations, seeds_dir=tiny_seeds)
    with pytest.raises(CorporaNotFoundError, match="does not exist"):
        load_gold(tmp_path / "nowhere", annotations=annotations, seeds_dir=tiny_seeds)
    # Seeds alone need no corpora.
    assert load_gold(annotations=annotations, seeds_dir=tiny_seeds, splits=["seeds"])


def test_bad_annotation_label_is_refused(gold_setup, tiny_seeds):
    corpora, annotations, _ = gold_setup
    lines = (annotations / "gold.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    record["labels"] = ["borders"]
    (annotations / "gold.jsonl").write_text("\n".join([json.dumps(record)] + lines[1:]) + "\n")
    with pytest.raises(GoldDataError, match=r"Unknown label 'borders' in .*gold.jsonl:1"):
        load_gold(corpora, annotations=annotations, seeds_dir=tiny_seeds)


def test_unknown_split_name(gold_setup):
    corpora, annotations, _ = gold_setup
    with pytest.raises(ValueError, match="The 'splits' parameter of load_gold"):
        load_gold(corpora, annotations=annotations, splits=["validation"])


def test_assign_splits_keeps_documents_whole_and_stratifies():
    records = []
    for d in range(60):
        label = ["environment"] if d % 6 == 0 else (["enforcement"] if d % 2 else [])
        for p in range(3):
            records.append({"corpus": "c", "doc_id": f"d{d}", "passage_id": f"d{d}:{p}", "labels": label})
    from darien_nlp.data import doc_key

    table = assign_splits(records, seed=1)
    assert set(table) == {f"c|{doc_key(f'd{d}')}" for d in range(60)}
    test_env = sum(1 for d in range(0, 60, 6) if table[f"c|{doc_key(f'd{d}')}"] == "test")
    assert test_env >= 2  # a share of the rare label reaches test
    assert table == assign_splits(records, seed=1)


def test_assign_splits_gives_test_enough_positives_of_a_rare_label():
    from darien_nlp.data import doc_key

    records = [{"corpus": "c", "doc_id": f"d{d}", "labels": ["environment"] if d < 40 else ["enforcement"]}
               for d in range(200)]
    plain = assign_splits(records, seed=2, min_test_positives=1)
    raised = assign_splits(records, seed=2, min_test_positives=12)

    def test_env(table):
        return sum(table[f"c|{doc_key(f'd{d}')}"] == "test" for d in range(40))

    assert test_env(plain) == 8          # 20 % of 40
    assert test_env(raised) >= 12        # raised to reach the minimum
    assert sum(v == "test" for v in raised.values()) < 100  # the common label keeps its share


def test_assign_splits_keeps_fixed_documents_and_places_new_ones_by_deficit():
    from darien_nlp.data import doc_key

    def records(n_docs):
        return [{"corpus": "c", "doc_id": f"d{d}", "labels": ["environment"] if d % 5 == 0 else ["enforcement"]}
                for d in range(n_docs)]

    old = assign_splits(records(100), seed=3)
    # move every old document to train: new documents must then fill dev and test
    fixed = {key: "train" for key in old}
    table = assign_splits(records(200), seed=3, fixed=fixed)
    assert all(table[key] == "train" for key in fixed)
    new = [table[f"c|{doc_key(f'd{d}')}"] for d in range(100, 200)]
    assert new.count("test") > new.count("train") and new.count("dev") > 0
    assert table == assign_splits(records(200), seed=3, fixed=fixed)
    with pytest.raises(ValueError, match="unknown split 'holdout'"):
        assign_splits(records(10), seed=3, fixed={f"c|{doc_key('d0')}": "holdout"})


def test_context_is_the_passage_with_its_neighbours(gold_setup, tiny_seeds):
    corpora, annotations, _ = gold_setup
    plain = load_gold(corpora, annotations=annotations, seeds_dir=tiny_seeds)
    assert all(g.context is None for g in plain)
    gold = {g.text: g for g in load_gold(corpora, annotations=annotations, seeds_dir=tiny_seeds, context_chars=40)}
    smuggling = gold["Smuggling networks exploit migrants."]
    assert smuggling.context.startswith("Smuggling networks exploit migrants.") and "jobs report" in smuggling.context
    alone = load_gold(corpora, annotations=annotations, seeds_dir=tiny_seeds, context_chars=0)
    assert all(g.context == g.text for g in alone)
    seeds = [g for g in gold.values() if g.split == "seeds"]
    assert seeds and all(g.text in g.context for g in seeds)
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="'context_chars' parameter of load_gold"):
            load_gold(corpora, annotations=annotations, seeds_dir=tiny_seeds, context_chars=bad)
