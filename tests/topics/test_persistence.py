import json

import numpy as np
import pytest

from darien_nlp.persistence import ModelIntegrityError
from darien_nlp.topics import TopicModel

from .conftest import FAST


@pytest.fixture(scope="module")
def saved(tmp_path_factory, themed):
    texts, _ = themed
    model = TopicModel(**{**FAST, "clusterer": "hdbscan", "min_cluster_size": 10}, reduce_outliers=True,
                       random_state=2).fit(texts)
    folder = model.save(tmp_path_factory.mktemp("topics") / "model")
    return model, folder


def test_saved_folder_holds_no_pickle_and_a_manifest(saved):
    _, folder = saved
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"manifest.json", "topic_model.json", "assignments.safetensors", "README.md",
            "bertopic/topic_embeddings.safetensors", "bertopic/ctfidf.safetensors"} <= names
    assert not any(name.endswith((".pkl", ".pickle", ".bin", ".joblib")) for name in names)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["files"]) == names - {"manifest.json"}


def test_load_reproduces_training_assignments_with_transform(saved, themed):
    model, folder = saved
    texts, _ = themed
    loaded = TopicModel.load(folder)
    np.testing.assert_array_equal(loaded.topics_, model.topics_)
    np.testing.assert_array_equal(loaded.transform(texts), model.topics_)
    np.testing.assert_array_equal(loaded.transform(texts), model.transform(texts))
    assert loaded.topic_names() == model.topic_names()
    assert loaded.outlier_share_ == model.outlier_share_
    assert loaded.get_params() == model.get_params()


def test_tampered_file_is_refused(saved, tmp_path):
    import shutil

    _, folder = saved
    copy = shutil.copytree(folder, tmp_path / "copy")
    path = copy / "bertopic" / "topics.json"
    path.write_text(path.read_text().replace('"topic_labels"', '"topic_labelz"'))
    with pytest.raises(ModelIntegrityError, match="does not match its manifest hash"):
        TopicModel.load(copy)


def test_missing_file_names_the_layout(saved, tmp_path):
    import shutil

    _, folder = saved
    copy = shutil.copytree(folder, tmp_path / "copy")
    (copy / "assignments.safetensors").unlink()
    with pytest.raises(ModelIntegrityError, match="missing.*assignments.safetensors"):
        TopicModel.load(copy)


def _reseal(copy):
    from darien_nlp.persistence import write_manifest

    write_manifest(copy)


def test_a_topic_model_without_its_ctfidf_is_refused_even_resealed(saved, tmp_path):
    import shutil

    _, folder = saved
    copy = shutil.copytree(folder, tmp_path / "copy")
    (copy / "bertopic" / "ctfidf.safetensors").unlink()
    _reseal(copy)
    with pytest.raises(ModelIntegrityError, match="ctfidf.safetensors"):
        TopicModel.load(copy)


@pytest.mark.parametrize("change", ["nan c-tf-idf", "fewer c-tf-idf rows", "topics of another model", "config list"])
def test_replaced_topic_model_values_are_refused(saved, tmp_path, change):
    import shutil

    from safetensors.numpy import load_file, save_file

    _, folder = saved
    copy = shutil.copytree(folder, tmp_path / "copy")
    if change in ("nan c-tf-idf", "fewer c-tf-idf rows"):
        path = copy / "bertopic" / "ctfidf.safetensors"
        arrays = load_file(str(path))
        if change == "nan c-tf-idf":
            arrays["data"] = arrays["data"].copy()
            arrays["data"][0] = np.nan
        else:
            arrays["indptr"] = arrays["indptr"][:-1].copy()
            arrays["shape"] = arrays["shape"].copy()
            arrays["shape"][0] -= 1
        save_file(arrays, str(path))
    elif change == "topics of another model":
        from darien_nlp.persistence import load_arrays, save_arrays

        arrays = load_arrays(copy, "assignments.safetensors")
        arrays["topics"] = np.full_like(arrays["topics"], 999)
        save_arrays(copy, "assignments.safetensors", arrays)
    else:
        (copy / "topic_model.json").write_text("[]")
    _reseal(copy)
    with pytest.raises(ModelIntegrityError):
        TopicModel.load(copy)
