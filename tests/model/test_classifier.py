import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from darien_nlp.classifier import PolicyClassifier
from darien_nlp.taxonomy import LABELS


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        PolicyClassifier().predict(["text"])


def test_sklearn_contract(train_data):
    clf = PolicyClassifier(backend="tfidf", C=2.0, cv=3)
    assert clone(clf).get_params() == clf.get_params()
    assert not hasattr(clf, "thresholds_")  # learned state only after fit
    clf.fit(*train_data)
    assert list(clf.classes_) == list(LABELS)
    probabilities = clf.predict_proba(["Close the smuggling route."])
    assert probabilities.shape == (1, 5) and ((0 <= probabilities) & (probabilities <= 1)).all()
    assert clf.decision_function(["x"]).shape == (1, 5)
    assert Pipeline([("clf", PolicyClassifier(backend="tfidf", cv=2))]).fit(*train_data).predict(["x"]).shape == (1, 5)


def test_static_model_learns_the_categories(fitted):
    predicted = fitted.predict_labels([
        "Security forces will dismantle smuggling networks.",
        "New lawful pathways and parole for refugees.",
        "The forest ecosystem must be preserved from deforestation.",
    ])
    assert "enforcement" in predicted[0]
    assert "lawful_pathways" in predicted[1]
    assert "environment" in predicted[2]


def test_label_matrix_and_label_lists_are_equivalent(train_data):
    from darien_nlp.taxonomy import labels_to_matrix

    texts, labels = train_data
    a = PolicyClassifier(backend="tfidf", cv=2).fit(texts, labels)
    b = PolicyClassifier(backend="tfidf", cv=2).fit(texts, labels_to_matrix(labels))
    np.testing.assert_allclose(a.predict_proba(texts), b.predict_proba(texts))
    np.testing.assert_array_equal(a.thresholds_, b.thresholds_)


def test_refit_with_same_seed_is_deterministic(train_data):
    a = PolicyClassifier(backend="static", cv=3, random_state=3).fit(*train_data)
    b = PolicyClassifier(backend="static", cv=3, random_state=3).fit(*train_data)
    np.testing.assert_array_equal(a.thresholds_, b.thresholds_)
    np.testing.assert_allclose(a.coef_, b.coef_)


@pytest.mark.parametrize("params, message", [
    ({"backend": "bert"}, r"The 'backend' parameter of PolicyClassifier must be one of .* Got 'bert' instead"),
    ({"head": "svm"}, r"The 'head' parameter of PolicyClassifier must be one of"),
    ({"C": -1}, r"The 'C' parameter"),
    ({"cv": 1}, r"The 'cv' parameter"),
    ({"thresholds": "max"}, r"The 'thresholds' parameter"),
    ({"calibration": "isotonic"}, r"The 'calibration' parameter"),
])
def test_bad_parameters_name_the_parameter(train_data, params, message):
    with pytest.raises(ValueError, match=message):
        PolicyClassifier(**params).fit(*train_data)


def test_bad_training_data(train_data):
    texts, labels = train_data
    with pytest.raises(ValueError, match="X has 36 texts but Y has 35 rows"):
        PolicyClassifier(backend="tfidf").fit(texts, labels[:-1])
    with pytest.raises(ValueError, match="Unknown label 'border'"):
        PolicyClassifier(backend="tfidf").fit(texts[:2], [["border"], []])
    with pytest.raises(TypeError, match=r"X\[1\] is a NoneType"):
        PolicyClassifier(backend="tfidf").fit(["a", None], [[], []])
    with pytest.raises(TypeError, match="not a single string"):
        PolicyClassifier(backend="tfidf").fit("abc", [[]])
    with pytest.raises(ValueError, match="indicator matrix"):
        PolicyClassifier(backend="tfidf").fit(["a", "b"], np.zeros((2, 3)))


