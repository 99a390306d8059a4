import datetime as dt
import gzip
import json

import pytest

from darien_nlp.corpus import CorpusError, load_corpus, parse_date


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        load_corpus(tmp_path / "nope")


def test_empty_file_is_a_reported_skip(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    corpus = load_corpus(tmp_path / "empty.txt")
    assert list(corpus) == []
    assert [s.reason for s in corpus.report.skipped] == ["empty file"]


def test_folder_with_mixed_and_unknown_types(tmp_path):
    (tmp_path / "a.txt").write_text("Plain release text about the border.")
    (tmp_path / "b.md").write_text("---\ntitle: Bee\ndate: '2023-09-08'\n---\nMarkdown **text**.\n")
    (tmp_path / "c.html").write_text("<html><head><title>Sea</title></head><body><p>Html text.</p></body></html>")
    (tmp_path / "d.jsonl").write_text(json.dumps({"id": "d1", "text": "Json text."}) + "\n")
    (tmp_path / "e.csv").write_text("id,text,date\ne1,Csv text.,2024-01-02\n")
    (tmp_path / "f.docx").write_bytes(b"PK\x03\x04binary")
    (tmp_path / ".hidden.txt").write_text("hidden")
    corpus = load_corpus(tmp_path)
    documents = {d.doc_id: d for d in corpus}
    assert set(documents) == {"a", "b", "c", "d1", "e1"}
    assert documents["b"].title == "Bee" and documents["b"].date == dt.date(2023, 9, 8)
    assert documents["b"].text == "Markdown text."
    assert documents["c"].title == "Sea" and documents["c"].text == "Html text."
    assert documents["e1"].date == dt.date(2024, 1, 2)
    assert [(s.source.endswith("f.docx"), s.reason) for s in corpus.report.skipped] == [(True, "unsupported file type: .docx")]


def test_invalid_utf8_falls_back_and_reports(tmp_path):
    (tmp_path / "latin.txt").write_bytes("Migración segura.".encode("cp1252"))
    corpus = load_corpus(tmp_path / "latin.txt")
    [document] = list(corpus)
    assert document.text == "Migración segura."
    assert "read as cp1252" in corpus.report.decoding_fallbacks[0]


def test_jsonl_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": "1", "text": "ok."}\n{not json\n{"id": "3", "body2": "no text"}\n')
    with pytest.raises(CorpusError, match=r"x\.jsonl:2: not valid JSON"):
        list(load_corpus(path))


def test_jsonl_missing_text_field_names_the_fields(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": "3", "body2": "no text"}\n')
    with pytest.raises(CorpusError, match=r"x\.jsonl:1: no text field .*\['body2', 'id'\]"):
        list(load_corpus(path))


def test_jsonl_skip_mode_counts_bad_lines(tmp_path):
    path = tmp_path / "x.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write('{"id": "1", "text": "ok."}\n{not json\n[1, 2]\n{"id": "4", "text": null}\n{"id": "5", "text": 7}\n')
    corpus = load_corpus(path, on_error="skip")
    assert [d.doc_id for d in corpus] == ["1"]
    reasons = [s.reason for s in corpus.report.skipped]
    assert len(reasons) == 4
    assert reasons[0].startswith("not valid JSON") and "not an object" in reasons[1]
    assert "is empty (None)" in reasons[2] and "is a int, not a string" in reasons[3]
    assert [s.location for s in corpus.report.skipped] == ["2", "3", "4", "5"]


def test_configurable_fields(tmp_path):
    path = tmp_path / "y.jsonl"
    path.write_text(json.dumps({"key": "k1", "body_md": "**Bold** text.", "when": "Mon, 06 Jun 2022 10:00:00 +0000", "name": "T"}) + "\n")
    [document] = list(load_corpus(path, text_field="body_md", id_field="key", date_field="when", title_field="name", markup="markdown"))
    assert (document.doc_id, document.text, document.date, document.title) == ("k1", "Bold text.", dt.date(2022, 6, 6), "T")


def test_html_only_scripts_is_reported(tmp_path):
    (tmp_path / "s.html").write_text("<script>var a=1;</script><style>b{}</style>")
    corpus = load_corpus(tmp_path / "s.html")
    assert list(corpus) == []
    assert "no text left" in corpus.report.skipped[0].reason


def test_dataframe_with_none_and_non_string_values():
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"id": ["a", "b", "c"], "text": ["Fine text.", None, 12]})
    with pytest.raises(CorpusError, match="dataframe:row 1: text field 'text' is empty"):
        list(load_corpus(frame))
    corpus = load_corpus(frame, on_error="skip")
    assert [d.doc_id for d in corpus] == ["a"]
    assert len(corpus.report.skipped) == 2


