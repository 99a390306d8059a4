"""darien-nlp report: self-contained HTML pages for training and topic runs, checked in a headless browser."""
import gzip
import json
import re
import shutil
import subprocess

import pytest

from darien_nlp.cli import main
from darien_nlp.report import markdown_to_html, render_run, write_reports

TEXT = "Panama and Colombia opened Safe Mobility Offices.\n\nMigrants crossing the Darién need water and shelter."


@pytest.fixture()
def results(tmp_path):
    """A results root with one training run and one topic run (references only, as committed)."""
    corpora = tmp_path / "corpora"
    corpora.mkdir()
    with gzip.open(corpora / "tiny.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"id": "d1", "date": "2024-01-01", "text": TEXT}) + "\n")
    train = tmp_path / "results" / "train_x" / "20260101-000000-aaaa"
    train.mkdir(parents=True)
    (train / "config.resolved.json").write_text(json.dumps({"experiment": {"kind": "train_classifier.v1"}}))
    (train / "report.md").write_text("# train_x\n\nDone with **care**.\n\n| system | macro-F1 |\n|---|---|\n| model | 0.700 |\n")
    per_label = {"enforcement": {"precision": 0.5, "recall": 0.8, "f1": 0.615, "support": 10}}
    bins = {"enforcement": [{"lower": 0.0, "upper": 0.1, "n": 30, "predicted": 0.03, "observed": 0.0},
                            {"lower": 0.9, "upper": 1.0, "n": 10, "predicted": 0.95, "observed": 0.8}]}
    (train / "metrics.json").write_text(json.dumps({"seconds": 3.0, "results": {"model": {"test": {
        "n": 40, "per_label": per_label, "ece": 0.04, "calibration": bins}}}}))
    (train / "status.json").write_text(json.dumps({"status": "complete"}))
    topics = tmp_path / "results" / "topics_x" / "20260101-000000-bbbb"
    topics.mkdir(parents=True)
    (topics / "config.resolved.json").write_text(json.dumps({"experiment": {"kind": "topics.v1"},
                                                             "data": {"source": "tiny.jsonl.gz"}}))
    start = TEXT.index("Migrants")
    (topics / "topics.json").write_text(json.dumps([
        {"topic": 0, "name": "darién · water · shelter", "size": 12, "share": 0.6,
         "category_mix": {"humanitarian": 0.8, "environment": 0.1},
         "representatives": [{"passage_id": "d1:1:x", "doc_id": "d1", "start": start, "end": len(TEXT)}]},
        {"topic": 1, "name": "safe mobility · offices", "size": 8, "share": 0.4, "category_mix": None,
         "representatives": [{"passage_id": "d1:0:y", "doc_id": "d1", "start": 0, "end": start - 2}]}]))
    (topics / "topics_over_time.csv").write_text("month,topic,passages,share\n2024-01,0,3,0.6\n2024-02,0,1,0.2\n"
                                                 "2024-01,1,2,0.4\n2024-02,1,4,0.8\n")
    (topics / "metrics.json").write_text(json.dumps({"seconds": 1.0}))
    return tmp_path / "results", corpora


def test_markdown_subset():
    out = markdown_to_html("## A <b>\n\n- one `x`\n- two\n\nplain *em* text")
    assert out == "<h2>A &lt;b&gt;</h2>\n<ul><li>one <code>x</code></li><li>two</li></ul>\n<p>plain <em>em</em> text</p>"


def test_pages_are_self_contained_and_rebuild_passages_from_the_corpora(results):
    root, corpora = results
    pages = write_reports(root, corpora=corpora)
    assert sorted(p.name for p in pages) == ["index.html", "report.html", "report.html"]
    topic_page = (root / "topics_x" / "20260101-000000-bbbb" / "report.html").read_text()
    assert "Migrants crossing the Darién need water and shelter." in topic_page  # rebuilt at render time
    assert topic_page.index("darién · water · shelter") < topic_page.index("safe mobility · offices")  # largest first
    assert topic_page.count("<svg") == 2 and "peak 2024-01 (60.0%)" in topic_page
    train_page = (root / "train_x" / "20260101-000000-aaaa" / "report.html").read_text()
    assert "<strong>care</strong>" in train_page and "<td>0.700</td>" in train_page
    assert "<td>enforcement</td><td>8</td><td>8</td><td>2</td>" in train_page  # TP 8, FP 8, FN 2
    for page in (topic_page, train_page, (root / "index.html").read_text()):
        assert not re.search(r"(?:src|href)=\"(?:https?:)?//", page)  # nothing fetched from a network


def test_without_corpora_passages_are_references(results, monkeypatch):
    root, _ = results
    monkeypatch.delenv("DARIEN_NLP_CORPORA", raising=False)
    page = render_run(root / "topics_x" / "20260101-000000-bbbb")
    assert "Migrants crossing" not in page and "d1 [" in page and "give the corpora" in page


def test_cli_report_and_bad_paths(results, tmp_path, capsys):
    root, corpora = results
    assert main(["report", str(root / "train_x"), "--corpora", str(corpora)]) == 0
    assert "report.html" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no results folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2


def test_page_renders_in_headless_chromium(results, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no headless Chromium here (Debian package 'chromium'; .ci/run installs it when it can)")
    root, corpora = results
    write_reports(root, corpora=corpora)
    page = root / "topics_x" / "20260101-000000-bbbb" / "report.html"
    shot = tmp_path / "shot.png"
    run = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                          "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", "--window-size=1200,900",
                          page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.is_file(), run.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))
    assert pixels.std() > 0.01  # not a blank page
    assert "Uncaught" not in run.stderr and not re.search(r"CONSOLE\(\d+\)\]", run.stderr)  # no console messages


def test_training_pages_draw_reliability_diagrams(results):
    root, _ = results
    page = render_run(root / "train_x" / "20260101-000000-aaaa")
    assert page.count('aria-label="reliability diagram"') == 1 and page.count("<circle") == 2
    assert "ECE 0.040" in page and "10 passages: predicted 0.95, observed 0.80" in page
    metrics = root / "train_x" / "20260101-000000-aaaa" / "metrics.json"
    data = json.loads(metrics.read_text())
    del data["results"]["model"]["test"]["calibration"]
    metrics.write_text(json.dumps(data))
    assert "kept no calibration bins" in render_run(root / "train_x" / "20260101-000000-aaaa")
    data["results"]["model"]["test"]["calibration"] = {"enforcement": [{"n": "x"}, {"predicted": 7, "observed": 0.1, "n": 1}]}
    metrics.write_text(json.dumps(data))  # hand-edited bins are skipped, not drawn or crashed on
    assert "<circle" not in render_run(root / "train_x" / "20260101-000000-aaaa")
