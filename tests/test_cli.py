"""The darien-nlp command: annotate import appends a pass once, bad input exits 2 with a message."""
import json
from contextlib import contextmanager

import pytest

from darien_nlp.cli import main


def _task(tmp_path):
    task = tmp_path / "task"
    task.mkdir()
    reference = {"corpus": "c.jsonl.gz", "doc_id": "wh/d1", "start": 0, "end": 40, "sha256": "0" * 64,
                 "stratum": "wh_migration_terms", "passage_id": "wh/d1:0:abcd1234"}
    (task / "map.json").write_text(json.dumps({"t0001": reference, "t0002": {**reference, "start": 40, "end": 80}}))
    return task


def test_annotate_import_appends_once(tmp_path, capsys):
    task = _task(tmp_path)
    labels = tmp_path / "out.jsonl"
    labels.write_text('{"aid": "t0001", "labels": ["enforcement"]}\n{"aid": "t0002", "labels": []}\n')
    annotations = tmp_path / "annotations"
    argv = ["annotate", "import", str(labels), "--task", str(task), "--pass", "b", "--annotations", str(annotations)]
    assert main(argv) == 0
    written = [json.loads(line) for line in (annotations / "passes" / "b.jsonl").read_text().splitlines()]
    assert [r["labels"] for r in written] == [["enforcement"], []] and all(r["pass"] == "b" for r in written)
    assert all("text" not in r and "doc_id" not in r for r in written)
    # The same labels again: refused, nothing appended.
    assert main(argv) == 2
    assert "already labels 2" in capsys.readouterr().err
    assert len((annotations / "passes" / "b.jsonl").read_text().splitlines()) == 2


def test_annotate_import_bad_lines_and_labels(tmp_path, capsys):
    task = _task(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"aid": "t0001"}\n')
    argv = ["annotate", "import", str(bad), "--task", str(task), "--pass", "a", "--annotations", str(tmp_path / "ann")]
    assert main(argv) == 2 and "bad.jsonl:1" in capsys.readouterr().err
    bad.write_text('{"aid": "t0001", "labels": ["borders"]}\n')
    assert main(argv) == 2 and "Unknown label 'borders'" in capsys.readouterr().err
    assert not (tmp_path / "ann" / "passes" / "a.jsonl").exists()


def test_annotate_draw_new_round_needs_a_seed(tmp_path, capsys):
    assert main(["annotate", "draw", "--round", "11", "--out", str(tmp_path / "x"), "--corpora", str(tmp_path)]) == 2
    assert "--seed" in capsys.readouterr().err


