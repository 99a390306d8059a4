"""The ``context`` backend: a passage read beside the text around it in its document."""
import numpy as np
import pytest
from scipy import sparse

from darien_nlp.api import classify, classify_document, load_model
from darien_nlp.classifier import PolicyClassifier
from darien_nlp.corpus import Document, context_window, segment
from darien_nlp.embed import ContextEmbedder, make_embedder
from darien_nlp.inference import PolicyPredictor
from darien_nlp.taxonomy import LABELS

# The same passages carry `environment` inside a release on the Darién crossing and nothing inside
# a climate release: only the context tells them apart (ANNOTATION.md, Scope).
AMBIGUOUS = ["The forest along the route must be preserved.", "Rivers and wildlife suffer from the pollution.",
             "Conservation of the ecosystem is a priority.", "Deforestation is spreading fast."]
MIGRATION = "Migrants crossing the Darién Gap on foot; the migration route through the jungle. {}"
CLIMATE = "Emissions targets and the clean energy tax credit for utilities. {}"


def _context_data():
    X, Y = [], []
    for n in range(6):
        for text in AMBIGUOUS:
            X.append((text, MIGRATION.format(text) + f" Note {n}."))
            Y.append(["environment"])
            X.append((text, CLIMATE.format(text) + f" Note {n}."))
            Y.append([])
    return X, Y


@pytest.fixture(scope="module")
def context_model(tmp_path_factory):
    X, Y = _context_data()
    model = PolicyClassifier(backend="context", backend_options={"inner": "tfidf", "window": 40}, cv=3).fit(X, Y)
    return model, model.save(tmp_path_factory.mktemp("models") / "policy-context")


def test_bare_passage_is_its_own_context():
    embedder = ContextEmbedder(inner="static", weight=0.5)
    bare = embedder.encode(["Close the smuggling routes."])
    same = embedder.encode([("Close the smuggling routes.", None)])
    own = embedder.encode([("Close the smuggling routes.", "Close the smuggling routes.")])
    dim = bare.shape[1] // 2
    np.testing.assert_allclose(bare[:, dim:], 0.5 * bare[:, :dim], rtol=1e-6)
    np.testing.assert_allclose(bare, same)
    np.testing.assert_allclose(bare, own, rtol=1e-6)
    other = embedder.encode([("Close the smuggling routes.", "Rainforest conservation in the park.")])
    np.testing.assert_allclose(other[:, :dim], bare[:, :dim])
    assert not np.allclose(other[:, dim:], bare[:, dim:])


def test_sparse_inner_gives_sparse_rows():
    embedder = ContextEmbedder(inner="tfidf").fit(["close the border", "safe mobility offices"] * 3)
    features = embedder.encode(["border", ("border", "safe mobility")])
    assert sparse.issparse(features) and features.shape[0] == 2


def test_context_decides_what_the_passage_alone_cannot(context_model):
    model, _ = context_model
    column = LABELS.index("environment")
    for text in AMBIGUOUS:
        inside = model.predict_proba([(text, MIGRATION.format(text))])[0, column]
        outside = model.predict_proba([(text, CLIMATE.format(text))])[0, column]
        assert inside > 0.5 > outside, (text, inside, outside)


def test_saved_context_model_round_trips(context_model):
    model, folder = context_model
    X, _ = _context_data()
    loaded = PolicyClassifier.load(folder)
    predictor = PolicyPredictor.load(folder)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-6)
    np.testing.assert_allclose(predictor.predict_proba(X), model.predict_proba(X), rtol=1e-5)
    assert predictor.uses_context and loaded.embedder_.window == 40


def test_classify_passes_context_and_checks_it(context_model):
    _, folder = context_model
    text = AMBIGUOUS[0]
    inside = classify(text, model=folder, context=MIGRATION.format(text))
    outside = classify([text], model=folder, context=[CLIMATE.format(text)])[0]
    assert "environment" in inside.labels and "environment" not in outside.labels
    with pytest.raises(ValueError, match="2 texts but 1 contexts"):
        classify([text, text], model=folder, context=["one"])
    with pytest.raises(TypeError, match="context 1 is a int"):
        classify([text, text], model=folder, context=["one", 2])
    with pytest.raises(TypeError, match="got bytes"):
        classify(text, model=folder, context=b"bytes")
    with pytest.raises(TypeError, match="context must be a str"):
        classify(text, model=folder, context=3.5)
    blank = classify(["", text], model=folder, context=["a migration release", None])
    assert blank[0].labels == () and blank[1].length == len(text)


def test_models_without_context_ignore_it(fitted, tmp_path):
    model_dir = fitted.save(tmp_path / "plain")
    text = "Dismantle the smuggling networks that move people through the Darién."
    assert classify(text, model=model_dir, context="Rainforest and pollution.") == classify(text, model=model_dir)


def test_classify_document_reads_each_passage_in_its_window(context_model):
    _, folder = context_model
    document = Document("d", "Migrants cross the Darién Gap on foot.\n\n" + AMBIGUOUS[0] + "\n\nThe briefing ended.")
    result = classify_document(document, model=folder)
    passages = segment(document)
    windows = [context_window(document.text, p.start, p.end, 40) for p in passages]
    expected = classify([p.text for p in passages], model=folder, context=windows)
    assert [prediction for _, prediction in result.passages] == expected
    assert expected != classify([p.text for p in passages], model=folder)  # the windows changed the scores


def test_pairs_need_the_context_backend():
    with pytest.raises(TypeError, match=r"X\[0\] is a \(text, context\) pair; only backend='context'"):
        PolicyClassifier(backend="tfidf", cv=2).fit([("a", "b"), ("c", "d")], [["enforcement"], []])


@pytest.mark.parametrize("item, message", [
    (("text", 3), r"X\[1\] must be \(str, str or None\)"),
    (("a", "b", "c"), r"X\[1\] is a tuple, not a str or a \(text, context\) pair"),
    (b"bytes", r"X\[1\] is a bytes"),
])
def test_bad_items_name_their_position(context_model, item, message):
    model, _ = context_model
    with pytest.raises(TypeError, match=message):
        model.predict_proba(["fine", item])


@pytest.mark.parametrize("options, message", [
    ({"weight": -1.0}, "'weight' option of context.v1 must be a float >= 0"),
    ({"window": -5}, "'window' option of context.v1 must be an int >= 0"),
    ({"window": 1.5}, "'window' option of context.v1 must be an int >= 0"),
    ({"inner": "context"}, "cannot wrap itself"),
    ({"inner": "minilm_tuned"}, "tuned with its head"),
    ({"inner": "nope"}, "The 'backend' parameter of ContextEmbedder"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        make_embedder("context", **options)


def test_context_window_keeps_words_whole_and_checks_the_span():
    text = "one two three four five"
    assert context_window(text, 8, 13, 0) == "three"
    assert context_window(text, 8, 13, 5) == "two three four"
    assert context_window(text, 8, 13, 4) == "two three"  # "four" would be cut: left out
    assert context_window(text, 0, 3, 1000) == text
    with pytest.raises(ValueError, match="outside a text of 23 characters"):
        context_window(text, 20, 30, 5)
    with pytest.raises(ValueError, match="chars must be >= 0"):
        context_window(text, 0, 3, -1)


def test_the_shipped_default_reads_context():
    predictor = load_model("default")
    assert predictor.uses_context and predictor.embedder_.window == 600
    text = "Rivers and forest along the route are polluted."
    alone = classify(text)
    with_release = classify(text, context="Thousands of migrants cross the Darién Gap every week. " + text)
    assert alone.scores != with_release.scores
