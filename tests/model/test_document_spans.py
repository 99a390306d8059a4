"""Document spans: a static model reads windows of a document from one tokenisation of it, with the
same token counts (so the same scores) as tokenising each window."""
import random

import numpy as np
import pytest

from darien_nlp.corpus import context_span, context_window
from darien_nlp.embed.static import DocumentSpans, StaticEmbedder, document_spans, models_dir

DOCUMENTS = [
    "Migrants crossing the Darién Gap need shelter.\n\nThe border closed at night; officials in Panamá said "
    "repatriation flights would resume. " * 6,
    "  Leading spaces, tabs\tand\u00a0no-break\u2028line separators\u3000and ideographic spaces count as "
    "whitespace; zero\u200bwidth does not.  ",
    "Los migrantes cruzaron la selva del Darién. La frontera con Colombia sigue abierta. " * 40,
    "",
    "word",
]


def _fast(name):
    path = models_dir() / name
    if not path.is_dir():
        pytest.skip(f"{path} is not in this checkout")
    return StaticEmbedder(path=path)._model()


def _spans(document, rng, count=40):
    spans = [(0, len(document))]
    for _ in range(count):
        start = rng.randrange(0, len(document) + 1)
        end = rng.randrange(start, min(len(document), start + 700) + 1)
        spans.append(context_span(document, start, end, rng.choice([0, 50, 600])))
        spans.append((start, end))  # raw spans: may start or end inside a word
    return spans


@pytest.mark.parametrize("name", ["static-minilm-v1", "static-usem3-v1"])
def test_span_counts_equal_tokenising_each_window(name):
    fast = _fast(name)
    rng = random.Random(7)
    registry = DocumentSpans(cache_documents=2)  # fewer than the documents: their tokens are dropped and redone
    texts = []
    for document in DOCUMENTS:
        texts += registry.add(document, _spans(document, rng) if document else [(0, 0)])
    texts += ["a text nobody registered", "Darién"]  # read as usual, in their places
    rng.shuffle(texts)
    expected = fast._split_counts(texts)
    with document_spans(registry):
        got = fast.token_counts(texts)
    assert got.shape == expected.shape
    assert abs(got - expected).nnz == 0
    assert not registry.tokens and not registry.splits and registry.spans  # the block's caches are dropped
    # windows longer than the model reads: cut at max_chars (inside a word) and at max_length tokens
    long_document = "palabra " * 2000 + "unbrokenwordthatisverylong" * 200
    registry = DocumentSpans()
    texts = registry.add(long_document, [(0, len(long_document)), (1, 3000), (16000 - 5, len(long_document))])
    with document_spans(registry):
        got = fast.token_counts(texts)
    assert abs(got - fast._split_counts(texts)).nnz == 0
    assert int(got.sum(axis=1).max()) <= fast.max_length


def test_context_span_is_where_context_window_cuts():
    rng = random.Random(3)
    for document in DOCUMENTS[:3]:
        for _ in range(200):
            start = rng.randrange(0, len(document) + 1)
            end = rng.randrange(start, len(document) + 1)
            chars = rng.choice([0, 1, 5, 80, 600])
            left, right = context_span(document, start, end, chars)
            assert document[left:right] == context_window(document, start, end, chars)
    with pytest.raises(ValueError, match="outside a text"):
        context_span("short", 2, 9, 5)
    with pytest.raises(ValueError, match="chars must be >= 0"):
        context_span("short", 0, 2, -1)


def test_document_spans_refuses_a_span_outside_its_document_and_restores_the_previous_registry():
    registry = DocumentSpans()
    with pytest.raises(ValueError, match="outside a document of 4 characters"):
        registry.add("text", [(2, 9)])
    outer, inner = DocumentSpans(), DocumentSpans()
    from darien_nlp.embed import static

    with document_spans(outer):
        with document_spans(inner):
            assert static._SPANS.registry is inner
        assert static._SPANS.registry is outer
    assert static._SPANS.registry is None