def test_dataset_with_none_values_and_round_trip_to_dataset():
    datasets = pytest.importorskip("datasets")
    source = datasets.Dataset.from_dict({"id": ["a", "b"], "text": ["Border text. More.", None]})
    corpus = load_corpus(source, on_error="skip")
    as_documents = corpus.to_dataset()
    assert as_documents["doc_id"] == ["a"]
    assert corpus.report.skipped[0].reason.startswith("text field 'text' is empty")
    as_passages = load_corpus(source, on_error="skip").to_dataset(level="passages")
    assert as_passages["text"] == ["Border text. More."]


def test_parquet(tmp_path):
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pandas.DataFrame({"id": ["p1"], "text": ["Parquet text."], "date": ["2021-05-04"]}).to_parquet(tmp_path / "x.parquet")
    [document] = list(load_corpus(tmp_path / "x.parquet"))
    assert (document.doc_id, document.date) == ("p1", dt.date(2021, 5, 4))


def test_bad_parameters():
    with pytest.raises(ValueError, match="The 'on_error' parameter of load_corpus must be one of"):
        load_corpus(["x"], on_error="ignore")
    with pytest.raises(ValueError, match="The 'format' parameter"):
        load_corpus(["x"], format="docx")
    with pytest.raises(TypeError, match="source must be a path"):
        load_corpus(42)


def test_unknown_single_file_type(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\x00")
    with pytest.raises(CorpusError, match="cannot tell the format"):
        load_corpus(tmp_path / "x.bin")


@pytest.mark.parametrize("value, expected", [
    ("2023-02-16", dt.date(2023, 2, 16)), ("2023-02-16T10:00:00", dt.date(2023, 2, 16)),
    ("Thu, 16 Feb 2023 10:00:00 +0000", dt.date(2023, 2, 16)), ("Cartagena de Indias, August 26, 2024", dt.date(2024, 8, 26)),
    ("16 February 2023", dt.date(2023, 2, 16)), ("February 31, 2023", None), ("", None), (None, None), (5, None),
])
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_byte_order_marks_utf16_and_binary_text(tmp_path):
    import codecs

    (tmp_path / "bom.csv").write_bytes(codecs.BOM_UTF8 + b"id,text\nd1,Migrants crossed the border.\n")
    (tmp_path / "bom.jsonl").write_bytes(codecs.BOM_UTF8 + b'{"id": "j1", "text": "Asylum claims rose."}\n')
    (tmp_path / "wide.txt").write_bytes("Los migrantes cruzan el Darién.".encode("utf-16"))
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02binary\x00" * 10)
    corpus = load_corpus(tmp_path, on_error="skip")
    documents = {d.doc_id: d for d in corpus}
    assert documents["d1"].text == "Migrants crossed the border."  # the id header was read despite the BOM
    assert documents["j1"].text == "Asylum claims rose."
    assert documents["wide"].text == "Los migrantes cruzan el Darién."
    assert "blob" not in documents
    assert [s.reason for s in corpus.report.skipped] == ["binary data (NUL bytes), not text"]
    assert "UTF-16" in corpus.report.decoding_fallbacks[0]
    with pytest.raises(CorpusError, match="binary data"):
        list(load_corpus(tmp_path / "blob.txt"))


def test_links_in_a_folder_are_reported_and_loops_not_followed(tmp_path):
    (tmp_path / "a.txt").write_text("Migrants crossed the border at night.")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "missing.txt")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    corpus = load_corpus(tmp_path, on_error="skip")
    assert [d.doc_id for d in corpus] == ["a"]
    reasons = sorted(s.reason for s in corpus.report.skipped)
    assert reasons == ["dangling symbolic link", "symbolic link to a folder: not followed"]
    assert "dangling symbolic link: 1" in corpus.report.summary()


def test_empty_path_is_refused_and_summary_keeps_reasons_whole(tmp_path):
    with pytest.raises(ValueError, match="empty path"):
        load_corpus("")
    (tmp_path / "bad.jsonl").write_text('{"id": 1 "text": "x"}\n')
    corpus = load_corpus(tmp_path / "bad.jsonl", on_error="skip")
    list(corpus)
    assert "not valid JSON: 1" in corpus.report.summary()
