"""The annotation sample is reproducible from its seed, and a later round never redraws a passage."""
import gzip
import json

from darien_nlp.data import doc_key
from darien_nlp.sampling import CORPUS_FILES, draw_annotation_sample


def _corpora(tmp_path):
    folder = tmp_path / "corpora"
    (folder / "wh-migration-americas-md").mkdir(parents=True)
    (folder / "wh-migration-americas-md" / "wh__other.md").write_text("---\ntitle: x\n---\nx\n")
    wh = [
        "Migrants crossing the Darién face deadly rivers and need shelter and protection.\n\n"
        "Smuggling networks that move migrants through the jungle will be dismantled by border police.\n\n"
        "Investment and jobs in border communities address the root causes of migration in the region.",
        "The Treasury will enforce tax law and the development of vaccines continues across the country.\n\n"
        "Our investment climate and the business environment keep improving for small firms everywhere.",
    ]
    state = ["Refugee resettlement and parole for Venezuelan migrants expanded in Colombia and Panama this year."]
    for key, texts in (("wh", wh), ("state", state)):
        with gzip.open(folder / CORPUS_FILES[key], "wt", encoding="utf-8") as handle:
            for i, text in enumerate(texts):
                handle.write(json.dumps({"id": f"wh/d{i}" if key == "wh" else f"s{i}", "date": "2023-01-01",
                                         "title": f"T{i}", "text": text}) + "\n")
    return folder


def test_same_seed_same_sample_and_no_text_in_references(tmp_path):
    folder = _corpora(tmp_path)
    first = draw_annotation_sample(folder, seed=3, sizes={"wh_migration_terms": 2, "wh_hard_negative": 1})
    again = draw_annotation_sample(folder, seed=3, sizes={"wh_migration_terms": 2, "wh_hard_negative": 1})
    assert [r["sha256"] for r in first] == [r["sha256"] for r in again]
    assert {r["stratum"] for r in first} == {"wh_migration_terms", "wh_hard_negative"}
    assert len(first) == 3


def test_exclude_skips_passages_drawn_before(tmp_path):
    folder = _corpora(tmp_path)
    sizes = {"wh_migration_terms": 10, "state_migration_terms": 10}
    everything = draw_annotation_sample(folder, seed=1, sizes=sizes)
    taken = {(r["corpus"], doc_key(r["doc_id"]), r["start"], r["end"]) for r in everything[:2]}
    later = draw_annotation_sample(folder, seed=1, sizes=sizes, exclude=taken)
    assert len(later) == len(everything) - 2
    assert not taken & {(r["corpus"], doc_key(r["doc_id"]), r["start"], r["end"]) for r in later}


def test_annotation_task_round_trip_into_passes_and_gold(tmp_path):
    import pytest

    from darien_nlp.data import GoldDataError, merge_passes
    from darien_nlp.sampling import pass_records, write_annotation_task

    folder = _corpora(tmp_path)
    records = draw_annotation_sample(folder, seed=1, sizes={"wh_migration_terms": 10, "state_migration_terms": 10})
    paths = write_annotation_task(records, tmp_path / "task", chunk_size=2, prefix="t")
    assert len(paths) == (len(records) + 1) // 2
    task = json.loads((tmp_path / "task" / "map.json").read_text())
    chunk = [json.loads(line) for line in paths[0].read_text().splitlines()]
    assert {"aid", "title", "text", "context_before", "lead_in"} <= set(chunk[0]) and chunk[0]["aid"] in task
    # Two annotators, one disagreement.
    first = {aid: ["enforcement"] for aid in task}
    second = dict(first, **{chunk[0]["aid"]: []})
    passes = {"a": pass_records(task, first, "a"), "b": pass_records(task, second, "b")}
    assert all("text" not in r and len(r["doc"]) == 16 for r in passes["a"])
    merged, unresolved = merge_passes(passes)
    assert len(merged) == len(task) - 1 and len(unresolved) == 1
    with pytest.raises(GoldDataError, match="not in this annotation task"):
        pass_records(task, {"zzz": []}, "a")
    with pytest.raises(GoldDataError, match="Unknown label 'border'"):
        pass_records(task, {chunk[0]["aid"]: ["border"]}, "a")


