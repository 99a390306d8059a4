import subprocess
import sys

import numpy as np
import pytest

from darien_nlp.topics import NotFittedError, TopicModel, stratified_sample

from .conftest import FAST, theme_passages


def purity(topics, themes) -> float:
    """Share of passages whose topic's majority theme is their own theme."""
    topics, themes = np.asarray(topics), np.asarray(themes)
    agree = 0
    for topic in np.unique(topics):
        members = themes[topics == topic]
        agree += max(np.sum(members == theme) for theme in np.unique(members))
    return agree / len(themes)


@pytest.fixture(scope="module")
def fitted(themed):
    texts, _ = themed
    return TopicModel(**FAST, random_state=3).fit(texts)


def test_import_darien_nlp_does_not_import_heavy_libraries():
    code = ("import sys, darien_nlp, darien_nlp.topics; from darien_nlp.topics import TopicModel; "
            "TopicModel(); print(sorted(m for m in ('bertopic', 'umap', 'hdbscan', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_finds_the_four_themes_with_readable_names(fitted, themed):
    _, themes = themed
    assert purity(fitted.topics_, themes) >= 0.95
    assert len(fitted.topic_names()) == 4
    words = " ".join(" ".join(entry["words"]) for entry in fitted.topic_info_)
    for expected in ("smuggl", "parole", "forest", "poverty"):
        assert expected in words
    assert sum(entry["size"] for entry in fitted.topic_info_) == len(themed[0])


def test_transform_assigns_new_passages_to_their_theme(fitted, themed):
    texts, themes = themed
    by_theme = {theme: np.bincount(fitted.topics_[np.asarray(themes) == theme] + 1).argmax() - 1
                for theme in set(themes)}
    new = ["Border agents arrested a trafficking ring on the jungle smuggling route.",
           "Ecologists documented river pollution in the Darien National Park."]
    assert list(fitted.transform(new)) == [by_theme["enforcement"], by_theme["environment"]]
    np.testing.assert_array_equal(fitted.transform(texts), fitted.topics_)


def test_same_seed_same_topics_and_names(themed):
    texts, _ = themed
    first = TopicModel(**FAST, random_state=5).fit(texts)
    second = TopicModel(**FAST, random_state=5).fit(texts)
    np.testing.assert_array_equal(first.topics_, second.topics_)
    assert first.topic_names() == second.topic_names()
    np.testing.assert_array_equal(first.topic_embeddings_, second.topic_embeddings_)


def test_duplicates_are_counted_and_share_one_topic(themed):
    texts, _ = themed
    doubled = texts + texts[:30]
    model = TopicModel(**FAST).fit(doubled)
    assert model.n_unique_passages_ == len(set(texts))
    assert model.n_duplicate_passages_ == len(doubled) - len(set(texts)) >= 30
    np.testing.assert_array_equal(model.topics_[len(texts):], model.topics_[:30])


def test_precomputed_embeddings_and_strata(themed):
    from darien_nlp.embed import make_embedder

    texts, themes = themed
    embeddings = make_embedder("static").encode(texts)
    model = TopicModel(**FAST, max_fit_passages=80).fit(texts, embeddings=embeddings, strata=themes)
    assert len(model.fit_index_) <= 80
    assert {themes[i] for i in model.fit_index_} == set(themes)  # every stratum sampled
    with pytest.raises(ValueError, match="one row per passage"):
        TopicModel(**FAST).fit(texts, embeddings=embeddings[:-1])


def test_stratified_sample_keeps_rare_strata():
    chosen = stratified_sample(["a"] * 95 + ["b"] * 5, 10, random_state=0)
    assert 9 <= len(chosen) <= 11 and any(i >= 95 for i in chosen)


def test_too_few_passages_says_how_many_are_needed():
    with pytest.raises(ValueError, match=r"needs at least 30 unique passages with min_cluster_size=15.*got 7"):
        TopicModel(min_cluster_size=15, reducer="pca").fit(theme_passages(2)[0][:7])


def test_all_boilerplate_input_is_a_clear_error():
    boilerplate = [f"Fact Sheet: The White House, {month} {day}, 2024." for month in ("January", "March")
                   for day in range(1, 21)]
    with pytest.raises(ValueError, match="boilerplate or stop words"):
        TopicModel(**FAST).fit(boilerplate)


def test_not_fitted_and_parameter_errors(themed):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        TopicModel().transform(["text"])
    with pytest.raises(ValueError, match=r"The 'reducer' parameter of TopicModel must be one of .*Got 'tsne'"):
        TopicModel(reducer="tsne").fit(themed[0])
    with pytest.raises(ValueError, match="'n_clusters' parameter of TopicModel must be an int >= 2"):
        TopicModel(reducer="pca", clusterer="kmeans").fit(themed[0])
    with pytest.raises(ValueError, match="'embedder' parameter of TopicModel must be one of"):
        TopicModel(embedder="tfidf").fit(themed[0])
    with pytest.raises(TypeError, match="not a single string"):
        TopicModel().fit("one string")


def test_hdbscan_reports_outliers_before_and_after_reduction(themed):
    texts, themes = themed
    kept = TopicModel(reducer="pca", n_components=5, clusterer="hdbscan", min_cluster_size=10,
                      representation="ctfidf", reduce_outliers=False).fit(texts)
    reduced = TopicModel(reducer="pca", n_components=5, clusterer="hdbscan", min_cluster_size=10,
                         representation="ctfidf", reduce_outliers=True).fit(texts)
    assert kept.outlier_share_["after"] == kept.outlier_share_["before"]
    assert reduced.outlier_share_["after"] == 0.0
    assert reduced.outlier_share_["before"] == kept.outlier_share_["before"]
    assert purity(reduced.topics_, themes) >= 0.9


def test_taxonomy_seeded_topics_fit(themed):
    texts, themes = themed
    model = TopicModel(**FAST, seed_topics="taxonomy").fit(texts)
    assert purity(model.topics_, themes) >= 0.9


@pytest.mark.slow
def test_umap_hdbscan_keybert_is_reproducible(themed):
    texts, themes = themed
    options = dict(reducer="umap", clusterer="hdbscan", min_cluster_size=10, representation="keybert",
                   reduce_outliers=True, random_state=7)
    first = TopicModel(**options).fit(texts)
    second = TopicModel(**options).fit(texts)
    np.testing.assert_array_equal(first.topics_, second.topics_)
    assert first.topic_names() == second.topic_names()
    assert purity(first.topics_, themes) >= 0.9


def test_fit_mask_keeps_passages_out_of_the_fit_sample_but_assigns_them(themed):
    texts, themes = themed
    mask = [theme != "environment" for theme in themes]
    model = TopicModel(**FAST).fit(texts, fit_mask=mask)
    assert model.n_fit_eligible_ == len({t for t, keep in zip(texts, mask) if keep})
    assert all(mask[i] for i in model.fit_index_)  # nothing outside the mask was fitted on
    assert len(model.topics_) == len(texts) and (model.topics_ >= 0).all()  # but every passage is assigned
    with pytest.raises(ValueError, match="fit_mask has 3 items"):
        TopicModel(**FAST).fit(texts, fit_mask=[True] * 3)
    with pytest.raises(ValueError, match="fit_mask leaves 0 unique passages"):
        TopicModel(**FAST).fit(texts, fit_mask=[False] * len(texts))
