"""The scope head (darien_nlp.scope): labels only for passages about human mobility."""
import numpy as np
import pytest

from darien_nlp.api import classify
from darien_nlp.classifier import PolicyClassifier
from darien_nlp.embed import make_embedder
from darien_nlp.embed.lexical import StaticLexicalEmbedder
from darien_nlp.inference import PolicyPredictor
from darien_nlp.scope import check_scope_options, gate
from darien_nlp.taxonomy import LABELS

from ..conftest import TRAIN

# Label words in other senses (ANNOTATION.md, Scope): no migration anywhere.
OUT_OF_SCOPE = [
    "Tax enforcement officers seized assets of the trade fraud ring.",
    "The parole board released the inmate after a hearing on his criminal sentence.",
    "Humanitarian aid reached the earthquake zone after the war ended.",
    "The job training programme builds economic development in rural counties.",
    "Drug enforcement agents dismantled the cartel's money laundering network.",
    "Visitor visa appointments for tourists and business travellers reopen next week.",
    "The forest fire destroyed the national park's visitor centre.",
    "Child welfare services expanded foster care in the state.",
] * 3

SCOPE = {"backend": "static.v1", "C": 1.0, "keep": 0.9}


@pytest.fixture(scope="module")
def scoped(tmp_path_factory):
    texts = [t for t, _ in TRAIN] * 2
    labels = [l for _, l in TRAIN] * 2
    model = PolicyClassifier(backend="static", cv=3, scope=SCOPE).fit(texts, labels, scope_negatives=OUT_OF_SCOPE)
    return model, model.save(tmp_path_factory.mktemp("models") / "policy-scoped")


def test_gate_caps_scores_below_the_cut_and_leaves_the_rest():
    probabilities = np.array([[0.95, 0.10, 0.70], [0.95, 0.10, 0.70]])
    thresholds = np.array([0.5, 0.4, 0.3])
    gated = gate(probabilities, np.array([0.8, 0.2]), 0.3, thresholds)
    np.testing.assert_array_equal(gated[0], probabilities[0])
    assert (gated[1] < thresholds).all() and (gated[1] <= 0.2).all()
    assert gated[1].argmax() in (0, 2)  # still ranks, never labels


@pytest.mark.parametrize("bad", [{"keep": 2.0}, {"keep": True}, {"C": 0}, {"colour": "red"}, {"backend_options": 3}, "yes"])
def test_bad_scope_settings_are_refused(bad):
    with pytest.raises(ValueError):
        check_scope_options(bad)
    with pytest.raises(ValueError):
        PolicyClassifier(backend="static", scope=bad).fit([t for t, _ in TRAIN], [l for _, l in TRAIN])


def test_scope_negatives_need_a_scope_head():
    with pytest.raises(ValueError, match="scope"):
        PolicyClassifier(backend="static").fit([t for t, _ in TRAIN], [l for _, l in TRAIN],
                                               scope_negatives=OUT_OF_SCOPE)


def test_a_scope_head_over_a_trainable_backend_fits_saves_and_loads(tmp_path):
    """TF-IDF weights of a scope backend are learnt from the scope passages (no labels) and saved beside
    the scope arrays; the loaded model gives the same scope scores; a broken state is refused."""
    from darien_nlp.persistence import ModelIntegrityError, SCOPE_STATE, load_arrays, save_arrays, write_manifest

    texts = [t for t, _ in TRAIN] * 2
    labels = [l for _, l in TRAIN] * 2
    scope = {"backend": "static_lex.v1", "C": 1.0, "keep": 0.9}
    model = PolicyClassifier(backend="static", cv=3, scope=scope).fit(texts, labels, scope_negatives=OUT_OF_SCOPE)
    assert model.scope_embedder_.idf_ is not None
    folder = model.save(tmp_path / "policy-lexical-scope")
    head = load_arrays(folder, "head.safetensors")
    assert SCOPE_STATE + "lexical_idf" in head
    loaded = PolicyPredictor.load(folder)
    probe = OUT_OF_SCOPE[:4] + ["Border police dismantled the smuggling networks moving migrants through the Darién."]
    np.testing.assert_allclose(loaded.scope_proba(probe), model.scope_proba(probe), rtol=1e-5)
    head[SCOPE_STATE + "lexical_idf"] = np.full_like(head[SCOPE_STATE + "lexical_idf"], np.nan)
    save_arrays(folder, "head.safetensors", head)
    write_manifest(folder)
    with pytest.raises(ModelIntegrityError, match="lexical_idf"):
        PolicyPredictor.load(folder)
    del head[SCOPE_STATE + "lexical_idf"]  # the state missing: refused on load, not at the first classify
    save_arrays(folder, "head.safetensors", head)
    write_manifest(folder)
    with pytest.raises(ModelIntegrityError, match="holds no scope_state"):
        PolicyPredictor.load(folder)


def test_a_fine_tuned_scope_backend_is_refused():
    with pytest.raises(ValueError, match="not fine-tuned"):
        PolicyClassifier(backend="static", scope={"backend": "minilm_tuned"}).fit([t for t, _ in TRAIN],
                                                                                  [l for _, l in TRAIN])


def test_scope_needs_both_kinds_of_passage():
    with pytest.raises(ValueError, match="with labels and passages without"):
        PolicyClassifier(backend="static", cv=2, scope=SCOPE).fit(["close the border", "open pathways"] * 3,
                                                                  [["enforcement"], ["lawful_pathways"]] * 3)