def test_round_exclusions_skip_only_earlier_rounds():
    from darien_nlp.sampling import round_exclusions

    records = [{"corpus": "c", "doc": "d", "start": 0, "end": 5, "stratum": "wh_migration_subset"},   # round 1
               {"corpus": "c", "doc": "d", "start": 5, "end": 9, "stratum": "development_terms"}]    # round 2
    assert round_exclusions(records, 1) == set()
    assert round_exclusions(records, 2) == {("c", "d", 0, 5)}
    assert round_exclusions(records, 99) == {("c", "d", 0, 5), ("c", "d", 5, 9)}


def test_out_of_domain_round_is_an_evaluation_round():
    from darien_nlp.sampling import EVAL_ROUNDS, OOD_SIZES, ROUNDS

    assert 7 in EVAL_ROUNDS and 7 not in ROUNDS
    assert EVAL_ROUNDS[7] == (47, OOD_SIZES)
    assert sum(size for name, size in OOD_SIZES.items() if name.startswith("mx_")) >= 400  # Spanish passages
    assert {name for name in OOD_SIZES if name.endswith("_out_of_scope")} == {
        "mx_out_of_scope", "undp_out_of_scope", "wh_out_of_scope", "state_out_of_scope"}


def test_strict_migration_words_skip_other_senses():
    from darien_nlp.sampling import _MIGRATION_STRICT

    assert _MIGRATION_STRICT.search("Él fue deportado por el gobierno")
    assert _MIGRATION_STRICT.search("la migración irregular por el Darién")
    for text in ("El deporte cambia vidas", "irregularidades en el trámite", "regularizar los vehículos"):
        assert not _MIGRATION_STRICT.search(text), text


def test_scope_negatives_come_only_from_pages_without_migration(tmp_path):
    import gzip
    import json

    from darien_nlp.data import doc_key
    from darien_nlp.sampling import CORPUS_FILES, scope_negatives

    pages = [
        {"id": "a/tax", "date": "2024-01-02", "title": "Tax", "text": "Tax enforcement against corporations raised revenue this quarter, officials said."},
        {"id": "a/jobs", "date": "2024-01-03", "title": "Jobs", "text": "Investment in jobs and economic development grew in every state of the union this year."},
        {"id": "a/migr", "date": "2024-01-04", "title": "Border", "text": "Investment in jobs for migrants in border communities grew this year, officials said."},
        {"id": "a/skip", "date": "2024-01-05", "title": "Skip", "text": "Humanitarian assistance for the storm victims arrived in the affected states."},
    ]
    for name in CORPUS_FILES.values():
        with gzip.open(tmp_path / name, "wt", encoding="utf-8") as handle:
            for page in pages:
                handle.write(json.dumps(page) + "\n")
    excluded = {(name, doc_key("a/skip")) for name in CORPUS_FILES.values()}
    negatives = scope_negatives(tmp_path, 10, seed=1, exclude_docs=excluded, context_chars=50)
    assert {g.doc_id for g in negatives} == {"a/tax", "a/jobs"}  # never the migration page, never an excluded one
    assert all(g.labels == () and g.split == "train" and g.annotation_pass == "scope-rule" for g in negatives)
    assert all(g.context and g.text in g.context for g in negatives)
    assert len(scope_negatives(tmp_path, 1, seed=1)) == 1


TAX_PAGE = {"id": "a/tax", "date": "2024-01-02", "title": "Tax",
            "text": "Tax enforcement against corporations raised revenue this quarter, officials said."}


