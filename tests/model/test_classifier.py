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
