import pytest

from darien_nlp.corpus import Document, load_corpus, segment, split_sentences


def test_offsets_round_trip_and_ids_are_stable(seeds_dir):
    for document in load_corpus(seeds_dir, include="*.txt"):
        passages = segment(document, keep_all=True)
        assert passages, document.doc_id
        for passage in passages:
            assert document.text[passage.start:passage.end] == passage.text
            assert passage.passage_id.startswith(f"{document.doc_id}:{passage.index}:")
        assert [p.passage_id for p in segment(document, keep_all=True)] == [p.passage_id for p in passages]


def test_seed_boilerplate_is_marked_not_mixed_in(seeds_dir):
    kinds = {}
    for document in load_corpus(seeds_dir, include="*.txt"):
        for passage in segment(document, keep_all=True):
            kinds.setdefault(passage.kind, []).append(passage.text)
    assert "An official website of the United States government" not in sum(kinds.values(), [])
    assert "February 16, 2023" in kinds["dateline"]
    assert "ORGANIZATIONS IN THIS STORY" in kinds["boilerplate"]
    assert any(text.startswith("Among the officials who traveled") for text in kinds["attendees"])
    assert "Collaborative Measures" in kinds["heading"]
    content = [p.text for d in load_corpus(seeds_dir, include="*.txt") for p in segment(d)]
    assert "Collaborative Measures" not in content and "February 16, 2023" not in content


def test_list_items_are_passages_with_their_lead_in(seeds_dir):
    document = next(d for d in load_corpus(seeds_dir, include="*.txt") if d.doc_id.startswith("001_"))
    items = [p for p in segment(document) if p.kind == "item"]
    assert len(items) == 3
    assert items[1].text == "Open new and flexible lawful pathways to reduce irregular migration."
    assert items[0].lead == "The following three points were accepted as the beginning of a solution:"


def test_long_paragraph_is_windowed_on_sentences():
    sentences = [f"Sentence number {i} talks about the Darién crossing." for i in range(40)]
    document = Document("long", " ".join(sentences))
    passages = segment(document, max_chars=300)
    assert len(passages) > 5
    assert all(len(p.text) <= 300 for p in passages)
    assert all(p.text.endswith(".") for p in passages)
    assert " ".join(p.text for p in passages) == document.text


def test_ten_megabyte_paragraph_is_cut_not_crashed():
    text = ("word " * 2_000_000).strip()  # 10 MB, no sentence boundary
    passages = segment(Document("big", text), max_chars=600)
    assert all(len(p.text) <= 600 for p in passages)
    assert passages[-1].end == len(text)
    assert sum(len(p.text) for p in passages) + len(passages) - 1 == len(text)


def test_sentence_splitter_keeps_abbreviations():
    text = "Sec. Mayorkas met Dr. Ruiz in Washington, D.C. on Monday. The U.S. team left. Then Gen. Richardson spoke."
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Sec. Mayorkas met Dr. Ruiz in Washington, D.C. on Monday.",
        "The U.S. team left.",
        "Then Gen. Richardson spoke.",
    ]


def test_runs_of_abbreviations_and_long_tokens_split_as_before():
    # 80,000 characters of abbreviations: one sentence (this took about 20 s when every boundary
    # re-read the text from the sentence start; linear now, timed by no test)
    text = "Dr. " * 20_000
    assert split_sentences(text) == [(0, len(text) - 1)]
    long_token = "see www." + "a" * 200 + ".gov. Then U.S. officials left. Mr. Ruiz spoke."
    assert [long_token[s:e] for s, e in split_sentences(long_token)] == [
        "see www." + "a" * 200 + ".gov.", "Then U.S. officials left.", "Mr. Ruiz spoke."]
    spaced = "It ended.   \n  Then it began again."
    assert [spaced[s:e] for s, e in split_sentences(spaced)] == ["It ended.", "Then it began again."]


@pytest.mark.parametrize("max_chars", [0, 10, "600", None])
def test_bad_max_chars(max_chars):
    with pytest.raises(ValueError, match="The 'max_chars' parameter of segment"):
        segment(Document("d", "text"), max_chars=max_chars)


def test_segment_needs_a_document():
    with pytest.raises(TypeError, match="needs a Document"):
        segment("just a string")
