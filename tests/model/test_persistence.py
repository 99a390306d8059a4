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


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_failed_save_leaves_the_previous_model_whole(fitted, saved, monkeypatch):
    import darien_nlp.persistence as persistence

    before = _snapshot(saved)

    def crash(folder):
        raise KeyboardInterrupt("interrupted while writing the manifest")

    monkeypatch.setattr(persistence, "write_manifest", crash)
    with pytest.raises(KeyboardInterrupt):
        fitted.save(saved, metadata={"note": "second"}, card="# other card\n")
    assert _snapshot(saved) == before and PolicyClassifier.load(saved).metadata_["note"] == "test"
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]  # no partial folder left behind


def test_a_save_over_an_old_model_replaces_it_whole_with_readable_files(fitted, saved):
    (saved / "stray.bin").write_bytes(b"left from an older layout")
    fitted.save(saved, metadata={"note": "second"}, card=None)
    assert not (saved / "stray.bin").exists() and not (saved / "README.md").exists()
    assert PolicyClassifier.load(saved).metadata_["note"] == "second"
    assert all(p.stat().st_mode & 0o044 for p in saved.iterdir())  # group/other may read, not 0600
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]


def test_a_killed_save_leaves_the_previous_model_loadable(fitted, saved, tmp_path):
    """A real SIGKILL in the middle of a save (after the arrays, before the manifest)."""
    import signal
    import subprocess
    import sys
    import time

    marker = tmp_path / "writing"
    script = f"""
import sys, time
import darien_nlp.persistence as persistence
from darien_nlp.classifier import PolicyClassifier
model = PolicyClassifier.load({str(saved)!r})
def slow(folder):
    open({str(marker)!r}, "w").close()
    time.sleep(60)
persistence.write_manifest = slow
model.save({str(saved)!r}, metadata={{"note": "never"}}, card=None)
"""
    before = _snapshot(saved)
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        for _ in range(600):
            if marker.exists() or process.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.exists(), "the save never reached the manifest"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert _snapshot(saved) == before and PolicyClassifier.load(saved).metadata_["note"] == "test"


def test_atomic_folder_makes_nothing_when_the_first_save_fails(tmp_path):
    from darien_nlp.persistence import atomic_folder

    with pytest.raises(RuntimeError):
        with atomic_folder(tmp_path / "new") as partial:
            (partial / "half.json").write_text("{")
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_ensemble_save_keeps_the_previous_ensemble(fitted, tmp_path, monkeypatch):
    import darien_nlp.ensemble as ensemble_module
    from darien_nlp.ensemble import save_ensemble
    from darien_nlp.inference import load_predictor

    members = [str(fitted.save(tmp_path / name, metadata={"note": name}, card=None)) for name in ("a", "b")]
    folder = save_ensemble(tmp_path / "ensemble", dict.fromkeys(members, 1.0))
    before = _snapshot(folder)
    monkeypatch.setattr(ensemble_module, "write_manifest", lambda folder: (_ for _ in ()).throw(OSError("no space")))
    with pytest.raises(OSError, match="no space"):
        save_ensemble(folder, {members[0]: 3.0, members[1]: 1.0})
    assert _snapshot(folder) == before and load_predictor(folder).weights_.tolist() == [0.5, 0.5]


def _edit_and_reseal(folder, *, arrays=None, config=None):
    """Change a saved model by hand and rewrite its manifest (as a careless or hostile editor would)."""
    from darien_nlp.persistence import load_arrays, save_arrays

    if arrays:
        head = load_arrays(folder, "head.safetensors")
        arrays(head)
        save_arrays(folder, "head.safetensors", head)
    if config:
        data = json.loads((folder / "config.json").read_text())
        data = config(data) or data
        (folder / "config.json").write_text(json.dumps(data))
    write_manifest(folder)


def _set(array_name, index, value):
    def edit(head):
        head[array_name] = head[array_name].copy()
        head[array_name].flat[index] = value
    return edit


@pytest.mark.parametrize("arrays, config, match", [
    (_set("coef", 0, np.nan), None, "'coef' holds NaN"),
    (_set("coef", 3, 1e300), None, "'coef' holds NaN, infinite or implausibly large"),
    (_set("intercept", 0, np.inf), None, "'intercept'"),
    (_set("thresholds", 1, np.nan), None, "'thresholds' holds NaN"),
    (_set("thresholds", 1, -0.2), None, "'thresholds' must lie in"),
    (_set("thresholds", 1, 1.5), None, "'thresholds' must lie in"),
    (None, lambda c: c["embedder"].update(max_length=-5), "'max_length' must be an int >= 1"),
    (None, lambda c: c["embedder"].update(max_length="256"), "'max_length' must be an int"),
    (None, lambda c: c.update(n_features="384"), "'n_features' must be a positive int"),
    (None, lambda c: c.update(embedder=["static.v1"]), "unknown embedder"),
    (None, lambda c: c.update(labels={"a": 1}), "trained for labels"),
    (None, lambda c: [c], "not a JSON object"),
    (None, lambda c: c["embedder"].update(model=7), "folder name inside the models folder"),
])
def test_hand_edited_values_are_refused_naming_the_file(saved, arrays, config, match):
    from darien_nlp.inference import load_predictor

    _edit_and_reseal(saved, arrays=arrays, config=config)
    with pytest.raises(ModelIntegrityError, match=match):
        load_predictor(saved)
    with pytest.raises(ModelIntegrityError):
        PolicyClassifier.load(saved)
