import subprocess
import sys
import threading

import pytest

import darien_nlp
from darien_nlp.api import MAX_CHARS, Prediction, classify, classify_dataset, classify_document
from darien_nlp.corpus import Document
from darien_nlp.taxonomy import LABELS


def test_string_gives_one_prediction_and_list_gives_list(model_dir):
    single = classify("Dismantle smuggling networks in the Darién.", model=model_dir)
    assert isinstance(single, Prediction)
    assert set(single.scores) == set(LABELS)
    assert single.labels == tuple(l for l in LABELS if l in single.labels)  # taxonomy order
    many = classify(["Open lawful pathways.", "Preserve the rainforest ecosystem."], model=model_dir)
    assert [type(p) for p in many] == [Prediction, Prediction]
    assert "lawful_pathways" in many[0].labels and "environment" in many[1].labels


def test_generator_input_keeps_order(model_dir):
    texts = ["Open lawful pathways.", "", "Preserve the rainforest ecosystem."]
    assert [p.labels for p in classify((t for t in texts), model=model_dir)] == [p.labels for p in classify(texts, model=model_dir)]


def test_empty_and_whitespace_get_no_labels(model_dir):
    empty, blank = classify(["", "  \n\t"], model=model_dir)
    assert empty.labels == () and blank.labels == ()
    assert set(empty.scores.values()) == {0.0}
    with pytest.raises(ValueError, match=r"item 1 is empty"):
        classify(["text", " "], model=model_dir, strict=True)


@pytest.mark.parametrize("bad, message", [
    (None, "got None"), (b"bytes", "got bytes"), (42, "got int"), (["ok", None], "item 1 is a NoneType"),
    (["ok", b"x"], "item 1 is a bytes"), ([1.5], "item 0 is a float"),
])
def test_bad_input_is_a_clear_type_error(model_dir, bad, message):
    with pytest.raises(TypeError, match=message):
        classify(bad, model=model_dir)


@pytest.mark.parametrize("threshold", [-0.1, 1.5, "high", True])
def test_bad_threshold(model_dir, threshold):
    with pytest.raises(ValueError, match="The 'threshold' parameter of classify"):
        classify("x", model=model_dir, threshold=threshold)


@pytest.mark.parametrize("threshold", [-0.1, 1.5, "high"])
def test_bad_threshold_of_document_calls_is_refused_before_any_work(model_dir, threshold):
    """classify_document(s) check the threshold first: also for a document with no passage, and before a
    stream's first document is read."""
    from darien_nlp import classify_document, classify_documents

    with pytest.raises(ValueError, match="The 'threshold' parameter"):
        classify_document("", model=model_dir, threshold=threshold)

    def documents():
        raise AssertionError("a document was read before the threshold was checked")
        yield  # pragma: no cover

    with pytest.raises(ValueError, match="The 'threshold' parameter"):
        next(classify_documents(documents(), model=model_dir, threshold=threshold))


def test_threshold_overrides_the_tuned_ones(model_dir):
    text = "Dismantle smuggling networks and protect vulnerable migrants."
    assert classify(text, model=model_dir, threshold=0.0).labels == LABELS
    assert classify(text, model=model_dir, threshold=1.0).labels == ()


def test_five_megabyte_string_is_truncated_deliberately(model_dir):
    text = "Smuggling networks exploit migrants in the jungle. " * 100_000
    prediction = classify(text, model=model_dir)
    assert prediction.truncated and prediction.length == len(text) > MAX_CHARS
    assert prediction.scores == classify(text[:MAX_CHARS], model=model_dir).scores


def test_missing_model_folder_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model folder"):
        classify("x", model=tmp_path / "nope")


def test_thread_safe_and_deterministic(model_dir):
    texts = [f"Passage {i}: smuggling networks, lawful pathways and shelter for migrants." for i in range(200)]
    expected = [p.scores for p in classify(texts, model=model_dir)]
    results, errors = {}, []

    def worker(k):
        try:
            results[k] = [p.scores for p in classify(texts, model=model_dir)]
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(results[k] == expected for k in range(8))


def test_classify_document(model_dir, seeds_dir):
    from darien_nlp.corpus import load_corpus

    document = next(d for d in load_corpus(seeds_dir, include="*.txt") if d.doc_id.startswith("002_"))
    result = classify_document(document, model=model_dir)
    assert result.doc_id == document.doc_id
    assert all(document.text[p.start:p.end] == p.text for p, _ in result.passages)
    assert set(result.label_shares) == set(LABELS)
    assert all(0.0 <= share <= 1.0 for share in result.label_shares.values())
    for label, strongest in result.strongest.items():
        scores = [score for _, score in strongest]
        assert scores == sorted(scores, reverse=True)
    assert classify_document(Document("empty", ""), model=model_dir).passages == []
    with pytest.raises(TypeError, match="needs a str or a Document"):
        classify_document(42, model=model_dir)