def test_source_mean_thresholds_listen_to_every_source():
    """thresholds='f1_source_mean': a small source whose positives score low pulls a label's threshold down
    (pooled F1 follows the large source alone), at the cost of the large source's negatives (each source
    counts once); sources under the minimum count together as one more source, so their negatives are not
    ignored; without groups it is a clear error."""
    from darien_nlp.classifier import MIN_SOURCE_POSITIVES

    rng = np.random.default_rng(0)

    def rows(source, n, centre, positive):
        return rng.normal(centre, 0.005, n), np.full(n, positive), [f"{source}|{i}" for i in range(n)]

    parts = [rows("large", 400, 0.8, 1), rows("large", 400, 0.3, 0),
             rows("small", MIN_SOURCE_POSITIVES, 0.2, 1), rows("small", 20, 0.05, 0)]
    tiny = [rows("tiny", 2, 0.8, 1), rows("tiny", 300, 0.17, 0)]  # under the minimum: counts as the rest

    def fit(mode, chosen):
        scores = np.concatenate([p[0] for p in chosen])
        truth = np.concatenate([p[1] for p in chosen])
        groups = [g for p in chosen for g in p[2]]
        probabilities = np.tile(scores[:, None], (1, len(LABELS)))
        labels = np.tile(truth[:, None], (1, len(LABELS))).astype(int)
        return PolicyClassifier(thresholds=mode)._fit_thresholds(probabilities, labels, groups), probabilities, labels

    pooled = fit("f1", parts)[0]
    mean = fit("f1_source_mean", parts)[0]
    assert (pooled > 0.3).all()  # above the large source's negatives: the small source's positives are lost
    assert (mean > 0.05).all() and (mean < 0.2).all()  # catches the small source's positives too
    with_rest = fit("f1_source_mean", parts + tiny)[0]
    assert (with_rest > 0.17).all() and (with_rest < 0.2).all()  # the tiny source's 300 negatives count
    assert (mean < 0.17).all()  # without them the plateau's middle lies below where they score
    no_positives = [rows("quiet", 0, 0.5, 1), rows("quiet", 300, 0.17, 0)]  # the rest has negatives only
    assert (fit("f1_source_mean", parts + no_positives)[0] > 0.17).all()  # ... and they still count
    probabilities, labels = fit("f1", parts)[1:]
    with pytest.raises(ValueError, match="needs fit\\(\\.\\.\\., groups"):
        PolicyClassifier(thresholds="f1_source_mean")._fit_thresholds(probabilities, labels, None)
    with pytest.raises(ValueError, match="groups has 3 entries"):
        PolicyClassifier(thresholds="f1_source_mean")._fit_thresholds(probabilities, labels, ["a|1", "a|2", "b|1"])


def test_source_weights_give_each_corpus_its_share(caplog):
    """source_weights: 1/n_s ("balanced") or n_s ** -0.5 ("sqrt") per passage of each source, mean 1 over the
    real sources; synthetic passages keep weight 1; keys without a source warn; bad schemes are clear errors."""
    from darien_nlp.classifier import source_weights

    groups = ["big|1"] * 90 + ["small|2"] * 10
    balanced = source_weights(groups, "balanced")
    assert balanced[:90].sum() == pytest.approx(balanced[90:].sum())  # both sources weigh alike
    assert balanced.mean() == pytest.approx(1.0)
    sqrt = source_weights(groups, "sqrt")
    assert sqrt[:90].sum() / sqrt[90:].sum() == pytest.approx(3.0)  # sqrt(90) / sqrt(10)
    with_synthetic = source_weights(groups + ["synthetic|s1", "synthetic|s2"], "balanced")
    np.testing.assert_allclose(with_synthetic[:100], balanced)  # the real sources as without them
    np.testing.assert_allclose(with_synthetic[100:], 1.0)  # not one more small source to boost
    assert source_weights(groups, None) is None
    with caplog.at_level("WARNING", logger="darien_nlp.classifier"):
        source_weights(["doc1", "doc2"], "sqrt")
    assert "counts as its own source" in caplog.text
    with pytest.raises(ValueError, match="needs fit\\(\\.\\.\\., groups"):
        source_weights(None, "sqrt")
    with pytest.raises(ValueError, match="The 'source_weight' parameter"):
        PolicyClassifier(backend="tfidf", source_weight="equal").fit(["a", "b"], [[], ["enforcement"]])
    with pytest.raises(ValueError, match="not supported with head='finetune.v1'"):
        PolicyClassifier(backend="minilm_tuned", head="finetune.v1", source_weight="sqrt").fit(
            ["a", "b"], [[], ["enforcement"]], groups=["x|1", "y|2"])


def _weighted_data():
    rng = np.random.default_rng(1)
    large_pos = ["dismantle smuggling networks at the border"] * 60
    large_neg = ["the president spoke about the economy and jobs"] * 200
    small_pos = [f"trafficking rings preying on people in transit {i % 3}" for i in range(8)]
    small_neg = [f"a report on rainfall and harvests {i % 3}" for i in range(12)]
    texts = large_pos + large_neg + small_pos + small_neg
    labels = [["enforcement"]] * 60 + [[]] * 200 + [["enforcement"]] * 8 + [[]] * 12
    groups = [f"large|{i % 40}" for i in range(260)] + [f"small|{i % 5}" for i in range(20)]
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], [labels[i] for i in order], [groups[i] for i in order]


def test_source_weight_lets_a_small_source_move_the_heads():
    """A small source whose positives use other words than the large source's: weighted by source, the
    heads score its positives higher; the large source's passages keep their labels."""
    texts, labels, groups = _weighted_data()
    probe = ["trafficking rings preying on people in transit"]

    def fit(weight):
        return PolicyClassifier(backend="tfidf", cv=4, C=0.5, source_weight=weight).fit(texts, labels, groups=groups)

    plain, weighted = fit(None), fit("balanced")
    assert weighted.predict_proba(probe)[0, 0] > plain.predict_proba(probe)[0, 0]
    assert weighted.predict(["dismantle smuggling networks at the border"])[0, 0] == 1
    assert weighted.predict(["the president spoke about the economy and jobs"])[0, 0] == 0
    assert fit("sqrt").get_params()["source_weight"] == "sqrt"


