import json

import numpy as np
import pytest

from darien_nlp.classifier import PolicyClassifier
from darien_nlp.persistence import ModelIntegrityError, write_manifest


@pytest.fixture()
def saved(fitted, tmp_path):
    return fitted.save(tmp_path / "model", metadata={"note": "test"}, card="# card\n")


def test_round_trip(fitted, saved, train_data):
    loaded = PolicyClassifier.load(saved)
    texts = train_data[0]
    np.testing.assert_allclose(loaded.predict_proba(texts), fitted.predict_proba(texts), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(loaded.thresholds_, fitted.thresholds_)
    assert loaded.get_params() == fitted.get_params()
    assert not any(p.suffix in (".pkl", ".pickle", ".joblib") for p in saved.iterdir())


@pytest.mark.parametrize("backend", ["tfidf", "hybrid", "static_lex"])
def test_trainable_backends_round_trip(train_data, tmp_path, backend):
    from darien_nlp.inference import PolicyPredictor

    model = PolicyClassifier(backend=backend, cv=2).fit(*train_data)
    folder = model.save(tmp_path / backend)
    loaded = PolicyClassifier.load(folder)
    np.testing.assert_allclose(loaded.predict_proba(train_data[0]), model.predict_proba(train_data[0]), atol=1e-6)
    np.testing.assert_allclose(PolicyPredictor.load(folder).predict_proba(train_data[0]),
                               model.predict_proba(train_data[0]), atol=1e-6)


def test_missing_file_is_refused(saved):
    (saved / "head.safetensors").unlink()
    with pytest.raises(ModelIntegrityError, match=r"incomplete: missing \['head.safetensors'\]"):
        PolicyClassifier.load(saved)


def test_tampered_file_is_refused(saved):
    with open(saved / "head.safetensors", "r+b") as handle:
        handle.seek(-4, 2)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(ModelIntegrityError, match="does not match its manifest hash"):
        PolicyClassifier.load(saved)


def test_truncated_file_is_refused(saved):
    data = (saved / "config.json").read_bytes()
    (saved / "config.json").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelIntegrityError, match="config.json' does not match"):
        PolicyClassifier.load(saved)


def test_other_label_set_is_refused(saved):
    config = json.loads((saved / "config.json").read_text())
    config["labels"] = ["enforcement", "humanitarian"]
    (saved / "config.json").write_text(json.dumps(config))
    write_manifest(saved)  # a consistent manifest: the label check itself must refuse it
    with pytest.raises(ModelIntegrityError, match="trained for labels"):
        PolicyClassifier.load(saved)


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model folder"):
        PolicyClassifier.load(tmp_path / "absent")
