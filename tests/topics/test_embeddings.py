import numpy as np

from darien_nlp.embed import make_embedder
from darien_nlp.topics.embeddings import cached_embeddings, embedder_fingerprint, texts_fingerprint


class CountingEmbedder:
    """Wraps the static embedder and counts encode calls."""

    def __init__(self):
        self.inner = make_embedder("static")
        self.path = self.inner.path
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        return self.inner.encode(texts)

    def spec(self):
        return self.inner.spec()

    def state(self):
        return {}


def test_second_run_reads_the_cache_instead_of_encoding(tmp_path, themed):
    texts, _ = themed
    embedder = CountingEmbedder()
    first = cached_embeddings(texts, embedder, cache_dir=tmp_path)
    assert embedder.calls == 1 and len(list(tmp_path.glob("*.npy"))) == 1
    second = cached_embeddings(texts, embedder, cache_dir=tmp_path)
    assert embedder.calls == 1
    np.testing.assert_array_equal(first, second)
    cached_embeddings(texts[:-1], embedder, cache_dir=tmp_path)  # another corpus: another key
    assert embedder.calls == 2 and len(list(tmp_path.glob("*.npy"))) == 2


def test_fingerprints_depend_on_order_and_model():
    assert texts_fingerprint(["a", "b"]) != texts_fingerprint(["ab"])
    assert embedder_fingerprint(make_embedder("static")) != embedder_fingerprint(make_embedder("static", max_length=64))