def test_models_list_and_info_verify_manifests(tmp_path, capsys):
    import shutil

    from darien_nlp.cli import main
    from darien_nlp.embed.static import models_dir

    folder = tmp_path / "models"
    shutil.copytree(models_dir() / "policy-static", folder / "policy-static")
    shutil.copytree(models_dir() / "policy-static", folder / "changed-copy")
    assert main(["models", "list", "--dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "policy-static" in out and "classifier" in out and "yes" in out
    (folder / "changed-copy" / "config.json").write_text("{}")
    assert main(["models", "list", "--dir", str(folder), "--json"]) == 1  # one model fails its manifest
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["policy-static"]["verified"] and not rows["changed-copy"]["verified"]
    assert "config.json" in rows["changed-copy"]["problem"]
    assert main(["models", "info", str(folder / "policy-static")]) == 0
    info = capsys.readouterr().out
    assert "manifest: verified" in info and "enforcement" in info and "head.safetensors" in info
    assert "ood test, Spanish" in info and "training data and licences" in info
    assert main(["models", "info", str(tmp_path / "nowhere")]) == 2
    assert "No model folder" in capsys.readouterr().err
    assert main(["models", "list"]) == 0
    assert "policy-bilingual-scope (default)" in capsys.readouterr().out  # the shipped default is marked


def test_unknown_model_name_lists_the_known_ones(capsys):
    import darien_nlp
    from darien_nlp.cli import main

    with pytest.raises(FileNotFoundError, match=r"policy-bilingual-scope.*darien-nlp models list"):
        darien_nlp.classify("Migrants crossed the border.", model="nope")
    assert main(["classify", "--model", "nope", "-"]) == 2
    assert "models list" in capsys.readouterr().err


def test_output_into_a_closed_pipe_stops_quietly(tmp_path, monkeypatch, capsys):
    """A reader that stops early (``darien-nlp classify FILE | head -n 1``): exit 0, no traceback, no
    'Broken pipe' message; the same for any command whose output meets a closed pipe."""
    import shlex
    import subprocess
    import sys

    import darien_nlp.cli as cli

    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"Smugglers moved {i} migrants through the Darién jungle.\n" for i in range(20000)),
                     encoding="utf-8")
    err = tmp_path / "err.txt"
    command = (f"{shlex.quote(sys.executable)} -m darien_nlp.cli classify {shlex.quote(str(texts))} "
               f"2> {shlex.quote(str(err))} | head -n 1; echo \"status ${{PIPESTATUS[0]}}\"")
    out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300).stdout
    assert '"labels"' in out and out.strip().endswith("status 0"), out
    assert "Broken pipe" not in err.read_text() and "Traceback" not in err.read_text()

    def closed(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "_models", closed)
    assert main(["models", "list"]) == 0
    assert "Broken pipe" not in capsys.readouterr().err


def _release(folder, name="a.txt"):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("Migrants crossing the Darién Gap need shelter.\n\nThe border closed at night.\n")
    return folder / name


