"""``Embedder.project``: the linear scores a head needs, computed block by block, equal the
scores of the stacked features (what training sees)."""
import numpy as np
import pytest

from darien_nlp.embed import make_embedder
from darien_nlp.embed.context import ContextEmbedder
from darien_nlp.embed.lexical import StaticLexicalEmbedder

TEXTS = ["Safe Mobility Offices opened in Colombia and Guatemala.",
         "Border patrol arrested smugglers moving migrants through the Darién.",
         "La contaminación de los ríos del Darién afecta a las comunidades indígenas.",
         "Quarterly tax enforcement results were announced.",
         "", "Visa rules for tourists changed."] * 3


def _weights(dim, k=5, seed=0):
    return np.random.default_rng(seed).normal(size=(k, dim))


def _stacked(embedder, items, weights):
    features = embedder.encode(items)
    return np.asarray(features @ weights.T, dtype=np.float64)


@pytest.mark.parametrize("bilingual", [None, "models/static-minilm-v1"])
def test_static_lex_project_equals_stacked_scores(bilingual):
    embedder = StaticLexicalEmbedder(bilingual=bilingual, bilingual_weight=1.5).fit(TEXTS)
    weights = _weights(embedder.encode(TEXTS[:1]).shape[1])
    np.testing.assert_allclose(embedder.project(TEXTS, weights), _stacked(embedder, TEXTS, weights), rtol=1e-5, atol=2e-5)
    with pytest.raises(ValueError, match="shape"):
        embedder.project(TEXTS, weights[:, :-1])
    assert embedder.project([], weights).shape == (0, 5)


def test_context_project_equals_stacked_scores_with_and_without_contexts():
    embedder = ContextEmbedder(inner="static_lex.v1", weight=0.5).fit(TEXTS)
    weights = _weights(embedder.encode(TEXTS[:1]).shape[1], k=3)
    bare = list(TEXTS)
    pairs = [(t, f"A release on migration. {t} More text.") for t in TEXTS]
    mixed = [t if i % 2 else (t, None if i % 3 else f"Context: {t}") for i, t in enumerate(TEXTS)]
    for items in (bare, pairs, mixed):
        np.testing.assert_allclose(embedder.project(items, weights), _stacked(embedder, items, weights),
                                   rtol=1e-5, atol=2e-5)
    with pytest.raises(ValueError, match="shape"):
        embedder.project(bare, weights[:, :-1])
    with pytest.raises(TypeError, match="texts\\[0\\]"):
        embedder.project([3], weights)


def test_default_project_for_dense_backends():
    embedder = make_embedder("static")
    weights = _weights(embedder.dim, k=2)
    np.testing.assert_allclose(embedder.project(TEXTS, weights), _stacked(embedder, TEXTS, weights), rtol=1e-6)


def test_shipped_models_score_the_same_through_project():
    """The predictor (project, float64 throughout) and the stacked float32 features agree for the shipped
    linear models to float32 rounding."""
    from darien_nlp.api import default_model_path
    from darien_nlp.inference import load_predictor

    for name in ("policy-static", "policy-bilingual-scope"):
        model = load_predictor(default_model_path(name))
        items = TEXTS + [(t, "The Darién crossing and the border. " + t) for t in TEXTS[:4]]
        stacked = _stacked(model.embedder_, items, model.coef_) + model.intercept_
        np.testing.assert_allclose(model.embedder_.project(items, model.coef_) + model.intercept_, stacked,
                                   rtol=1e-5, atol=2e-5)


def test_tfidf_rows_equal_the_sparse_formula():
    """The lexical block's TF-IDF rows, computed on the data array, equal log1p(count) * idf, each row at
    unit L2 norm (an empty row stays empty; an idf of 0 gives 0)."""
    from scipy import sparse

    from darien_nlp.embed.lexical import _tfidf_rows

    rng = np.random.default_rng(0)
    counts = sparse.random(60, 400, density=0.05, format="csr", random_state=1, dtype=np.float32)
    counts.data = np.ceil(counts.data * 3).astype(np.float32)
    counts = sparse.csr_matrix(counts.toarray() * (np.arange(60) % 7 != 3)[:, None])  # some empty rows
    idf = (rng.random(400) * 5).astype(np.float32)
    idf[:40] = 0.0
    expected = np.log1p(counts.toarray()) * idf
    norms = np.linalg.norm(expected, axis=1, keepdims=True)
    expected = np.divide(expected, norms, out=np.zeros_like(expected), where=norms > 0)
    got = _tfidf_rows(counts, idf)
    np.testing.assert_allclose(got.toarray(), expected, atol=1e-6)
    assert got.dtype == np.float32 and not got[3].toarray().any()


def test_prepared_weights_are_reused_for_the_same_array_only():
    """A head's weights are prepared (blocks, transposes) once per array object for small calls; another
    array, or a call of many texts, prepares afresh; the memo is not pickled; scores are unchanged."""
    import pickle

    from darien_nlp.embed.base import MEMO_ROWS

    embedder = StaticLexicalEmbedder(bilingual="models/static-usem3-v1").fit(TEXTS * 4)
    dim = embedder.encode(TEXTS[:1]).shape[1]
    weights = np.random.default_rng(0).normal(size=(5, dim))
    calls = []
    original = embedder._block_weights
    embedder._block_weights = lambda w: calls.append(w) or original(w)
    first = embedder.project(TEXTS, weights)
    again = embedder.project(TEXTS, weights)
    assert len(calls) == 1 and np.array_equal(first, again)
    other = weights * 2.0
    np.testing.assert_allclose(embedder.project(TEXTS, other), 2.0 * first, rtol=1e-6)
    assert len(calls) == 2
    many = TEXTS * (MEMO_ROWS // len(TEXTS) + 1)
    embedder.project(many, weights)
    assert len(calls) == 3  # a large call prepares afresh
    np.testing.assert_allclose(embedder.project(many[:len(TEXTS)], weights), first)
    assert len(calls) == 3  # the small call still finds its prepared weights
    del embedder._block_weights  # the spy
    assert "_prepared_weights" in embedder.__dict__
    copy = pickle.loads(pickle.dumps(embedder))
    assert "_prepared_weights" not in copy.__dict__
    np.testing.assert_allclose(copy.project(TEXTS, weights), first)


@pytest.mark.parametrize("rows", [3, 400])
def test_canonical_counts_sum_repeats_and_sort_small_and_large_batches(rows):
    from scipy import sparse

    from darien_nlp.embed.static import canonical_counts

    rng = np.random.default_rng(rows)
    indices = rng.integers(0, 50, size=rows * 30)
    raw = sparse.csr_matrix((np.ones(len(indices), np.float32), indices, np.arange(0, rows * 30 + 1, 30)),
                            shape=(rows, 50 if rows > 3 else 5000))
    got = canonical_counts(raw)
    np.testing.assert_array_equal(got.toarray(), raw.toarray())
    assert got.has_canonical_format and got.nnz == np.count_nonzero(raw.toarray())
    assert raw.nnz == rows * 30  # the input is left as it was
