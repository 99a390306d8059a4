"""The topic table registers its passages and contexts as spans of their documents, so the classifier
tokenises each document once; labels and scope scores are the same as reading each window."""
import numpy as np
import pytest

from darien_nlp.embed.static import document_spans, models_dir
from darien_nlp.topics.passages import collect_passages

from .conftest import write_markdown_corpus


def test_table_spans_give_the_labels_and_scope_scores_of_each_window(tmp_path):
    import darien_nlp
    from darien_nlp.api import load_model
    from darien_nlp.topics import views

    if not (models_dir() / darien_nlp.api.DEFAULT_MODEL).is_dir():
        pytest.skip("the default model is not in this checkout")
    write_markdown_corpus(tmp_path / "releases", n_docs=12)
    table = collect_passages(tmp_path / "releases", context_chars=200)
    assert table.contexts and table.spans is not None
    assert all(context in table.spans.spans for context in table.contexts)
    assert all(text in table.spans.spans for text in table.texts)
    assert collect_passages(tmp_path / "releases").spans is None  # no contexts asked: nothing registered
    model = load_model()
    plain = views.predict_label_matrix(table.texts, model, contexts=table.contexts)
    items = list(zip(table.texts, table.contexts))
    plain_scope = model.scope_proba(items)
    with document_spans(table.spans):
        spanned = views.predict_label_matrix(table.texts, model, contexts=table.contexts)
        spanned_scope = model.scope_proba(items)
    assert np.array_equal(plain, spanned)
    # overlapping windows are summed from shared pieces: the same float32 additions in another order
    assert np.allclose(plain_scope, spanned_scope, rtol=0, atol=1e-6)


def test_a_text_that_is_not_its_span_is_not_registered():
    from darien_nlp.embed.static import DocumentSpans

    registry = DocumentSpans()
    index = registry.add_document("one two three")
    assert registry.register("two", index, 4, 7) and registry.spans["two"] == (index, 4, 7)
    assert not registry.register("tree", index, 8, 12) and "tree" not in registry.spans
    assert not registry.register("three", index, 8, 99)  # outside the document: refused, not raised
