"""A classifier pins the static model it reads by its manifest's hash; the static folder verifies its files."""
import json
import shutil
from pathlib import Path

import pytest

from darien_nlp.inference import load_predictor
from darien_nlp.persistence import ModelIntegrityError, write_json, write_manifest

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture()
def models(tmp_path, monkeypatch):
    """A private copy of policy-static and its static backbone, found by name through DARIEN_NLP_MODELS."""
    for name in ("policy-static", "static-minilm-v1"):
        shutil.copytree(MODELS / name, tmp_path / name)
    monkeypatch.setenv("DARIEN_NLP_MODELS", str(tmp_path))
    return tmp_path


def _texts():
    return ["Migrants crossing the Darién Gap need shelter and water."]


def test_the_copy_loads_and_scores(models):
    predictor = load_predictor(models / "policy-static")
    assert predictor.predict_proba(_texts()).shape == (1, 5)
    spec = json.loads((models / "policy-static" / "config.json").read_text())["embedder"]
    assert json.dumps(spec).count("manifest_sha256") >= 1


@pytest.mark.parametrize("change", ["flip a byte of the vectors", "edit the tokenizer", "delete the manifest"])
def test_a_changed_static_model_is_refused(models, change):
    static = models / "static-minilm-v1"
    if change == "flip a byte of the vectors":
        data = bytearray((static / "model.safetensors").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (static / "model.safetensors").write_bytes(bytes(data))
    elif change == "edit the tokenizer":
        tokenizer = json.loads((static / "tokenizer.json").read_text())
        tokenizer["normalizer"] = None
        (static / "tokenizer.json").write_text(json.dumps(tokenizer))
    else:
        (static / "manifest.json").unlink()
    with pytest.raises(ModelIntegrityError):
        load_predictor(models / "policy-static").predict_proba(_texts())


def test_a_substituted_static_model_with_its_own_valid_manifest_is_refused(models):
    static = models / "static-minilm-v1"
    config = json.loads((static / "config.json").read_text())
    config["note"] = "another build"
    (static / "config.json").write_text(json.dumps(config))
    write_manifest(static)  # self-consistent, but not the folder the classifier was trained on
    with pytest.raises(ModelIntegrityError, match="not the one this model was trained on"):
        load_predictor(models / "policy-static")


def _edit_embedder(models, edit):
    folder = models / "policy-static"
    config = json.loads((folder / "config.json").read_text())

    def walk(node):
        if isinstance(node, dict):
            if node.get("name") == "static.v1":
                edit(node)
            for value in node.values():
                walk(value)
    walk(config["embedder"])
    write_json(folder, "config.json", config)
    write_manifest(folder)
    return folder


@pytest.mark.parametrize("model", ["/etc", "../static-minilm-v1", "sub/static-minilm-v1", ".."])
def test_a_static_model_outside_the_models_folder_is_refused(models, model):
    folder = _edit_embedder(models, lambda node: node.update(model=model))
    with pytest.raises(ModelIntegrityError, match="folder name inside the models folder"):
        load_predictor(folder)


def test_an_unpinned_static_model_is_refused(models):
    folder = _edit_embedder(models, lambda node: node.pop("manifest_sha256"))
    with pytest.raises(ModelIntegrityError, match="not pinned"):
        load_predictor(folder)


def test_repin_after_a_deliberate_rebuild(tmp_path, monkeypatch):
    """models repin records a rebuilt backbone's manifest in the classifiers that pin it (and an ensemble's
    member pins), so they load again; a corrupted backbone is never pinned."""
    from darien_nlp.catalog import repin_models
    from darien_nlp.cli import main

    for name in ("policy-static", "static-minilm-v1", "policy-ensemble", "policy-minilm"):
        shutil.copytree(MODELS / name, tmp_path / name)
    monkeypatch.setenv("DARIEN_NLP_MODELS", str(tmp_path))
    static = tmp_path / "static-minilm-v1"
    config = json.loads((static / "config.json").read_text())
    config["note"] = "rebuilt on purpose"
    (static / "config.json").write_text(json.dumps(config))
    write_manifest(static)
    with pytest.raises(ModelIntegrityError, match="not the one this model was trained on"):
        load_predictor(tmp_path / "policy-static")
    assert main(["models", "repin", "--dir", str(tmp_path)]) == 0
    assert load_predictor(tmp_path / "policy-static").predict_proba(_texts()).shape == (1, 5)
    assert repin_models(tmp_path) == []  # nothing left to change
    ensemble = json.loads((tmp_path / "policy-ensemble" / "ensemble.json").read_text())
    from darien_nlp.persistence import sha256_file

    assert ensemble["members"][0]["manifest_sha256"] == sha256_file(tmp_path / "policy-static" / "manifest.json")
    data = bytearray((static / "model.safetensors").read_bytes())
    data[100] ^= 0xFF
    (static / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError):
        repin_models(tmp_path)