def _write_scope_corpora(folder, transcripts):
    """The new corpora with ``transcripts`` as Mexican Presidency documents (UNDP empty), and one tax page
    in each training corpus."""
    import gzip
    import json

    from darien_nlp.sampling import CORPUS_FILES, OOD_CORPUS_FILES

    for name, documents in ((OOD_CORPUS_FILES["mx"], transcripts), (OOD_CORPUS_FILES["undp"], []),
                            *((name, [TAX_PAGE]) for name in CORPUS_FILES.values())):
        with gzip.open(folder / name, "wt", encoding="utf-8") as handle:
            for document in documents:
                handle.write(json.dumps(document, ensure_ascii=False) + "\n")


def test_far_scope_negatives_come_from_the_new_corpora_far_from_any_migration_word(tmp_path):
    """scope_negatives(far=N): passages of the Mexican Presidency / UNDP corpora with no migration term
    within 1,500 characters and no border word; never an excluded document; the page negatives unchanged."""
    from darien_nlp.data import doc_key
    from darien_nlp.sampling import CORPUS_FILES, OOD_CORPUS_FILES, scope_negatives

    filler = "Se habló del clima en la capital. " * 60  # 2,040 characters with no migration or border word
    far = "El programa de desarrollo económico y vivienda apoya a las familias de Oaxaca con créditos."
    near = "La Guardia Nacional apoya la seguridad de las familias migrantes en Chiapas con albergues."
    line = "El apoyo a la seguridad de las comunidades en la frontera sur sigue este año."
    transcript = {"id": "mx/1", "date": "2023-01-02", "title": "Conferencia",
                  "text": "\n\n".join([far, filler, near, filler, line])}
    _write_scope_corpora(tmp_path, [transcript, {**transcript, "id": "mx/2"}])
    page = TAX_PAGE
    excluded = {(OOD_CORPUS_FILES["mx"], doc_key("mx/2"))}
    only_pages = scope_negatives(tmp_path, 5, seed=1, exclude_docs=excluded)
    both = scope_negatives(tmp_path, 5, seed=1, exclude_docs=excluded, far=5)
    assert [g.text for g in only_pages] == [page["text"]] * len(CORPUS_FILES)
    added = [g for g in both if g.stratum == "scope_negative_far"]
    assert [(g.doc_id, g.text) for g in added] == [("mx/1", far)]  # not the migrant passage, not the frontera one
    assert [g.text for g in both if g.stratum == "scope_negative"] == [g.text for g in only_pages]
    assert all(g.labels == () and g.annotation_pass == "scope-rule" for g in both)


def test_far_scope_negatives_read_training_documents_around_their_gold(tmp_path):
    """A training-gold document is skipped whole by the page pool; the far pool reads it but never a passage
    that overlaps an annotated span; an excluded (evaluation) document gives nothing."""
    from darien_nlp.data import doc_key
    from darien_nlp.sampling import CORPUS_FILES, OOD_CORPUS_FILES, scope_negatives

    filler = ("Se habló del clima en la capital. " * 60).strip()  # no trailing space: offsets as written
    first = "El programa de desarrollo económico y vivienda apoya a las familias de Oaxaca con créditos."
    second = "La seguridad social y la salud de los trabajadores de Sonora reciben apoyo del gobierno federal."
    text = "\n\n".join([first, filler, second])
    _write_scope_corpora(tmp_path, [{"id": doc_id, "date": "2023-01-02", "title": "C", "text": text}
                                    for doc_id in ("mx/train", "mx/eval")])
    mx = OOD_CORPUS_FILES["mx"]
    excluded = {(mx, doc_key("mx/eval"))}
    annotated = {(mx, doc_key("mx/train")): [(0, len(first))],
                 (CORPUS_FILES["wh"], doc_key("a/tax")): [(0, 10)]}
    drawn = scope_negatives(tmp_path, 5, seed=1, exclude_docs=excluded, far=5, annotated=annotated)
    far = [(g.doc_id, g.text) for g in drawn if g.stratum == "scope_negative_far"]
    assert far == [("mx/train", second)]  # not the annotated passage, nothing of the evaluation document
    assert sorted(g.corpus for g in drawn if g.stratum == "scope_negative") == sorted(
        name for name in CORPUS_FILES.values() if name != CORPUS_FILES["wh"])  # the annotated page skipped whole
    without = scope_negatives(tmp_path, 5, seed=1, exclude_docs=excluded, far=5)
    assert sorted(g.text for g in without if g.stratum == "scope_negative_far") == sorted([first, second])
    # a span that ends exactly where a passage starts does not touch it (half-open spans)
    start = text.index(second)
    touching = {(mx, doc_key("mx/train")): [(start - 2, start)]}
    drawn = scope_negatives(tmp_path, 5, seed=1, exclude_docs=excluded, far=5, annotated=touching)
    assert sorted(g.text for g in drawn if g.stratum == "scope_negative_far") == sorted([first, second])
    # a negative never repeats an evaluation passage's text, whatever its document
    from darien_nlp.corpus import text_sha256

    drawn = scope_negatives(tmp_path, 5, seed=1, exclude_docs=excluded, far=5,
                            exclude_texts={text_sha256(second), text_sha256(TAX_PAGE["text"])})
    assert [g.text for g in drawn] == [first]