def test_classify_documents_scores_equal_classify_with_contexts():
    """The shipped default, through classify_documents (spans) and classify (each window tokenised)."""
    import darien_nlp
    from darien_nlp.api import _context_chars, load_model
    from darien_nlp.corpus import Document, segment

    if not (models_dir() / darien_nlp.api.DEFAULT_MODEL).is_dir():
        pytest.skip("the default model is not in this checkout")
    documents = [Document(f"d{i}", text) for i, text in enumerate(DOCUMENTS) if text.strip()]
    window = _context_chars(load_model())
    got = list(darien_nlp.classify_documents(documents))
    for document, result in zip(documents, got):
        passages = segment(document)
        contexts = [context_window(document.text, p.start, p.end, window) for p in passages]
        expected = darien_nlp.classify([p.text for p in passages], context=contexts)
        assert [q.labels for _, q in result.passages] == [e.labels for e in expected]
        # the same token counts; overlapping windows are summed from shared pieces (another order of the
        # same float32 additions), so scores agree to float rounding
        assert np.allclose([list(q.scores.values()) for _, q in result.passages],
                           [list(e.scores.values()) for e in expected], rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["static-minilm-v1", "static-usem3-v1"])
def test_overlapping_windows_are_pooled_from_pieces_with_the_same_counts(name):
    from darien_nlp.embed.static import _span_pieces

    fast = _fast(name)
    document = DOCUMENTS[2] * 3
    registry = DocumentSpans()
    rng = random.Random(11)
    spans = []
    for _ in range(60):  # overlapping context windows, as classify_documents reads them
        start = rng.randrange(0, len(document) - 200)
        spans.append(context_span(document, start, start + rng.randrange(1, 200), 600))
    texts = registry.add(document, spans)
    with document_spans(registry):
        counts = fast.token_counts(texts)
    pieces = getattr(counts, "span_pieces", None)
    assert pieces is not None  # windows overlap: they are summed from pieces
    piece_counts, membership = pieces
    assert abs(membership @ piece_counts - counts).nnz == 0  # the pieces hold each window's tokens exactly
    assert piece_counts.nnz < counts.nnz / 2
    pooled = fast.pool(counts)
    counts.span_pieces = None
    direct = fast.pool(counts)
    assert np.allclose(pooled, direct, rtol=0, atol=1e-5)
    assert float(np.min(np.sum(pooled * direct, axis=1))) > 0.99999
    # rows that do not overlap (each passage once) gain nothing from pieces: none are built
    first = np.array([0, 10, 25]); last = np.array([10, 25, 40])
    assert _span_pieces(np.arange(40), first, last, 100) is None
    assert _span_pieces(np.arange(0), first[:0], last[:0], 100) is None


def test_a_lone_surrogate_in_a_block_no_passage_reads_does_not_break_the_document():
    """classify scrubs the texts it is given, but a registered document is tokenised whole: a heading
    that segment() drops may hold a lone surrogate. It is read as U+FFFD, as classify reads its texts."""
    import darien_nlp
    from darien_nlp.corpus import Document, segment

    if not (models_dir() / darien_nlp.api.DEFAULT_MODEL).is_dir():
        pytest.skip("the default model is not in this checkout")
    text = "Migrants cross the border seeking asylum.\n\nBad \ud800 heading\n\nDeportation flights resumed this week."
    passages = segment(Document("d", text))
    registry = DocumentSpans()
    contexts = registry.add_passages(text, passages, 600)
    with document_spans(registry):
        spanned = darien_nlp.classify([p.text for p in passages], context=contexts)
    plain = darien_nlp.classify([p.text for p in passages], context=[c.replace("\ud800", "\ufffd") for c in contexts])
    assert [p.labels for p in spanned] == [p.labels for p in plain]
    assert np.allclose([list(p.scores.values()) for p in spanned], [list(p.scores.values()) for p in plain],
                       rtol=0, atol=1e-6)


def test_split_falls_back_when_the_whitespace_table_misses_a_character(monkeypatch):
    """Chunk offsets come from a table of whitespace code points; a whitespace character it lacks (a later
    Unicode release) would pair chunks with wrong offsets, so split() checks the count and reads the
    offsets by regex instead."""
    from darien_nlp.embed import static

    document = "one\u3000two\u00a0three  four"
    real = static.whitespace_mask
    monkeypatch.setattr(static, "whitespace_mask", lambda text: real(text) & (np.array(list(text)) != "\u3000"))
    registry = DocumentSpans()
    index = registry.add_document(document)
    chunks, starts, ends = registry.split(index)
    assert chunks == document.split()
    assert [document[a:b] for a, b in zip(starts.tolist(), ends.tolist())] == chunks
