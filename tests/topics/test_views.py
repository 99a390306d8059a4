import pytest
import datetime

import numpy as np

from darien_nlp.taxonomy import LABELS
from darien_nlp.topics import TopicModel, views

from .conftest import FAST


def test_category_mix_maps_each_theme_topic_to_its_label(themed, tiny_classifier):
    texts, themes = themed
    model = TopicModel(**FAST).fit(texts)
    labels = views.predict_label_matrix(texts, tiny_classifier, batch_size=50)
    assert labels.shape == (len(texts), len(LABELS))
    mix = views.category_mix(model.topics_, labels)
    assert mix.passages.sum() == len(texts)
    for theme in set(themes):
        topic = np.bincount(model.topics_[np.asarray(themes) == theme]).argmax()
        assert mix.loc[topic, theme] >= 0.8
        assert mix.loc[topic].drop("passages").idxmax() == theme
    view = views.label_view(model.topics_, labels)
    top_environment = view[view.label == "environment"].iloc[0]
    assert mix.loc[top_environment.topic, "environment"] >= 0.8


def test_resolve_classifier_accepts_an_instance(tiny_classifier):
    assert views.resolve_classifier(tiny_classifier) is tiny_classifier


def test_time_views_skip_undated_passages_and_count_them():
    months = views.month_keys([datetime.date(2024, 1, 5), None, datetime.date(2024, 2, 1), datetime.date(2024, 1, 9)])
    over_time = views.topics_over_time(np.array([0, 0, 1, 1]), months)
    assert over_time.attrs["undated_passages"] == 1
    assert over_time.passages.sum() == 3
    assert over_time.groupby("month").share.sum().round(6).eq(1.0).all()
    labels = np.zeros((4, 5), dtype=np.uint8)
    labels[0, 0] = labels[3, 1] = 1
    shares = views.category_shares_over_time(labels, months)
    january = shares[shares.month == "2024-01"].iloc[0]
    assert (january.passages, january.enforcement, january.lawful_pathways) == (2, 0.5, 0.5)


def test_document_aggregation_ignores_outliers():
    frame = views.document_topics(np.array([-1, -1, 4, 2, 2, 3, -1]), ["a", "a", "a", "b", "b", "b", "c"])
    rows = frame.set_index("doc_id")
    assert rows.loc["a", "topic"] == 4 and rows.loc["b", "topic"] == 2 and rows.loc["c", "topic"] == -1
    assert rows.loc["b", "share"] == 2 / 3 and rows.loc["a", "passages"] == 3


def test_topic_quality_npmi_and_diversity():
    from darien_nlp.topics.quality import topic_quality

    texts = ["border patrol agents arrested smugglers", "border patrol agents", "safe mobility offices opened",
             "safe mobility offices", "border crossing", "mobility offices"] * 5
    good = topic_quality(texts, {0: ["border", "patrol", "agents"], 1: ["safe", "mobility", "offices"]}, top_n=3)
    mixed = topic_quality(texts, {0: ["border", "mobility", "agents"], 1: ["safe", "patrol", "offices"]}, top_n=3)
    assert good["npmi"] > 0.5 and mixed["npmi"] < 0 < good["npmi"] - mixed["npmi"]
    assert good["diversity"] == 1.0 and good["window"] == "passage" and good["passages"] == 30
    repeated = topic_quality(texts, {0: ["border", "patrol"], 1: ["border", "patrol"]}, top_n=2)
    assert repeated["diversity"] == 0.5
    never = topic_quality(texts, {0: ["smugglers", "opened"]}, top_n=2)
    assert never["npmi"] == -1.0  # the two terms never share a passage
    bigram = topic_quality(texts, {0: ["border patrol", "agents"]}, top_n=2)  # names' bigrams are counted too
    assert bigram["npmi"] > 0.5
    sampled = topic_quality(texts, {0: ["border", "patrol"]}, top_n=2, max_passages=10)
    assert sampled["passages"] == 10
    with pytest.raises(ValueError, match="top_n"):
        topic_quality(texts, {0: ["border", "patrol"]}, top_n=1)
    assert topic_quality([], {0: ["a", "b"]})["passages"] == 0