def test_segment_refuses_to_overwrite_or_reread_its_input(tmp_path, capsys):
    source = _release(tmp_path / "in")
    before = source.read_bytes()
    assert main(["segment", str(source), "-o", str(source)]) == 2
    assert "is the input itself" in capsys.readouterr().err and source.read_bytes() == before
    assert main(["segment", str(tmp_path / "in"), "-o", str(tmp_path / "in" / "out.jsonl")]) == 2
    assert "inside the input folder" in capsys.readouterr().err and not (tmp_path / "in" / "out.jsonl").exists()
    assert main(["segment", str(tmp_path / "in"), "-o", str(tmp_path / "out.jsonl")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and not list(tmp_path.glob(".out.jsonl.partial*"))


def test_segment_failure_keeps_the_previous_output(tmp_path, capsys):
    folder = tmp_path / "in"
    _release(folder)
    (folder / "b.jsonl").write_text("{not json\n")
    output = tmp_path / "out.jsonl"
    output.write_text("previous\n")
    assert main(["segment", str(folder), "-o", str(output), "--on-error", "raise"]) == 2
    assert output.read_text() == "previous\n" and not list(tmp_path.glob(".out.jsonl.partial*"))


def test_classify_paths_that_are_not_files_exit_2_with_a_message(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_info:  # argparse: usage errors exit 2
        main(["classify", str(tmp_path), "--format", "xml"])
    assert exit_info.value.code == 2 and "invalid choice: 'xml'" in capsys.readouterr().err
    assert main(["classify", str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt" in capsys.readouterr().err
    assert main(["classify", str(_release(tmp_path / "in")), "--threshold", "2"]) == 2
    assert "threshold" in capsys.readouterr().err
    results_file = tmp_path / "results"
    results_file.write_text("a file, not a folder")
    assert main(["experiment", "run", "experiments/gold_data.toml", "--results", str(results_file)]) in (1, 2)
    assert "darien-nlp:" in capsys.readouterr().err


def test_classify_keeps_one_record_per_line_and_names_a_bad_one(tmp_path, capsys, monkeypatch):
    import darien_nlp.pipeline as pipeline

    monkeypatch.setattr(pipeline, "BATCH", 2)  # several batches
    lines = tmp_path / "lines.txt"
    lines.write_bytes("\ufeffMigrants crossing the Darién Gap need shelter.\n".encode()
                      + b"bad \xff byte\n\nSafe Mobility Offices opened.\r\nlast line without newline")
    assert main(["classify", str(lines)]) == 1
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert len(records) == 5 and records[1] == {"source": str(lines), "line": 2, "error": records[1]["error"]}
    assert "line 2 is not valid UTF-8" in records[1]["error"] and "line 2" in captured.err
    assert records[2]["labels"] == [] and all("labels" in r for i, r in enumerate(records) if i != 1)
    single = tmp_path / "one.txt"
    single.write_text("Migrants crossing the Darién Gap need shelter.\n")
    main(["classify", str(single)])
    alone = json.loads(capsys.readouterr().out)
    assert (alone["labels"], alone["scores"]) == (records[0]["labels"], records[0]["scores"])  # the BOM is not text


def test_classify_cuts_an_endless_line_with_bounded_memory(tmp_path, capsys, monkeypatch):
    import darien_nlp.pipeline as pipeline

    monkeypatch.setattr(pipeline, "MAX_LINE_BYTES", 64)
    lines = tmp_path / "long.txt"
    lines.write_text("word " * 500 + "\nsecond line\n")
    assert main(["classify", str(lines)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 2 and "longer than 64 bytes" in records[0]["warning"] and "warning" not in records[1]


def test_demo_with_a_model_that_is_not_there_exits_2(tmp_path, capsys):
    _release(tmp_path / "in")
    assert main(["demo", str(tmp_path / "in"), "--model", "nope"]) == 2
    assert "--model nope" in capsys.readouterr().err


def test_a_sweep_does_not_replace_the_model_its_config_names(tmp_path, capsys, monkeypatch):
    (tmp_path / "models" / "policy-x").mkdir(parents=True)
    (tmp_path / "models" / "policy-x" / "config.json").write_text("{}")
    config = tmp_path / "train_x.toml"
    config.write_text('[experiment]\nname = "train_x"\nkind = "train_classifier.v1"\nseed = 1\n'
                      '[output]\nmodel_dir = "models/policy-x"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["experiment", "run", str(config), "--set", "model.C_grid=[2.0]", "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "already holds a model" in err and "--set output.model_dir=" in err
    assert (tmp_path / "models" / "policy-x" / "config.json").read_text() == "{}"


def _out(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_classify_jsonl_csv_parquet_in_and_out(tmp_path, capsys):
    import pandas as pd

    texts = ["Migrants crossing the Darién Gap need shelter and water.", "Border agents arrested smugglers."]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(json.dumps({"body": texts[0], "url": "a"}) + "\n\n" + json.dumps({"url": "b"}) + "\nnot json\n"
                     + json.dumps({"body": texts[1], "url": "c"}) + "\n")
    assert main(["classify", str(jsonl), "--text-field", "body", "--id-field", "url"]) == 1
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r.get("id") for r in records] == ["a", "b", None, "c"] and [r["line"] for r in records] == [1, 3, 4, 5]
    assert "line 3: no 'body' field" in records[1]["error"] and "line 4: not valid JSON" in records[2]["error"]
    assert "2 could not be read" in captured.err
    frame = pd.DataFrame({"text": texts, "n": [1, 2]})
    frame.to_csv(tmp_path / "in.csv", index=False)
    frame.to_parquet(tmp_path / "in.parquet")
    assert main(["classify", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.parquet")]) == 0
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out["row"]) == [2, 3] and out["score_humanitarian"].between(0, 1).all()
    assert main(["classify", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.csv")]) == 0
    from_parquet = pd.read_csv(tmp_path / "out.csv")
    assert list(from_parquet["row"]) == [1, 2]
    assert list(from_parquet["score_humanitarian"].round(4)) == list(out["score_humanitarian"].round(4))
    assert not list(tmp_path.glob(".out*partial*"))


def test_classify_documents_and_folders_with_context(tmp_path, capsys):
    folder = tmp_path / "releases"
    folder.mkdir()
    (folder / "a.txt").write_text("Title\n\nMigrants crossing the Darién Gap need shelter.\n\nPanama opened Safe "
                                  "Mobility Offices.")
    (folder / "bad.jsonl").write_text("{broken\n")
    assert main(["classify", str(folder)]) == 1  # the unreadable record is reported, the rest processed
    captured = capsys.readouterr()
    passages = [json.loads(line) for line in captured.out.splitlines()]
    assert [p["doc_id"] for p in passages] == ["a", "a"] and passages[0]["start"] < passages[1]["start"]
    assert "not valid JSON" in captured.err
    records = tmp_path / "long.jsonl"
    records.write_text(json.dumps({"id": "x", "text": "First paragraph on asylum.\n\nSecond on the border."}) + "\n")
    assert main(["classify", str(records), "--document"]) == 0
    passages = _out(capsys)
    assert [(p["doc_id"], p["line"]) for p in passages] == [("x", 1), ("x", 1)] and all("scores" in p for p in passages)


@contextmanager
def _spans_read(monkeypatch):
    """Within the block, the share of each batch that static models read as registered document spans."""
    from darien_nlp.embed import static

    shares = []
    original = static._FastStatic._span_counts

    def spy(self, batch, registry):
        shares.append(sum(text in registry.spans for text in batch) / len(batch))
        return original(self, batch, registry)

    monkeypatch.setattr(static._FastStatic, "_span_counts", spy)
    try:
        yield shares
    finally:
        monkeypatch.setattr(static._FastStatic, "_span_counts", original)


def test_classify_documents_reads_each_document_once_with_the_same_scores(tmp_path, capsys, monkeypatch):
    """Passages of documents are classified with their contexts as spans of the document (one tokenisation
    per document); the scores equal classifying each passage with its context window, rounded as written."""
    import darien_nlp
    from darien_nlp.api import _context_chars, load_model
    from darien_nlp.corpus import Document, context_window, normalise, segment

    folder = tmp_path / "releases"
    folder.mkdir()
    texts = {"a": "Migrants crossing the Darién Gap need shelter and water.\n\n" * 8 + "Panama opened Safe Mobility Offices.",
             "b": "La frontera con Colombia sigue abierta.\n\nLos migrantes piden asilo en Panamá. " * 12}
    for name, text in texts.items():
        (folder / f"{name}.txt").write_text(text)
    with _spans_read(monkeypatch) as read_as_spans:
        assert main(["classify", str(folder)]) == 0
    assert read_as_spans and min(read_as_spans) == 1.0  # every passage and context was a registered span
    written = _out(capsys)
    assert written and not any("_document_span" in p or "context" in p for p in written)
    window = _context_chars(load_model())
    expected = []
    for name in sorted(texts):
        document = Document(doc_id=name, text=normalise(texts[name]))
        passages = segment(document)
        contexts = [context_window(document.text, p.start, p.end, window) for p in passages]
        expected += darien_nlp.classify([p.text for p in passages], context=contexts)
    assert len(written) == len(expected)
    by_doc = sorted(written, key=lambda p: (p["doc_id"], p["start"]))
    for got, want in zip(by_doc, expected):
        assert got["labels"] == list(want.labels)
        assert got["scores"] == {k: round(v, 4) for k, v in want.scores.items()}


def test_worker_batches_of_documents_travel_as_documents_and_offsets(monkeypatch):
    """--jobs > 1 sends a batch of passages in context as its documents and offsets; the worker rebuilds
    the texts, reads them as spans and gives what classifying the texts and windows gives. A batch whose
    items are not exactly their spans is sent as texts."""
    from darien_nlp.api import load_model
    from darien_nlp.corpus import Document
    from darien_nlp.pipeline import ClassifyRun, _as_documents, _worker_classify, _worker_classify_documents

    run = ClassifyRun(model=load_model())
    items = [item for name, text in (("a", "Migrants crossing the Darién need water.\n\n" * 40 + "Panama opened offices."),
                                     ("b", "Los migrantes piden asilo en Panamá.\n\nLa frontera sigue abierta. " * 9))
             for item in run._passages(Document(doc_id=name, text=text), {})]
    documents, spans = _as_documents(items)
    assert len(documents) == 2 and len(spans) == len(items)
    for item, (d, start, end, left, right) in zip(items, spans):  # documents cut to what the windows cover
        assert documents[d][start:end] == item["text"] and documents[d][left:right] == item["context"]
    assert all(min(min(s[1], s[3]) for s in spans if s[0] == d) == 0 for d in (0, 1))
    assert all(max(max(s[2], s[4]) for s in spans if s[0] == d) == len(documents[d]) for d in (0, 1))
    head = _as_documents(items[3:6])  # a batch that holds part of a long document gets only that part
    assert len(head[0][0]) < len(documents[0])
    with _spans_read(monkeypatch) as read_as_spans:
        got = _worker_classify_documents("default", None, documents, spans)
    assert read_as_spans and min(read_as_spans) == 1.0
    assert got == _worker_classify("default", None, [i["text"] for i in items], [i["context"] for i in items])
    items[1] = {**items[1], "text": items[1]["text"] + " "}  # no longer its span: the batch goes as texts
    assert _as_documents(items) is None
    assert _as_documents([{"text": "a line, not from a document"}]) is None


def test_an_interrupted_classify_leaves_no_output_file(tmp_path, capsys, monkeypatch):
    import darien_nlp.api as api

    source = tmp_path / "in.txt"
    source.write_text("one text\nanother text\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "classify", interrupted)
    assert main(["classify", str(source), "-o", str(tmp_path / "out.jsonl")]) == 130
    assert "was not written" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


def test_classify_streams_stdin_and_stops_quietly_on_a_closed_pipe(tmp_path):
    import subprocess
    import sys

    lines = "\n".join(f"Migrants crossed the border, report {i}." for i in range(5000)) + "\n"
    command = [sys.executable, "-m", "darien_nlp.cli", "classify", "-"]
    full = subprocess.run(command, input=lines, capture_output=True, text=True, timeout=300)
    assert full.returncode == 0 and len(full.stdout.splitlines()) == 5000
    piped = subprocess.run(f"{' '.join(command)} | head -n 2", shell=True, input=lines, capture_output=True,
                           text=True, timeout=300, executable="/bin/bash")
    assert len(piped.stdout.splitlines()) == 2 and "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr


def test_every_subcommand_has_help_with_an_example(capsys):
    import pytest

    commands = [["demo"], ["segment"], ["classify"], ["experiment"], ["experiment", "run"], ["experiment", "list"],
                ["report"], ["annotate"], ["annotate", "draw"], ["annotate", "import"], ["models"], ["models", "list"],
                ["models", "info"], ["models", "repin"], ["sync-readme"]]
    for command in commands:
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--help"])
        text = capsys.readouterr().out
        assert exit_info.value.code == 0 and "darien-nlp " in text.split("usage:", 1)[1].split("\n", 2)[-1], command


@pytest.mark.parametrize("command", ["classify", "segment"])
def test_a_killed_writer_leaves_the_old_output_whole(tmp_path, command):
    """SIGKILL mid-run: the output file keeps its old content (the new one was being written beside it)."""
    import signal
    import subprocess
    import sys
    import time

    source = tmp_path / ("in.txt" if command == "classify" else "in.jsonl")
    if command == "classify":
        source.write_text("".join(f"Migrants crossed the border, report {i}.\n" for i in range(400_000)))
    else:
        source.write_text("".join(json.dumps({"id": f"d{i}", "text": f"Paragraph one {i}.\n\nParagraph two."}) + "\n"
                                  for i in range(200_000)))
    output = tmp_path / "out.jsonl"
    output.write_text("old output\n")
    process = subprocess.Popen([sys.executable, "-m", "darien_nlp.cli", command, str(source), "-o", str(output)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(1200):  # wait until the new output is being written
            partial = [p for p in tmp_path.iterdir() if p.name.startswith(".out.jsonl.partial") and p.stat().st_size]
            if partial or process.poll() is not None:
                break
            time.sleep(0.05)
        assert partial, "the run never started writing"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert output.read_text() == "old output\n"


def test_classify_with_worker_processes_gives_the_same_records_in_order(tmp_path, capsys):
    """--jobs 2: two spawned workers classify batches while the parent reads and writes; the output
    equals --jobs 1 byte for byte (order, error records, exit status), for lines and for documents."""
    texts = ["Smugglers move migrants through the Darién.", "Safe Mobility Offices opened in Guatemala.",
             "Quarterly tax receipts rose.", "", "Los migrantes necesitan agua y refugio."]
    lines = tmp_path / "lines.txt"
    lines.write_bytes(b"\n".join([f"{texts[i % 5]} {i}".encode() for i in range(2500)] + [b"bad \xff byte", b"last"]))
    records = tmp_path / "records.jsonl"
    records.write_text("\n".join(json.dumps({"id": i, "text": f"{texts[i % 5]}\n\nMore on migration {i}."})
                                 for i in range(1200)) + "\n")
    for source, extra in ((lines, []), (records, ["--document"])):
        outputs = {}
        for jobs in ("1", "2"):
            out = tmp_path / f"out-{source.stem}-{jobs}.jsonl"
            code = main(["classify", str(source), *extra, "--jobs", jobs, "-o", str(out)])
            outputs[jobs] = (code, out.read_text())
        assert outputs["1"] == outputs["2"]
        assert outputs["2"][0] == (1 if source is lines else 0)
        assert len(outputs["2"][1].splitlines()) == (2502 if source is lines else 2160)  # an empty text: 1 passage
    capsys.readouterr()
    assert main(["classify", str(lines), "--jobs", "0"]) == 2
    assert "--jobs must be >= 1" in capsys.readouterr().err


def test_classify_with_workers_sends_document_batches_as_documents(tmp_path, capsys, monkeypatch):
    """The --jobs path hands its workers documents and offsets for passages read in context, and texts for
    lines; the records equal those of one process."""
    from concurrent.futures import Future

    import darien_nlp.pipeline as pipeline

    sent = []

    class InlinePool:  # a pool that runs each job here, recording which worker function it was given
        def submit(self, function, *args):
            sent.append(function.__name__)
            future = Future()
            future.set_result(function(*args))
            return future

        def shutdown(self, **kwargs):
            pass

    records = tmp_path / "records.jsonl"
    records.write_text("\n".join(json.dumps({"id": i, "text": f"Migrants cross the Darién.\n\nPanama helps them {i}."})
                                 for i in range(30)) + "\n")
    lines = tmp_path / "lines.txt"
    lines.write_text("Migrants cross the Darién.\nPanama helps them.\n")
    for source, extra, worker in ((records, ["--document"], "_worker_classify_documents"), (lines, [], "_worker_classify")):
        assert main(["classify", str(source), *extra, "-o", str(tmp_path / "one.jsonl")]) == 0
        monkeypatch.setattr(pipeline.ClassifyRun, "_pool", lambda self: InlinePool())
        sent.clear()
        assert main(["classify", str(source), *extra, "--jobs", "2", "-o", str(tmp_path / "two.jsonl")]) == 0
        monkeypatch.undo()
        assert sent and set(sent) == {worker}
        assert (tmp_path / "one.jsonl").read_text() == (tmp_path / "two.jsonl").read_text()
    capsys.readouterr()


def test_a_dead_classify_worker_ends_the_run_with_a_message_and_no_output(tmp_path, capsys, monkeypatch):
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    import darien_nlp.pipeline as pipeline

    class DeadPool:  # what a pool whose worker was killed hands back
        def submit(self, *args):
            future = Future()
            future.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
            return future

        def shutdown(self, **kwargs):
            pass

    monkeypatch.setattr(pipeline.ClassifyRun, "_pool", lambda self: DeadPool())
    lines = tmp_path / "lines.txt"
    lines.write_text("\n".join(f"Migrants cross the Darién {i}." for i in range(5000)))
    out = tmp_path / "out.jsonl"
    assert main(["classify", str(lines), "--jobs", "2", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "a classify worker process died" in err and "was not written" in err and "Traceback" not in err
    assert not out.exists()


def test_annotate_draw_transfer_round_needs_the_evaluation_passes(tmp_path, capsys):
    """Round 8 skips the evaluation set's documents; without its pass files it refuses rather than draw blind."""
    argv = ["annotate", "draw", "--round", "8", "--out", str(tmp_path / "x"), "--corpora", str(tmp_path),
            "--annotations", str(tmp_path / "transfer"), "--evaluation", str(tmp_path / "no-such-set")]
    assert main(argv) == 2
    assert "holds no pass file" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_classify_details_report_language_scope_and_truncation_in_every_format(tmp_path, capsys, monkeypatch):
    """--details adds language, mixed_language, supported_language, scope and truncated to each record (JSONL
    fields, CSV and Parquet columns); a French line is flagged unsupported; without it the records are as
    before; worker processes give the same records."""
    import csv

    import pyarrow.parquet as pq
    from concurrent.futures import Future

    import darien_nlp.pipeline as pipeline

    lines = tmp_path / "lines.txt"
    lines.write_text("Smugglers move migrants through the Darién jungle.\n"
                     "Los migrantes cruzan el Darién a pie y necesitan albergue.\n"
                     "Les migrants traversent la jungle du Darién à pied.\n"
                     + "Asylum " * 1000 + "\n", encoding="utf-8")
    assert main(["classify", str(lines), "--details", "-o", str(tmp_path / "d.jsonl")]) == 0
    records = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert [r["language"] for r in records[:3]] == ["en", "es", "fr"]
    assert [r["supported_language"] for r in records[:3]] == [True, True, False]
    assert all(isinstance(r["scope"], float) and 0 <= r["scope"] <= 1 for r in records)
    assert [r["truncated"] for r in records] == [False, False, False, True]
    assert main(["classify", str(lines), "-o", str(tmp_path / "plain.jsonl")]) == 0
    plain = [json.loads(line) for line in (tmp_path / "plain.jsonl").read_text().splitlines()]
    assert [{k: v for k, v in r.items() if k not in pipeline.DETAIL_FIELDS} for r in records] == plain
    assert not any("language" in r for r in plain)
    assert main(["classify", str(lines), "--details", "-o", str(tmp_path / "d.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "d.csv").open(encoding="utf-8")))
    assert [r["language"] for r in rows[:3]] == ["en", "es", "fr"] and rows[3]["truncated"] == "True"
    assert main(["classify", str(lines), "--details", "-o", str(tmp_path / "d.parquet")]) == 0
    table = pq.read_table(tmp_path / "d.parquet").to_pylist()
    assert [r["supported_language"] for r in table[:3]] == [True, True, False]
    assert table[0]["scope"] == pytest.approx(records[0]["scope"])

    class InlinePool:
        def submit(self, function, *args):
            future = Future()
            future.set_result(function(*args))
            return future

        def shutdown(self, **kwargs):
            pass

    monkeypatch.setattr(pipeline.ClassifyRun, "_pool", lambda self: InlinePool())
    assert main(["classify", str(lines), "--details", "--jobs", "2", "-o", str(tmp_path / "d2.jsonl")]) == 0
    assert (tmp_path / "d2.jsonl").read_text() == (tmp_path / "d.jsonl").read_text()
    capsys.readouterr()