def test_classify_dataset_and_dataframe(model_dir):
    datasets = pytest.importorskip("datasets")
    pandas = pytest.importorskip("pandas")
    data = datasets.Dataset.from_dict({"body": ["Open lawful pathways.", None, "Close the smuggling route."]})
    out = classify_dataset(data, text_column="body", model=model_dir)
    assert out["labels"][1] == [] and "lawful_pathways" in out["labels"][0]
    assert len(out["score_environment"]) == 3
    frame = classify_dataset(pandas.DataFrame({"text": ["Preserve the rainforest ecosystem."]}), model=model_dir)
    assert "environment" in frame["labels"][0]
    with pytest.raises(ValueError, match="no column 'missing'"):
        classify_dataset(data, text_column="missing", model=model_dir)


def test_import_is_light():
    code = ("import sys, darien_nlp; darien_nlp.load_corpus; darien_nlp.segment; "
            "heavy = [m for m in ('torch', 'sentence_transformers', 'bertopic', 'umap', 'hdbscan', 'transformers') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_classify_with_static_model_never_imports_torch(model_dir):
    code = (f"import sys, darien_nlp; darien_nlp.classify('Close the smuggling route.', model={str(model_dir)!r}); "
            "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_prediction_reports_language():
    import darien_nlp

    english, spanish, french, numbers = darien_nlp.classify([
        "Dismantle the smuggling networks that prey on migrants in the Darién.",
        "Desmantelar las redes de tráfico que se aprovechan de los migrantes en el Darién.",
        "Les migrants traversent la jungle du Darién avec leurs enfants.",
        "12 45 67 89",
    ])
    assert (english.language, spanish.language) == ("en", "es")
    assert english.supported_language and spanish.supported_language
    assert french.language == "fr" and not french.supported_language  # classified, and flagged
    assert numbers.language == "und"
    assert all(set(p.scores) == set(darien_nlp.LABELS) for p in (english, spanish, french, numbers))


def test_language_is_detected_once_on_first_read_from_the_text_start():
    import threading

    import darien_nlp
    from darien_nlp.corpus.language import detect_language

    long_spanish = "Los migrantes cruzan la selva del Darién con sus hijos. " * 20 + "The end is English " * 40
    prediction, empty = darien_nlp.classify([long_spanish, ""])
    assert prediction.language == detect_language(long_spanish[:300]).language == "es"
    assert empty.language == "und" and not empty.mixed_language
    assert "text_head" not in repr(prediction) and "Darién" not in repr(prediction)
    twin = darien_nlp.classify(long_spanish)
    assert twin == darien_nlp.classify(long_spanish)  # equality ignores the detection cache
    fresh = darien_nlp.classify([long_spanish] * 50)
    seen = []
    threads = [threading.Thread(target=lambda p=p: seen.append(p.language)) for p in fresh]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == ["es"] * 50


@pytest.mark.parametrize("model", ["policy-static", "policy-bilingual-scope"])
def test_accent_stripped_and_all_caps_spanish_read_like_the_original(model):
    """Transliterated Spanish ("Darien", "migracion") and all-caps headlines are normalised by the
    backbones' tokenizers (lower case, accents stripped), so they score as the original (to float
    rounding: the rows of one batch may be summed in another order)."""
    import darien_nlp

    original = "La migración irregular por el Darién creció; Panamá refuerza la lucha contra el tráfico de migrantes."
    stripped = "La migracion irregular por el Darien crecio; Panama refuerza la lucha contra el trafico de migrantes."
    capitals = original.upper()
    a, b, c = darien_nlp.classify([original, stripped, capitals], model=model)
    assert a.labels == b.labels == c.labels and set(a.scores) == set(b.scores) == set(c.scores)
    for label, score in a.scores.items():
        assert b.scores[label] == pytest.approx(score, rel=1e-9, abs=1e-12) == c.scores[label]
    assert a.language == b.language == c.language == "es"
    names = darien_nlp.classify("Juan Pérez, María López, Carlos Gómez, Ana Torres, 2021, 2022, 2023", model=model)
    assert names.labels == () and names.language == "und"  # a list of names says nothing about policy


def test_classify_dataset_missing_values_and_non_text_columns(model_dir):
    """pandas missing values are empty texts (no labels); a column of numbers is refused, naming the row,
    before any row is classified (issue #16, item 6)."""
    import numpy as np
    import pandas
    from datasets import Dataset

    frame = pandas.DataFrame({"text": ["Smugglers moved migrants through the Darien jungle.", np.nan, None, pandas.NA]})
    out = classify_dataset(frame, model=model_dir)
    assert len(out) == 4 and list(frame.columns) == ["text"]  # the input frame is left as it was
    assert out["labels"].tolist()[1:] == [[], [], []]
    assert all(0.0 <= out[f"score_{label}"][1] <= 1.0 for label in ("enforcement", "environment"))
    with pytest.raises(TypeError, match=r"row 1 of column 'text' is a int"):
        classify_dataset(pandas.DataFrame({"text": ["a text", 3]}, dtype=object), model=model_dir)
    with pytest.raises(TypeError, match="not text"):
        classify_dataset(Dataset.from_dict({"text": [1, 2]}), model=model_dir)
    data = classify_dataset(Dataset.from_dict({"text": ["Border patrol arrested smugglers.", None]}), model=model_dir)
    assert data["labels"][1] == []
    only_missing = classify_dataset(Dataset.from_dict({"text": [None, None]}), model=model_dir)
    assert only_missing["labels"] == [[], []]


def test_lone_surrogates_are_replaced_per_item_not_fatal(model_dir, caplog):
    """A lone surrogate ("\\ud800", not valid Unicode) used to fail the whole batch in the tokenizer and
    classify_document in the hashing (issue #16, item 7): now that item gets U+FFFD, named in a warning."""
    import logging

    good = "Smugglers moved migrants through the Darien jungle."
    with caplog.at_level(logging.WARNING, logger="darien_nlp.api"):
        a, b = classify([good, "Border patrol \ud800 arrested smugglers."], model=model_dir)
    alone = classify(good, model=model_dir)  # the other item is untouched (scores to float rounding)
    assert a.labels == alone.labels and a.scores == pytest.approx(alone.scores, rel=1e-4, abs=1e-8)
    assert b.length == len("Border patrol \ud800 arrested smugglers.") and set(b.scores) == set(a.scores)
    assert "item(s) [1]" in caplog.text and "surrogate" in caplog.text
    result = classify_document(good + "\n\nA second paragraph \udfff about asylum.", model=model_dir)
    assert len(result.passages) == 2 and "\ufffd" in result.passages[1][0].text


def test_small_api_checks(model_dir):
    """A dict is not a list of texts; numpy thresholds are thresholds; top must be >= 0; labels columns kept."""
    import numpy as np
    import pandas as pd

    import darien_nlp

    with pytest.raises(TypeError, match="classify its keys"):
        darien_nlp.classify({"Migrants crossed.": 1}, model=model_dir)
    by_float = darien_nlp.classify(["Migrants crossed the Darién."], model=model_dir, threshold=0.5)
    by_numpy = darien_nlp.classify(["Migrants crossed the Darién."], model=model_dir, threshold=np.float32(0.5))
    assert by_float == by_numpy
    with pytest.raises(ValueError, match="threshold"):
        darien_nlp.classify(["x"], model=model_dir, threshold=np.float64("nan"))
    with pytest.raises(ValueError, match="'top'"):
        darien_nlp.classify_document("Migrants crossed the Darién.", model=model_dir, top=-1)
    frame = pd.DataFrame({"text": ["Migrants crossed the Darién."], "labels": ["mine"]})
    with pytest.raises(ValueError, match=r"already has column\(s\) \['labels'\]"):
        darien_nlp.classify_dataset(frame, model=model_dir)
    assert list(frame["labels"]) == ["mine"]
    assert "labels" in darien_nlp.classify_dataset(frame, model=model_dir, overwrite=True)


def test_classify_documents_batches_and_equals_classify_document(model_dir):
    import darien_nlp
    from darien_nlp.corpus import Document

    documents = [Document(f"d{i}", "Migrants crossing the Darién need shelter.\n\nThe border closed at night. " * (i + 1))
                 for i in range(7)] + [Document("empty", "   "), "A raw text on asylum and parole."]
    single = [darien_nlp.classify_document(d, model=model_dir) for d in documents]
    for batch in (1, 3, 10_000):  # batches that split documents' runs at different places
        batched = list(darien_nlp.classify_documents(iter(documents), model=model_dir, batch_passages=batch))
        # a raw string is "text" alone and "text-<position>" in a stream, so streamed documents stay apart
        assert [b.doc_id for b in batched] == [s.doc_id for s in single[:-1]] + ["text-8"]
        assert [[(p.start, q.labels) for p, q in b.passages] for b in batched] == \
               [[(p.start, q.labels) for p, q in s.passages] for s in single]
        for b, s in zip(batched, single):  # scores equal to float rounding (a batch sums rows in its own order)
            for (_, q), (_, r) in zip(b.passages, s.passages):
                assert q.scores == pytest.approx(r.scores, rel=1e-6, abs=1e-9)
        assert [b.label_shares for b in batched] == [s.label_shares for s in single]
    assert [r.doc_id for r in darien_nlp.classify_documents(["Asylum.", "Parole.", ""], model=model_dir)] == \
        ["text-0", "text-1", "text-2"]
    with pytest.raises(TypeError, match="iterable of documents"):
        list(darien_nlp.classify_documents("one text", model=model_dir))
    with pytest.raises(TypeError, match="needs a str or a Document"):
        list(darien_nlp.classify_documents([3], model=model_dir))
