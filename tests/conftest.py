"""Shared fixtures: the repository's seeds and, where present, the release corpora."""
from __future__ import annotations

import os
from pathlib import Path

import json

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"


def corpora_path() -> Path | None:
    """``DARIEN_NLP_CORPORA`` or ``../shared/corpora`` beside the checkout, if it exists."""
    candidate = Path(os.environ.get("DARIEN_NLP_CORPORA", REPO.parent / "shared" / "corpora"))
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def corpora() -> Path:
    path = corpora_path()
    if path is None:
        pytest.skip("release corpora not found: set DARIEN_NLP_CORPORA or place them at ../shared/corpora")
    return path


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


# Training data and a fitted static classifier shared by the model and api tests.
TRAIN = [
    ("Dismantle the smuggling networks that move people through the Darién.", ["enforcement"]),
    ("Border police arrested traffickers and deported migrants without a legal basis to remain.", ["enforcement"]),
    ("Panama increased repatriation flights for those without a right to stay.", ["enforcement"]),
    ("Safe Mobility Offices offer lawful pathways to the United States.", ["lawful_pathways"]),
    ("Parole and family reunification open legal channels for Venezuelans.", ["lawful_pathways"]),
    ("Colombia regularized 2.5 million Venezuelan migrants with temporary protected status.", ["lawful_pathways"]),
    ("Migrants perish in the jungle; we must protect vulnerable children and provide shelter.", ["humanitarian"]),
    ("Humanitarian assistance, food and health care for migrants at reception centers.", ["humanitarian"]),
    ("Protect the human rights of migrants and victims on the dangerous route.", ["humanitarian"]),
    ("Reduce poverty and create jobs in border communities to address root causes.", ["development"]),
    ("Investment and economic opportunity for host communities integrating migrants.", ["development"]),
    ("Private sector partnerships for socio-economic integration of migrants.", ["development"]),
    ("Preserve the rainforest ecosystem damaged by the migration route.", ["environment"]),
    ("Deforestation and pollution of rivers along the Darién crossing.", ["environment"]),
    ("Conservation of strategic ecosystems in the Darién National Park.", ["environment"]),
    ("The press secretary thanked everyone for coming to the briefing.", []),
    ("Tax enforcement against corporations raised revenue this quarter.", []),
    ("The vaccine development program reached a milestone.", []),
]


@pytest.fixture(scope="session")
def train_data():
    texts = [t for t, _ in TRAIN] * 2
    labels = [l for _, l in TRAIN] * 2
    return texts, labels


@pytest.fixture(scope="session")
def fitted(train_data):
    from darien_nlp.classifier import PolicyClassifier

    return PolicyClassifier(backend="static", cv=3).fit(*train_data)


# A tiny seeds folder with gold annotations, for loader and recipe tests.


def make_seeds(folder, texts_and_labels):
    """A tiny seeds folder: one text file per document and annotations.jsonl by offsets."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for n, paragraphs in enumerate(texts_and_labels):
        (folder / f"seed{n}.txt").write_text("\n\n".join(text for text, _ in paragraphs))
    from darien_nlp.corpus import load_corpus, segment

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