def test_migration_scores_higher_than_the_same_words_elsewhere(scoped):
    model, _ = scoped
    inside = model.scope_proba(["Border police dismantled the smuggling networks moving migrants through the Darién."])
    outside = model.scope_proba(["Tax enforcement officers dismantled the trade fraud network."])
    assert inside[0] > model.scope_threshold_ > outside[0]


def test_out_of_scope_passages_get_no_label(scoped):
    model, _ = scoped
    scope = model.scope_proba(OUT_OF_SCOPE[:8])
    predicted = model.predict(OUT_OF_SCOPE[:8])
    assert not predicted[scope < model.scope_threshold_].any()
    assert (scope < model.scope_threshold_).mean() >= 0.75
    # and labelled training passages mostly pass (keep = 0.9 out of fold)
    labelled = [t for t, l in TRAIN if l]
    assert (model.scope_proba(labelled) >= model.scope_threshold_).mean() >= 0.8


def test_saved_scope_round_trips_and_the_predictor_agrees(scoped):
    model, folder = scoped
    texts = [t for t, _ in TRAIN] + OUT_OF_SCOPE[:8]
    again = PolicyClassifier.load(folder)
    predictor = PolicyPredictor.load(folder)
    np.testing.assert_allclose(again.predict_proba(texts), model.predict_proba(texts), atol=1e-6)
    np.testing.assert_allclose(predictor.predict_proba(texts), model.predict_proba(texts), atol=1e-5)
    np.testing.assert_allclose(predictor.scope_proba(texts), model.scope_proba(texts), atol=1e-5)
    assert again.scope_threshold_ == pytest.approx(model.scope_threshold_)
    # label_proba: the same probabilities before the gate; they differ only where the gate capped them
    ungated, gated = predictor.label_proba(texts), predictor.predict_proba(texts)
    passed = predictor.scope_proba(texts) >= predictor.scope_["threshold"]
    assert passed.any() and (~passed).any()
    np.testing.assert_allclose(ungated[passed], gated[passed], atol=1e-9)
    assert (gated[~passed] < predictor.thresholds_).all() and (ungated[~passed] >= gated[~passed] - 1e-9).all()
    assert (ungated[~passed] > gated[~passed] + 1e-6).any()  # the gate did cap some of them: these are not gated
    scores = predictor.embedder_.project(texts, predictor.coef_) + predictor.intercept_
    np.testing.assert_allclose(ungated, predictor._calibrated(scores), atol=1e-12)


def test_classify_reports_the_scope_score(scoped):
    model, folder = scoped
    first, second = classify(["Safe Mobility Offices offer lawful pathways.", OUT_OF_SCOPE[0]], model=str(folder))
    assert first.scope is not None and 0.0 <= first.scope <= 1.0
    assert first.scope > second.scope
    if second.scope < model.scope_threshold_:
        assert second.labels == ()


def test_models_without_a_scope_head_report_none(fitted):
    assert classify(["Safe Mobility Offices."], model=fitted)[0].scope is None
    with pytest.raises(ValueError, match="no scope head"):
        fitted.scope_proba(["x"])


def test_a_tampered_scope_array_is_refused(scoped, tmp_path):
    import shutil

    from safetensors.numpy import load_file, save_file

    from darien_nlp.persistence import ModelIntegrityError, write_manifest

    _, folder = scoped
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    arrays = load_file(str(copy / "head.safetensors"))
    arrays["scope_calibration"] = np.zeros(3)
    save_file(arrays, str(copy / "head.safetensors"))
    write_manifest(copy)  # a consistent manifest, but the array has the wrong shape
    with pytest.raises(ModelIntegrityError, match="scope_calibration"):
        PolicyPredictor.load(copy)


def test_static_lex_appends_the_bilingual_block_and_round_trips():
    texts = [t for t, _ in TRAIN]
    plain = StaticLexicalEmbedder().fit(texts)
    both = StaticLexicalEmbedder(bilingual="models/static-minilm-v1", bilingual_weight=2.0).fit(texts)
    a, b = plain.encode(texts[:3]), both.encode(texts[:3])
    extra = b.shape[1] - a.shape[1]
    assert extra == make_embedder("static").encode(["x"]).shape[1]
    np.testing.assert_allclose(b[:, -extra:].toarray(), 2.0 * make_embedder("static").encode(texts[:3]), rtol=1e-5)
    rebuilt = StaticLexicalEmbedder.from_spec(both.spec(), both.state())
    np.testing.assert_allclose(rebuilt.encode(texts[:3]).toarray(), b.toarray())
    with pytest.raises(ValueError, match="bilingual_weight"):
        StaticLexicalEmbedder(bilingual="models/static-minilm-v1", bilingual_weight=0)


def test_scope_model_scores_batch_by_batch_as_in_one_piece(monkeypatch):
    """With a scope head the predictor runs the label heads and the scope head batch by batch (so they share
    one tokenisation per batch); the scores are those of one pass over everything, contexts included."""
    import numpy as np

    import darien_nlp.inference as inference
    from darien_nlp.api import load_model

    model = load_model("policy-bilingual-scope")
    texts = ["Migrants cross the Darién on foot.", "Los migrantes cruzan el Darién.", "Tax revenue rose.",
             ("Safe Mobility Offices opened.", "Safe Mobility Offices opened in Guatemala for refugees."),
             "Border police dismantled a smuggling ring.", ""]
    whole, whole_scope = model.predict_scored(texts)
    monkeypatch.setattr(inference, "SHARED_BATCH", 2)
    parts, parts_scope = model.predict_scored(texts)
    np.testing.assert_allclose(parts, whole, atol=1e-12)
    np.testing.assert_allclose(parts_scope, whole_scope, atol=1e-12)
    assert parts.shape == (6, 5) and parts_scope.shape == (6,)
