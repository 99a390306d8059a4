"""``darien-nlp report RESULTS``: one self-contained HTML page per experiment run, and an index.

A page needs no network and no other file: styles are inline, figures are the run's PNGs as
``data:`` URIs, curves over time are inline SVG.  Every run gets its status, its report
(``report.md`` rendered), its resolved config and environment.  Training runs add, per system
and split, the per-label confusion counts (derived from precision, recall and support); topic
runs add a topic browser: names, sizes, category mixes, curves over time and representative
passages, whose text is rebuilt from the corpora at render time when they are present
(``DARIEN_NLP_CORPORA`` or ``corpora=``) and shown as references otherwise.  Results committed
to the repository keep references only; the text lives in the rendered page, outside git.

>>> markdown_to_html("# Title\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |")
'<h1>Title</h1>\\n<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>'
"""
from __future__ import annotations

import base64
import csv
import html
import json
import logging
import re
from pathlib import Path
from typing import Any, Iterable

__all__ = ["markdown_to_html", "render_run", "write_reports"]

logger = logging.getLogger(__name__)

_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1b1f24}
h1{font-size:1.6rem}h2{font-size:1.3rem;margin-top:2rem;border-bottom:1px solid #ddd}h3{font-size:1.1rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:13px;display:block;overflow-x:auto}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}th{background:#f6f8fa}
code{background:#f6f8fa;padding:0 3px;border-radius:3px}details{margin:.3rem 0}summary{cursor:pointer}
.status{display:inline-block;padding:2px 8px;border-radius:10px;color:#fff;font-weight:600}
.complete{background:#1a7f37}.failed{background:#cf222e}.interrupted,.running{background:#9a6700}
.bar{display:inline-block;height:10px;vertical-align:middle}.mix span{margin-right:8px;white-space:nowrap}
.cal{display:inline-block;margin:4px 8px 4px 0;text-align:center}.cal figcaption{font-size:12px}
.passage{border-left:3px solid #d0d7de;padding:2px 8px;margin:4px 0;white-space:pre-wrap}
.ref{color:#57606a;font-size:12px}img{max-width:100%;border:1px solid #eee}
"""
_COLOURS = {"enforcement": "#cf222e", "lawful_pathways": "#0969da", "humanitarian": "#bf8700",
            "development": "#1a7f37", "environment": "#8250df"}


def _inline(text: str) -> str:
    """Inline Markdown of our reports: escapes, then `code`, **bold**, *emphasis*."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<em>\1</em>", out)


_ITEM = re.compile(r"^\s*(?:[-*]|\d+\.)\s+")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def markdown_to_html(text: str) -> str:
    """Render the Markdown subset the recipes write (headings, tables, lists, paragraphs, inline code)."""
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
        elif line.lstrip().startswith("|") and i + 1 < len(lines) and re.match(r"^\s*\|?\s*:?-{3,}", lines[i + 1]):
            head = "".join(f"<th>{_inline(c)}</th>" for c in _cells(line))
            rows = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(lines[i])) + "</tr>")
                i += 1
            blocks.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
        elif _ITEM.match(line):
            items = []
            while i < len(lines) and _ITEM.match(lines[i]):
                items.append(f"<li>{_inline(_ITEM.sub('', lines[i]))}</li>")
                i += 1
            blocks.append(f"<ul>{''.join(items)}</ul>")
        else:
            paragraph = []
            while i < len(lines) and lines[i].strip() and not re.match(r"^(#{1,6}\s|\s*\|)", lines[i]):
                paragraph.append(lines[i].strip())
                i += 1
            blocks.append(f"<p>{_inline(' '.join(paragraph))}</p>")
    return "\n".join(blocks)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _split_blocks(metrics: dict):
    """(system, split, block) for every well-formed block of a training run's ``results``."""
    results = metrics.get("results")
    for system, splits in (results.items() if isinstance(results, dict) else ()):
        for split, block in (splits.items() if isinstance(splits, dict) else ()):
            if isinstance(block, dict):
                yield system, split, block


def _confusion_section(metrics: dict) -> str:
    """Per system and split, TP / FP / FN per label, derived from precision, recall and support."""
    if not isinstance(metrics.get("results"), dict):
        return ""
    parts = ["<h2>Per-label confusion counts</h2>",
             "<p>True positives, false positives and false negatives per label, derived from each split's precision, "
             "recall and support.</p>"]
    for system, split, block in _split_blocks(metrics):
        per_label = block.get("per_label")
        if not isinstance(per_label, dict):
            continue
        rows = []
        for label, s in per_label.items():
            support, recall, precision = s.get("support", 0), s.get("recall", 0.0), s.get("precision", 0.0)
            tp = round(recall * support)
            fn = support - tp
            fp = round(tp / precision - tp) if precision else 0
            width = 220 / max(support + fp, 1)
            bars = "".join(f'<span class="bar" style="width:{n * width:.1f}px;background:{c}" title="{t} {n}"></span>'
                           for n, c, t in ((tp, "#1a7f37", "TP"), (fp, "#cf222e", "FP"), (fn, "#9a6700", "FN")))
            rows.append(f"<tr><td>{html.escape(label)}</td><td>{tp}</td><td>{fp}</td><td>{fn}</td>"
                        f"<td>{s.get('f1', 0.0):.3f}</td><td>{bars}</td></tr>")
        parts.append(f"<details><summary>{html.escape(str(system))} · {html.escape(str(split))} "
                     f"(n = {block.get('n', '?')})</summary><table><thead><tr><th>label</th><th>TP</th><th>FP</th>"
                     f"<th>FN</th><th>F1</th><th>TP / FP / FN</th></tr></thead><tbody>{''.join(rows)}</tbody>"
                     "</table></details>")
    return "\n".join(parts)


def _reliability_svg(points: list, size: int = 130) -> str:
    """One label's reliability diagram: observed share of positives against mean predicted probability per
    bin (a circle's area grows with the bin's count), and the diagonal of perfect calibration."""
    pad = 14
    span = size - 2 * pad

    def xy(p: float, o: float) -> tuple[float, float]:
        return pad + p * span, size - pad - o * span

    valid = []
    for b in points:  # a hand-edited or damaged bin is skipped, never drawn wrong or crashed on
        try:
            p, o, n = float(b["predicted"]), float(b["observed"]), int(b["n"])
        except (KeyError, TypeError, ValueError):
            continue
        if 0.0 <= p <= 1.0 and 0.0 <= o <= 1.0 and n > 0:
            valid.append((p, o, n))
    total = sum(n for _, _, n in valid) or 1
    dots, line = [], []
    for p, o, n in valid:
        x, y = xy(p, o)
        line.append(f"{x:.1f},{y:.1f}")
        dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{2 + 6 * (n / total) ** 0.5:.1f}" fill="#0969da" '
                    f'fill-opacity="0.6"><title>{n} passages: predicted {p:.2f}, observed {o:.2f}</title></circle>')
    (x0, y0), (x1, y1) = xy(0, 0), xy(1, 1)
    return (f'<svg width="{size}" height="{size}" viewBox="0 0 {size} {size}" role="img" aria-label="reliability diagram">'
            f'<rect x="{pad}" y="{pad}" width="{span}" height="{span}" fill="none" stroke="#d0d7de"/>'
            f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#8c959f" stroke-dasharray="3,3"/>'
            + (f'<polyline fill="none" stroke="#0969da" stroke-width="1" points="{" ".join(line)}"/>' if len(line) > 1 else "")
            + "".join(dots) + "</svg>")


def _calibration_section(metrics: dict) -> str:
    """Reliability diagrams per system, split and label, from the bins a training run keeps."""
    parts = []
    for system, split, block in _split_blocks(metrics):
        bins = block.get("calibration")
        if not isinstance(bins, dict) or not bins:
            continue
        figures = "".join(f'<figure class="cal">{_reliability_svg(points if isinstance(points, list) else [])}'
                          f"<figcaption>{html.escape(str(label))}</figcaption></figure>" for label, points in bins.items())
        ece = block.get("ece")
        parts.append(f"<details><summary>{html.escape(str(system))} · {html.escape(str(split))}"
                     + (f" (ECE {float(ece):.3f})" if isinstance(ece, (int, float)) else "")
                     + f"</summary><div>{figures}</div></details>")
    if not parts:
        return ("<h2>Calibration</h2><p>This run kept no calibration bins (runs before 2026-12-07 did not), so there "
                "is no reliability diagram; its ECE column measures calibration.</p>")
    return ("<h2>Calibration</h2><p>Reliability diagrams: for each bin of predicted probability (tenths), the share "
            "of passages that carry the label against the mean predicted probability; the dashed diagonal is perfect "
            "calibration, and a circle's area grows with the bin's count (hover for figures).</p>" + "\n".join(parts))


def _sparkline(points: list[tuple[str, float]], width: int = 260, height: int = 40) -> str:
    """An inline SVG curve of a topic's monthly share."""
    if len(points) < 2:
        return ""
    top = max(value for _, value in points) or 1.0
    step = width / (len(points) - 1)
    coordinates = " ".join(f"{i * step:.1f},{height - 2 - (value / top) * (height - 4):.1f}"
                           for i, (_, value) in enumerate(points))
    peak = max(points, key=lambda p: p[1])
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="share by month"><polyline fill="none" stroke="#0969da" stroke-width="1.5" '
            f'points="{coordinates}"/></svg><div class="ref">{html.escape(points[0][0])} – '
            f'{html.escape(points[-1][0])}; peak {html.escape(peak[0])} ({peak[1]:.1%})</div>')


def _curves(run_dir: Path) -> dict[int, list[tuple[str, float]]]:
    path = run_dir / "topics_over_time.csv"
    curves: dict[int, dict[str, float]] = {}
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                curves.setdefault(int(row["topic"]), {})[row["month"]] = float(row["share"])
            except (KeyError, ValueError):
                continue
    months = sorted({month for curve in curves.values() for month in curve})
    return {topic: [(month, curve.get(month, 0.0)) for month in months] for topic, curve in curves.items()}


def _passage_texts(references: Iterable[dict], sources: list[str], corpora: Path | None) -> dict[tuple, str]:
    """Text of each ``(doc_id, start, end)`` reference, rebuilt from the run's sources in the corpora folder."""
    references = list(references)
    if corpora is None or not sources or not references:
        return {}
    from .corpus import load_corpus

    wanted: dict[str, list[tuple[int, int]]] = {}
    for ref in references:
        wanted.setdefault(str(ref["doc_id"]), []).append((int(ref["start"]), int(ref["end"])))
    texts = {}
    for source in sources:
        path = Path(source) if Path(source).is_absolute() else Path(corpora) / source
        if not path.exists():
            continue
        try:
            for document in load_corpus(path, on_error="skip", select=set(wanted)):
                for start, end in wanted.get(document.doc_id, []):
                    if 0 <= start <= end <= len(document.text):
                        texts[(document.doc_id, start, end)] = document.text[start:end]
        except (OSError, ValueError) as error:
            logger.warning("report: could not rebuild passages from %s: %s", path, error)
    return texts


def _topics_section(run_dir: Path, config: dict, corpora: Path | None) -> str:
    topics = _read_json(run_dir / "topics.json")
    if not isinstance(topics, list) or not topics:
        return ""
    source = (config.get("data") or {}).get("source") if isinstance(config, dict) else None
    sources = [source] if isinstance(source, str) else [s for s in source or [] if isinstance(s, str)]
    curves = _curves(run_dir)
    references = [ref for entry in topics for ref in entry.get("representatives") or []]
    texts = _passage_texts(references, sources, corpora)
    note = ("Representative passages are rebuilt from the corpora at render time." if texts else
            "Representative passages are shown by reference (corpus, document, offsets): give the corpora "
            "(DARIEN_NLP_CORPORA or --corpora) to see their text.")
    rows = []
    # largest first; the outlier and "outside the categories" groups (negative ids) after the topics
    for entry in sorted(topics, key=lambda e: (int(e.get("topic", 0)) < 0, -int(e.get("size", 0)))):
        mix = entry.get("category_mix") or {}
        mix_html = "".join(
            f'<span><span class="bar" style="width:{60 * share:.1f}px;background:{_COLOURS.get(label, "#888")}"></span> '
            f"{html.escape(label)} {share:.0%}</span>" for label, share in mix.items() if share >= 0.01)
        passages = []
        for ref in entry.get("representatives") or []:
            key = (str(ref.get("doc_id")), int(ref.get("start", 0)), int(ref.get("end", 0)))
            reference = f'{html.escape(key[0])} [{key[1]}:{key[2]}]'
            body = html.escape(texts[key]) if key in texts else ""
            passages.append(f'<div class="passage">{body}<div class="ref">{reference}</div></div>')
        rows.append(
            f"<tr><td>{entry.get('topic')}</td><td><details><summary>{html.escape(str(entry.get('name', '')))}</summary>"
            f"{''.join(passages) or '<div class=ref>no representatives</div>'}</details></td>"
            f"<td>{entry.get('size', 0):,}</td><td>{float(entry.get('share', 0.0)):.1%}</td>"
            f'<td class="mix">{mix_html}</td><td>{_sparkline(curves.get(int(entry.get("topic", -99)), []))}</td></tr>')
    return ("<h2>Topic browser</h2>"
            f"<p>{len(topics)} topics, largest first (groups outside any topic last); open a name for its representative passages. {note}</p>"
            "<table><thead><tr><th>id</th><th>name</th><th>passages</th><th>share</th><th>category mix</th>"
            f"<th>share over time</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _figures(run_dir: Path) -> str:
    images = sorted((run_dir / "figures").glob("*.png")) if (run_dir / "figures").is_dir() else []
    if not images:
        return ""
    parts = ["<h2>Figures</h2>"]
    for image in images:
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        parts.append(f'<h3>{html.escape(image.stem.replace("_", " "))}</h3>'
                     f'<img alt="{html.escape(image.stem)}" src="data:image/png;base64,{data}">')
    return "\n".join(parts)


def render_run(run_dir: str | Path, *, corpora: str | Path | None = None) -> str:
    """The self-contained HTML page of one run folder."""
    from .data import resolve_corpora
    from .experiments import run_status

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"report: no run folder at {str(run_dir)!r}")
    if corpora is None:
        try:
            corpora = resolve_corpora(None)
        except (OSError, ValueError):  # no corpora here: passages are shown by reference
            corpora = None
    config = _read_json(run_dir / "config.resolved.json") or {}
    metrics = _read_json(run_dir / "metrics.json") or {}
    status = run_status(run_dir)
    name = f"{run_dir.parent.name} / {run_dir.name}"
    report = run_dir / "report.md"
    body = [f"<h1>{html.escape(name)}</h1>",
            f'<p><span class="status {html.escape(status["status"])}">{html.escape(status["status"])}</span> '
            f"{html.escape(str(status.get('error', '')))} {html.escape(str(config.get('experiment', {}).get('kind', '')))}"
            + (f" · {metrics['seconds']} s" if isinstance(metrics.get("seconds"), (int, float)) else "") + "</p>"]
    body.append(_topics_section(run_dir, config, Path(corpora) if corpora else None))
    if report.is_file():
        body.append('<h2>Report</h2>' + markdown_to_html(report.read_text(encoding="utf-8")))
    body.append(_confusion_section(metrics))
    if isinstance(metrics.get("results"), dict):
        body.append(_calibration_section(metrics))
    body.append(_figures(run_dir))
    for title, file_name in (("Resolved config", "config.resolved.json"), ("Environment", "environment.json")):
        if (run_dir / file_name).is_file():
            body.append(f"<details><summary>{title}</summary><pre>"
                        f"{html.escape((run_dir / file_name).read_text(encoding='utf-8'))}</pre></details>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width\"><title>{html.escape(name)}</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(b for b in body if b)}</body></html>\n")


def _run_folders(path: Path) -> list[Path]:
    """Run folders under ``path``: itself if it is one, an experiment's runs, or every experiment's."""
    def is_run(folder: Path) -> bool:
        return (folder / "config.resolved.json").is_file() or (folder / "status.json").is_file()

    if is_run(path):
        return [path]
    runs = [p for p in sorted(path.iterdir()) if p.is_dir() and not p.name.startswith(".") and is_run(p)]
    if runs:
        return runs
    return [run for folder in sorted(path.iterdir()) if folder.is_dir() and not folder.name.startswith(".")
            for run in sorted(folder.iterdir()) if run.is_dir() and not run.name.startswith(".") and is_run(run)]


def write_reports(path: str | Path, *, corpora: str | Path | None = None, latest_only: bool = False) -> list[Path]:
    """Write ``report.html`` into each run folder under ``path`` (and ``index.html`` in ``path`` when it
    holds several runs); return the pages written.  ``latest_only`` keeps each experiment's latest run."""
    from .experiments import _write_atomically, run_status

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"report: no results folder at {str(path)!r}")
    runs = _run_folders(path)
    if latest_only:
        latest = []
        for run in runs:
            marker = run.parent / "latest.txt"
            if marker.is_file() and marker.read_text().strip() == run.name:
                latest.append(run)
        runs = latest or runs
    if not runs:
        raise FileNotFoundError(f"report: no run folders under {str(path)!r}")
    pages = []
    for run in runs:
        page = run / "report.html"
        _write_atomically(page, render_run(run, corpora=corpora))
        pages.append(page)
    if len(runs) > 1:
        rows = "".join(
            f'<tr><td><a href="{html.escape(p.relative_to(path).as_posix())}">{html.escape(r.parent.name)}</a></td>'
            f"<td>{html.escape(r.name)}</td><td>{html.escape(run_status(r)['status'])}</td></tr>"
            for r, p in zip(runs, pages))
        index = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>darien_nlp runs</title>"
                 f"<style>{_STYLE}</style></head><body><h1>Experiment runs</h1><table><thead><tr><th>experiment</th>"
                 f"<th>run</th><th>status</th></tr></thead><tbody>{rows}</tbody></table></body></html>\n")
        _write_atomically(path / "index.html", index)
        pages.append(path / "index.html")
    return pages
