import pytest

from darien_nlp.topics.vectorizer import (BoilerplateStripper, content_words, is_stop_term, make_vectorizer,
                                          stop_words)


def test_boilerplate_phrases_are_removed_as_whole_phrases():
    strip = BoilerplateStripper()
    out = strip("FACT SHEET: The President and the White House said the United States supports member states.")
    assert "president" not in out and "white house" not in out and "united states" not in out
    assert "member states" in out


def test_speaker_turns_and_custom_phrases():
    assert "jean" not in BoilerplateStripper()("MS. JEAN-PIERRE: Thank you. Q: Border numbers?")
    assert BoilerplateStripper(["safe mobility"])("Safe Mobility offices") == "offices"


def test_vectorizer_keeps_bigrams_and_drops_stop_words_and_months():
    vectorizer = make_vectorizer().fit(["In January the President announced Safe Mobility Offices in Colombia."])
    vocabulary = set(vectorizer.vocabulary_)
    assert {"safe mobility", "mobility offices", "colombia"} <= vocabulary
    assert not vocabulary & {"january", "president", "the", "in"}


def test_extra_stop_words_and_stop_term_check():
    assert "darien" in stop_words(["Darien"])
    assert is_stop_term("the january") and not is_stop_term("smuggling routes")


@pytest.mark.parametrize("text", ["Fact Sheet: The White House, January 2024", "###", "Thank you. Q: Yeah."])
def test_pure_boilerplate_has_no_content_words(text):
    assert content_words(text) == []


def test_spanish_french_portuguese_stop_words_but_not_english_words():
    """Topic names in Spanish and French transcripts are not made of their function words and
    chatter, and foreign stop words that are also English words ("parole", "mayor") stay content."""
    pytest.importorskip("stopwordsiso", reason="the topics extra is not installed")
    from darien_nlp.topics.vectorizer import content_words, stop_words

    words = set(stop_words())
    assert {"dijeron", "pues", "entonces", "mis", "avons", "nous", "muito"} <= words
    assert not {"parole", "mayor", "general", "car", "local", "migrantes", "gobierno", "frontera"} & words
    assert content_words("Pues entonces dijeron que los migrantes cruzan la frontera") == ["migrantes", "cruzan", "frontera"]


def test_a_fractional_max_df_gives_way_when_there_are_too_few_topics():
    """One joined document per topic: with a single topic, max_df=0.5 allows no word and scikit-learn
    refuses; the topic vectorizer keeps every word for that fit instead, and keeps max_df for the next."""
    from sklearn.base import clone
    from sklearn.feature_extraction.text import CountVectorizer

    from darien_nlp.topics.vectorizer import TopicCountVectorizer

    one_topic = ["Smuggling networks on the migrant route; smuggling arrests at the border."]
    with pytest.raises(ValueError, match="max_df corresponds to < documents than min_df"):
        CountVectorizer(max_df=0.5).fit_transform(one_topic)  # what a plain vectorizer does
    vectorizer = make_vectorizer(max_df=0.5)
    assert isinstance(vectorizer, TopicCountVectorizer)
    counts = vectorizer.fit_transform(one_topic)
    assert "smuggling" in vectorizer.vocabulary_ and counts.shape == (1, len(vectorizer.vocabulary_))
    assert vectorizer.max_df == 0.5
    vectorizer.fit(one_topic + ["Parole for refugees.", "Smuggling and forests.", "Smuggling routes."])
    assert "smuggling" not in vectorizer.vocabulary_ and "parole" in vectorizer.vocabulary_  # 3 of 4 topics: > max_df
    assert clone(vectorizer).get_params()["max_df"] == 0.5


def test_topic_vectorizer_pickles_and_reads_numpy_integer_min_df():
    import pickle

    import numpy as np

    vectorizer = make_vectorizer(max_df=0.5).fit(["Smuggling routes.", "Parole offices.", "Forest rivers."])
    again = pickle.loads(pickle.dumps(vectorizer))
    assert again.vocabulary_ == vectorizer.vocabulary_ and type(again) is type(vectorizer)
    docs = ["Smuggling and parole.", "Parole for refugees.", "Smuggling and forests.", "Smuggling routes."]
    numpy_min_df = make_vectorizer(max_df=0.5, min_df=np.int64(1)).fit(docs)
    assert "smuggling" not in numpy_min_df.vocabulary_  # max_df still applies: 3 of 4 topics
