"""The darien-nlp command: annotate import appends a pass once, bad input exits 2 with a message."""
import json

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
    assert main(["annotate", "draw", "--round", "9", "--out", str(tmp_path / "x"), "--corpora", str(tmp_path)]) == 2
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
