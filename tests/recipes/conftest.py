import json

import pytest

from darien_nlp.corpus import load_corpus, segment


def make_seeds(folder, texts_and_labels):
    """A tiny seeds folder: one text file per document and annotations.jsonl by offsets."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for n, paragraphs in enumerate(texts_and_labels):
        (folder / f"seed{n}.txt").write_text("\n\n".join(text for text, _ in paragraphs))
    for document in load_corpus(folder):
        labels = dict(texts_and_labels[int(document.doc_id[4:])])
        for passage in segment(document):
            lines.append(json.dumps({"id": passage.passage_id, "passage_id": passage.passage_id, "doc_id": document.doc_id,
                                     "text": passage.text, "labels": labels[passage.text], "lang": "en",
                                     "start": passage.start, "end": passage.end, "sha256": passage.sha256,
                                     "pass": "adjudicated"}))
    (folder / "annotations.jsonl").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture()
def tiny_seeds(tmp_path):
    return make_seeds(tmp_path / "seeds", [
        [("Smugglers endanger migrants crossing the Darién jungle.", ["enforcement", "humanitarian"]),
         ("Safe Mobility Offices will open lawful pathways.", ["lawful_pathways"])],
        [("Preserve the rainforest along the route.", ["environment"]),
         ("Create jobs in border communities.", ["development"])],
    ])