def test_transfer_round_skips_every_document_of_the_evaluation_set(tmp_path):
    """Round 8 (training gold of the new corpora) never draws from a document the evaluation set holds."""
    from darien_nlp.sampling import OOD_CORPUS_FILES, OOD_SIZES, TRANSFER_ROUNDS, TRANSFER_SIZES

    assert TRANSFER_ROUNDS[8] == (53, TRANSFER_SIZES) and set(TRANSFER_SIZES) <= set(OOD_SIZES)
    folder = tmp_path / "corpora"
    folder.mkdir()
    documents = [{"id": f"mx/{i}", "date": "2023-01-01", "title": f"T{i}",
                  "text": f"La migración irregular por la frontera sur exige protección humanitaria, dijo el presidente {i}.\n\n"
                          f"Los migrantes en tránsito reciben albergue y atención médica en Chiapas este año {i}."}
                 for i in range(4)]
    with gzip.open(folder / OOD_CORPUS_FILES["mx"], "wt", encoding="utf-8") as handle:
        for document in documents:
            handle.write(json.dumps(document, ensure_ascii=False) + "\n")
    with gzip.open(folder / OOD_CORPUS_FILES["undp"], "wt", encoding="utf-8") as handle:
        handle.write("")
    for name in CORPUS_FILES.values():
        with gzip.open(folder / name, "wt", encoding="utf-8") as handle:
            handle.write("")
    everything = draw_annotation_sample(folder, seed=53, sizes={"mx_migration": 50})
    assert {r["doc_id"] for r in everything} == {d["id"] for d in documents}
    evaluated = next(r for r in everything if r["doc_id"] == "mx/1")  # one passage of the evaluation set
    exclude = {(evaluated["corpus"], doc_key("mx/1"), evaluated["start"], evaluated["end"])}
    later = draw_annotation_sample(folder, seed=53, sizes={"mx_migration": 50}, exclude=exclude)
    assert "mx/1" not in {r["doc_id"] for r in later}  # the whole document is skipped, not only that passage
    assert {r["doc_id"] for r in later} == {"mx/0", "mx/2", "mx/3"}


def test_transfer_exclusions_skip_only_earlier_transfer_rounds():
    from darien_nlp.sampling import TRANSFER_SUFFIX, transfer_exclusions

    records = [{"corpus": "c", "doc": "d", "start": 0, "end": 5, "stratum": "mx_migration"},        # round 8
               {"corpus": "c", "doc": "d", "start": 5, "end": 9, "stratum": "mx_migration_r9"},     # round 9
               {"corpus": "c", "doc": "d", "start": 9, "end": 12, "stratum": "mx_migration_r10"}]   # round 10
    assert TRANSFER_SUFFIX == {8: "", 9: "_r9", 10: "_r10"}
    assert transfer_exclusions(records, 8) == set()  # redrawing round 8 skips nothing of its own
    assert transfer_exclusions(records, 9) == {("c", "d", 0, 5)}
    assert transfer_exclusions(records, 10) == {("c", "d", 0, 5), ("c", "d", 5, 9)}
