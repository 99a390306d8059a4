"""The ``coherent`` representation: c-TF-IDF candidates re-ranked so a topic's name words share passages."""
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("bertopic", reason="the topics extra is not installed (pip install 'darien-nlp[topics]')")
import pandas as pd  # noqa: E402
from sklearn.feature_extraction.text import CountVectorizer  # noqa: E402

from darien_nlp.topics import TopicModel  # noqa: E402
from darien_nlp.topics.coherent import CoherentRepresentation  # noqa: E402
from darien_nlp.topics.quality import npmi_matrix  # noqa: E402
from darien_nlp.topics.quality import topic_quality  # noqa: E402

from .test_model import FAST, purity  # noqa: E402

# "border" and "patrol" always share a passage; "quinoa" (the rarest, so c-TF-IDF's second word)
# never meets "border"
DOCUMENTS = ["border patrol agents"] * 6 + ["border patrol station"] * 4 + ["quinoa harvest"] * 2 + \
            ["farm quinoa"] * 1 + ["station agents"] * 3
CTFIDF = {0: [("border", 0.9), ("quinoa", 0.8), ("harvest", 0.7), ("patrol", 0.6), ("agents", 0.5),
              ("station", 0.4), ("border patrol", 0.3)]}


def _extract(representation, topics=CTFIDF, documents=DOCUMENTS):
    model = SimpleNamespace(vectorizer_model=CountVectorizer(ngram_range=(1, 2)))
    frame = pd.DataFrame({"Document": documents, "Topic": [0] * len(documents)})
    return {topic: [word for word, _ in values]
            for topic, values in representation.extract_topics(model, frame, None, topics).items()}


def test_npmi_matrix_bounds_and_known_values():
    present = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0]])
    matrix = npmi_matrix(present)
    assert matrix.shape == (3, 3) and np.all(matrix <= 1.0) and np.all(matrix >= -1.0)
    assert matrix[0, 2] == -1.0  # never together
    assert matrix[0, 1] > 0  # together more often than chance
    assert np.allclose(matrix, matrix.T)
    assert npmi_matrix(np.ones((4, 2)))[0, 1] == 1.0  # always together


def test_words_that_share_passages_move_up():
    plain = _extract(CoherentRepresentation(top_n_words=4, weight=1.0))[0]
    coherent = _extract(CoherentRepresentation(top_n_words=4, weight=0.0))[0]
    assert plain == ["border", "quinoa", "harvest", "patrol"]  # weight 1: the c-TF-IDF order
    assert coherent[0] == "border"  # the first c-TF-IDF word always leads
    assert "quinoa" not in coherent and "patrol" in coherent
    npmi = {name: topic_quality(DOCUMENTS, {0: words}, top_n=4, analyzer="words", max_passages=None)["npmi"]
            for name, words in (("plain", plain), ("coherent", coherent))}
    assert npmi["coherent"] > npmi["plain"]


def test_terms_already_in_the_name_are_skipped_and_short_lists_are_kept():
    topics = {0: [("border patrol", 0.9), ("border", 0.8), ("patrol", 0.7), ("agents", 0.6)], 1: [("farm", 1.0)],
              2: []}
    names = _extract(CoherentRepresentation(top_n_words=3, weight=0.5), topics=topics)
    assert names[0] == ["border patrol", "agents"]  # "border" and "patrol" add no word to the name
    assert names[1] == ["farm"] and names[2] == []


@pytest.mark.parametrize("options, message", [({"weight": 1.5}, "weight must be a number in"),
                                              ({"weight": "high"}, "weight must be a number in"),
                                              ({"candidates": 0}, "candidates must be an int"),
                                              ({"top_n_words": True}, "top_n_words must be an int")])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        CoherentRepresentation(**options)


def test_topic_model_with_coherent_names(themed, tmp_path):
    texts, themes = themed
    options = dict(FAST, representation="coherent", representation_options={"coherent": {"weight": 0.3}})
    model = TopicModel(**options).fit(texts)
    assert purity(model.topics_, themes) >= 0.9
    names = {entry["topic"]: entry["words"] for entry in model.topic_info_ if entry["topic"] != -1}
    assert names and all(words and all(words) for words in names.values())
    reloaded = TopicModel.load(model.save(tmp_path / "coherent"))
    assert {e["topic"]: e["words"] for e in reloaded.topic_info_ if e["topic"] != -1} == names
    with pytest.raises(ValueError, match="weight must be a number"):
        TopicModel(**dict(options, representation_options={"coherent": {"weight": -1}})).fit(texts)


@pytest.mark.parametrize("options", [{"mmr": {"diversity": 0.5}}, {"coherent": 0.3}, ["coherent"]])
def test_representation_options_must_name_a_chosen_stage(themed, options):
    with pytest.raises(ValueError, match="'representation_options' parameter of TopicModel must be None or map"):
        TopicModel(**dict(FAST, representation="coherent", representation_options=options)).fit(themed[0])
