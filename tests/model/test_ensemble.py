"""Ensembles of saved models: the weighted mean of members' probabilities, verified on load."""
import json

import numpy as np
import pytest

from darien_nlp.api import classify, classify_document
from darien_nlp.classifier import PolicyClassifier
from darien_nlp.corpus import Document, context_window, segment
from darien_nlp.ensemble import EnsemblePredictor, save_ensemble
from darien_nlp.inference import PolicyPredictor, load_predictor
from darien_nlp.persistence import ModelIntegrityError

ITEMS = ["Dismantle the smuggling networks in the Darién.",
         ("Safe Mobility Offices open lawful pathways.", "Migrants in Colombia. Safe Mobility Offices open lawful pathways."),
         ("The forest along the route must be preserved.", None)]


@pytest.fixture()
def models(fitted, train_data, tmp_path):
    texts, labels = train_data
    plain = fitted.save(tmp_path / "plain")
    pairs = [(t, "A release on migration through the Darién. " + t) for t in texts]
    context = PolicyClassifier(backend="context", backend_options={"inner": "tfidf", "window": 50}, cv=3).fit(pairs, labels)
    return plain, context.save(tmp_path / "context")


def test_mean_of_members_with_context_only_for_the_member_that_reads_it(models, tmp_path):
    plain, context = models
    folder = save_ensemble(tmp_path / "both", {str(plain): 1.0, str(context): 3.0})
    ensemble = load_predictor(folder)
    assert isinstance(ensemble, EnsemblePredictor) and ensemble.uses_context and ensemble.context_chars == 50
    first, second = PolicyPredictor.load(plain), PolicyPredictor.load(context)
    bare = [item[0] if isinstance(item, tuple) else item for item in ITEMS]
    expected = 0.25 * first.predict_proba(bare) + 0.75 * second.predict_proba(ITEMS)
    np.testing.assert_allclose(ensemble.predict_proba(ITEMS), expected, rtol=1e-6)
    np.testing.assert_allclose(ensemble.thresholds_, 0.25 * first.thresholds_ + 0.75 * second.thresholds_)
    config = json.loads((folder / "ensemble.json").read_text())
    assert [m["model"] for m in config["members"]] == ["plain", "context"]  # siblings are stored by name


def test_classify_and_classify_document_use_an_ensemble_folder(models, tmp_path):
    plain, context = models
    folder = save_ensemble(tmp_path / "both", {str(plain): 0.5, str(context): 0.5})
    text = "Border police arrested traffickers."
    assert classify(text, model=folder).scores != classify(text, model=folder, context="Migrants cross. " + text).scores
    document = Document("d", "Migrants cross the Darién Gap.\n\nBorder police arrested traffickers.")
    passages = segment(document)
    windows = [context_window(document.text, p.start, p.end, 50) for p in passages]
    result = classify_document(document, model=folder)
    assert [prediction for _, prediction in result.passages] == classify([p.text for p in passages], model=folder,
                                                                          context=windows)


def test_a_changed_member_is_refused(models, tmp_path, train_data):
    plain, context = models
    folder = save_ensemble(tmp_path / "both", {str(plain): 0.5, str(context): 0.5})
    texts, labels = train_data
    PolicyClassifier(backend="static", cv=3, C=0.5).fit(texts, labels).save(plain)  # retrained in place
    with pytest.raises(ModelIntegrityError, match="member 'plain' changed since the ensemble was built"):
        load_predictor(folder)


def test_tampered_or_incomplete_ensembles_are_refused(models, tmp_path):
    plain, context = models
    folder = save_ensemble(tmp_path / "both", {str(plain): 0.5, str(context): 0.5})
    config = json.loads((folder / "ensemble.json").read_text())
    config["thresholds"]["environment"] = 0.01
    (folder / "ensemble.json").write_text(json.dumps(config))
    with pytest.raises(ModelIntegrityError, match="'ensemble.json' does not match its manifest hash"):
        load_predictor(folder)
    other = save_ensemble(tmp_path / "other", {str(plain): 0.5, str(context): 0.5})
    for path in context.iterdir():
        path.unlink()
    context.rmdir()
    with pytest.raises(ModelIntegrityError, match="member model 'context' not found"):
        load_predictor(other)


@pytest.mark.parametrize("weights, message", [
    ((0.5,), "at least 2 members"),
    ((1.0, -1.0), "weights must be numbers >= 0"),
    ((0.0, 0.0), "must not all be zero"),
    ((1.0, True), "weights must be numbers >= 0"),
])
def test_bad_members_or_weights(models, weights, message):
    members = [PolicyPredictor.load(folder) for folder in models][:len(weights)]
    with pytest.raises(ValueError, match=message):
        EnsemblePredictor(members, weights)


def test_an_ensemble_cannot_be_a_member(models, tmp_path):
    plain, context = models
    folder = save_ensemble(tmp_path / "both", {str(plain): 0.5, str(context): 0.5})
    with pytest.raises(ValueError, match="members must be single models"):
        save_ensemble(tmp_path / "nested", {str(folder): 0.5, str(plain): 0.5})
    with pytest.raises(ValueError, match="cannot be its own member"):
        save_ensemble(folder, {str(folder): 0.5, str(plain): 0.5})