def test_source_weights_reach_every_fold_head_the_calibration_and_the_thresholds(monkeypatch):
    """Each fold's heads get the weights of that fold's own training rows (the same GroupKFold split), the
    final heads every row's weight, and Platt calibration and the thresholds the same weights."""
    from sklearn.model_selection import GroupKFold

    from darien_nlp.classifier import source_weights

    texts, labels, groups = _weighted_data()
    expected = source_weights(groups, "balanced")
    seen = {"heads": [], "calibration": [], "thresholds": []}
    original = {name: getattr(PolicyClassifier, name) for name in ("_fit_heads", "_fit_calibration", "_fit_thresholds")}

    def spy(name, key):
        def wrapper(self, *args, **kwargs):
            weights = kwargs.get("weights", args[-1] if name != "_fit_thresholds" else args[3] if len(args) > 3 else None)
            seen[key].append(None if weights is None else np.asarray(weights).copy())
            return original[name](self, *args, **kwargs)
        return wrapper

    monkeypatch.setattr(PolicyClassifier, "_fit_heads", spy("_fit_heads", "heads"))
    monkeypatch.setattr(PolicyClassifier, "_fit_calibration", spy("_fit_calibration", "calibration"))
    monkeypatch.setattr(PolicyClassifier, "_fit_thresholds", spy("_fit_thresholds", "thresholds"))
    PolicyClassifier(backend="static", cv=4, source_weight="balanced").fit(texts, labels, groups=groups)
    folds = [train for train, _ in GroupKFold(n_splits=4).split(np.zeros(len(texts)), None, np.asarray(groups))]
    assert len(seen["heads"]) == len(folds) + 1
    for got, train_index in zip(seen["heads"], folds):
        np.testing.assert_allclose(got, expected[train_index])
    np.testing.assert_allclose(seen["heads"][-1], expected)
    np.testing.assert_allclose(seen["calibration"][0], expected)
    np.testing.assert_allclose(seen["thresholds"][0], expected)


def test_weighted_thresholds_listen_to_a_small_source():
    """Weighted F1: a small source whose positives score low pulls the threshold down only when weighted."""
    from darien_nlp.classifier import source_weights

    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(0.8, 0.005, 400), rng.normal(0.3, 0.005, 400),
                             rng.normal(0.2, 0.005, 10), rng.normal(0.05, 0.005, 20)])
    truth = np.concatenate([np.ones(400), np.zeros(400), np.ones(10), np.zeros(20)]).astype(int)
    groups = ["large|1"] * 800 + ["small|2"] * 30
    probabilities = np.tile(scores[:, None], (1, len(LABELS)))
    labels = np.tile(truth[:, None], (1, len(LABELS)))
    plain = PolicyClassifier()._fit_thresholds(probabilities, labels, groups)
    weighted = PolicyClassifier()._fit_thresholds(probabilities, labels, groups, source_weights(groups, "balanced"))
    assert (plain > 0.3).all() and (weighted < 0.3).all()


def test_shared_copies_keep_only_the_language_shared_block(train_data):
    """shared_share adds, for a seeded share of training rows, a copy holding only the bilingual block's
    columns (same labels and weights) to every head fit; calibration and thresholds see real rows only."""
    from scipy import sparse

    options = {"bilingual": "models/static-usem3-v1"}
    clf = PolicyClassifier(backend="static_lex", backend_options=options, cv=2, shared_share=0.5, random_state=3)
    texts, labels = train_data
    seen = []
    original = clf._fit_heads
    clf._fit_heads = lambda features, y, weights=None, shared=None: seen.append((features.shape[0], shared)) or \
        original(features, y, weights, shared)
    clf.fit(texts, labels)
    shared = seen[-1][1]
    assert shared is not None and shared.sum() == 256 and shared[-256:].all() and not shared[:-256].any()
    features = sparse.random(8, len(shared), density=0.5, format="csr", random_state=0, dtype=np.float32)
    stacked, y, weights = clf._with_shared_copies(features, np.eye(8, 5, dtype=np.int64), np.arange(8.0), shared)
    extra = stacked.shape[0] - 8
    assert 0 < extra < 8 and len(y) == len(weights) == stacked.shape[0]
    copies = stacked[8:].toarray()
    assert not copies[:, ~shared].any() and copies[:, shared].any()
    rows = [int(np.flatnonzero((features[:, shared].toarray() == row[shared]).all(axis=1))[0]) for row in copies]
    np.testing.assert_array_equal(y[8:], np.eye(8, 5, dtype=np.int64)[rows])
    np.testing.assert_array_equal(weights[8:], np.arange(8.0)[rows])
    plain = PolicyClassifier(backend="static_lex", backend_options=options, cv=2, random_state=3).fit(texts, labels)
    assert not np.allclose(plain.coef_, clf.coef_)  # the copies change the heads


@pytest.mark.parametrize("bad", [-0.1, 1.5, True, "half"])
def test_bad_shared_share_is_refused(train_data, bad):
    with pytest.raises(ValueError, match="shared_share"):
        PolicyClassifier(backend="static", shared_share=bad).fit(*train_data)


def test_shared_share_needs_a_shared_block(train_data):
    with pytest.raises(ValueError, match="block English and Spanish share"):
        PolicyClassifier(backend="static_lex", cv=2, shared_share=0.3).fit(*train_data)
