"""The lsa.v1 topic embedder: topics by subject words, saved and reloaded exactly."""
import numpy as np
import pytest

from darien_nlp.persistence import ModelIntegrityError
from darien_nlp.topics import TopicModel
from darien_nlp.topics.lsa import LsaEmbedder

from .conftest import FAST
from .test_model import purity


def test_lsa_embedder_unit_rows_and_round_trip(themed):
    texts, _ = themed
    embedder = LsaEmbedder(n_components=8, min_df=2, max_df=0.5).fit(texts)
    vectors = embedder.encode(texts)
    assert vectors.shape == (len(texts), 8) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    rebuilt = LsaEmbedder.from_spec(embedder.spec(), embedder.state())
    np.testing.assert_allclose(rebuilt.encode(texts), vectors, atol=1e-6)
    # Boilerplate and stop words never enter the vocabulary.
    assert not {"the", "president", "white house"} & set(embedder.vocabulary_)


def test_lsa_embedder_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        LsaEmbedder().encode(["border"])
    with pytest.raises(ValueError, match="no vocabulary"):
        LsaEmbedder(min_df=5).fit(["border wall", "safe mobility"])
    embedder = LsaEmbedder(n_components=2, min_df=1, max_df=1.0).fit(["border wall built", "safe mobility office", "jungle river route"])
    state = embedder.state()
    state["lsa_components"] = state["lsa_components"][:, :-1]
    with pytest.raises(ValueError, match="do not match its vocabulary"):
        LsaEmbedder.from_spec(embedder.spec(), state)


def test_topic_model_on_lsa_finds_the_themes_and_reloads(themed, tmp_path):
    texts, themes = themed
    model = TopicModel(**{**FAST, "n_components": 4}, embedder="lsa", embedder_options={"n_components": 8, "min_df": 2},
                       random_state=1).fit(texts)
    assert purity(model.topics_, themes) >= 0.9
    folder = model.save(tmp_path / "lsa-model")
    assert (folder / "embedder.safetensors").is_file()
    loaded = TopicModel.load(folder)
    np.testing.assert_array_equal(loaded.transform(texts), model.topics_)
    (folder / "embedder.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelIntegrityError):
        TopicModel.load(folder)
