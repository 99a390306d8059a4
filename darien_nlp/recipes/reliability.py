"""Recipe ``reliability.v1``: the fuzz run and the large-input growth checks behind docs/RELIABILITY.md.

Two parts, both printed and written to the run's ``report.md`` and ``metrics.json`` (never
asserted as timings in tests):

* **fuzz**: the property-based tests (``tests/api/test_fuzz.py``, hypothesis) under the ``long``
  profile, run by pytest in a subprocess; the cases hypothesis tried per test, by category, and
  the outcome of each test;
* **growth**: the inputs that used to grow quadratically (runs of abbreviations for the sentence
  splitter, HTML pages of many paragraphs, one huge paragraph, long documents through
  ``classify_document``) at doubling sizes, with time and peak Python memory (tracemalloc) for
  each, and the ratio of time between successive sizes (about 2 for linear work).
"""
from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
import tracemalloc

from ..experiments import Recipe, RunContext

logger = logging.getLogger(__name__)

#: What each fuzz test feeds in: the report's category column.
CATEGORIES = {
    "test_segment_offsets_round_trip": "random Unicode and release-like text through segment",
    "test_classify_one_output_per_input_and_deterministic": "random texts (lists) through classify",
    "test_classify_document_on_anything": "random text through classify_document",
    "test_classify_dataset_keeps_every_row": "texts, None and NaN in a DataFrame through classify_dataset",
    "test_load_corpus_on_random_bytes": "random bytes as .txt/.md/.html/.jsonl/.csv through load_corpus",
    "test_nested_html_loads": "random nested HTML through load_corpus",
    "test_cli_classify_never_loses_a_line": "random byte lines through darien-nlp classify",
}


def _fuzz(context: RunContext) -> dict:
    settings = context.config["fuzz"]
    test_file = context.path(settings["tests"])
    if not test_file.is_file():
        raise FileNotFoundError(f"fuzz.tests: no test file at {test_file} (the fuzz tests live in the repository)")
    env = dict(os.environ, DARIEN_NLP_FUZZ_PROFILE=settings["profile"], HF_HUB_OFFLINE="1")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file),
                             "--hypothesis-show-statistics", "-rA", "-p", "no:logging"],
                            cwd=context.root, env=env, capture_output=True, text=True, timeout=settings["timeout_s"])
    seconds = time.perf_counter() - started
    (context.run_dir / "fuzz.log").write_text(result.stdout + "\n" + result.stderr, encoding="utf-8")
    tests = {}
    current = None
    for line in result.stdout.splitlines():
        match = re.match(r"^\S*::(test_\w+):\s*$", line.strip())
        if match:
            current = match.group(1)
            tests[current] = {"cases": 0, "invalid": 0}
            continue
        if current is None:
            continue
        counts = re.search(r"- (\d+) passing, (\d+) failing, and (\d+) invalid", line)
        if counts:  # one line per phase (explicit, reuse, generate, shrink)
            tests[current]["cases"] += int(counts.group(1)) + int(counts.group(2))
            tests[current]["invalid"] += int(counts.group(3))
    outcomes = {name: outcome for outcome, name in re.findall(r"^(PASSED|FAILED|ERROR) \S*::(test_\w+)",
                                                              result.stdout, flags=re.MULTILINE)}
    for name in tests:
        tests[name]["outcome"] = outcomes.get(name, "unknown")
        tests[name]["category"] = CATEGORIES.get(name, name)
    return {"profile": settings["profile"], "exit_code": result.returncode, "seconds": round(seconds, 1),
            "tests": tests, "cases": sum(t["cases"] for t in tests.values())}


def _measure(function, argument) -> tuple[float, float]:
    tracemalloc.start()
    started = time.perf_counter()
    function(argument)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20


def _growth(context: RunContext) -> list[dict]:
    from ..api import classify_document
    from ..corpus import Document, normalise, segment
    from ..corpus.segment import split_sentences

    cases = {
        "split_sentences: 'Dr. ' x n": (lambda n: "Dr. " * n, split_sentences),
        "normalise HTML: n <p> paragraphs": (lambda n: "<html><body>" + "<p>Migrants crossed the border.</p>" * n
                                             + "</body></html>", lambda text: normalise(text, markup="html")),
        "segment: one paragraph of n words": (lambda n: "word " * n, lambda text: segment(Document("d", text))),
        "classify_document: n sentences": (lambda n: "Migrants crossed the Darién Gap at night. " * n,
                                           lambda text: classify_document(text, model=context.config["growth"]["model"])),
    }
    rows = []
    for name, (build, function) in cases.items():
        previous = None
        function(build(context.config["growth"]["sizes"][0]))  # warm up (imports, model, caches) untimed
        for n in context.config["growth"]["sizes"]:
            text = build(n)
            seconds, peak = _measure(function, text)
            rows.append({"case": name, "n": n, "characters": len(text), "seconds": round(seconds, 3),
                         "peak_mib": round(peak, 1),
                         "time_ratio": None if previous is None or previous < 1e-3 else round(seconds / previous, 2)})
            previous = seconds
            logger.info("%s n=%d: %.3f s, %.1f MiB", name, n, seconds, peak)
    return rows


def run(context: RunContext) -> dict:
    summary = {"fuzz": _fuzz(context) if context.config["fuzz"]["run"] else None, "growth": _growth(context)}
    report = _report(context.config, summary)
    (context.run_dir / "report.md").write_text(report, encoding="utf-8")
    print(report)
    if summary["fuzz"] and summary["fuzz"]["exit_code"] != 0:
        raise RuntimeError(f"the fuzz tests failed (exit {summary['fuzz']['exit_code']}); see {context.run_dir / 'fuzz.log'}")
    return summary


def _report(config, summary) -> str:
    lines = [f"# {config['experiment']['name']}", ""]
    fuzz = summary["fuzz"]
    if fuzz:
        lines += [f"## Fuzz run (hypothesis profile `{fuzz['profile']}`): {fuzz['cases']:,} cases in {fuzz['seconds']} s, "
                  f"pytest exit {fuzz['exit_code']}", "",
                  "| test | input | cases | invalid (filtered) | outcome |", "|---|---|---|---|---|"]
        for name, test in fuzz["tests"].items():
            lines.append(f"| `{name}` | {test['category']} | {test['cases']:,} | {test['invalid']:,} | {test['outcome']} |")
        lines.append("")
    lines += ["## Growth with input size (time and peak Python memory; a time ratio near 2 per doubling is linear)", "",
              "| case | n | characters | seconds | peak MiB | time ÷ previous |", "|---|---|---|---|---|---|"]
    for row in summary["growth"]:
        ratio = "" if row["time_ratio"] is None else f"{row['time_ratio']:.2f}"
        lines.append(f"| {row['case']} | {row['n']:,} | {row['characters']:,} | {row['seconds']:.3f} | "
                     f"{row['peak_mib']:.1f} | {ratio} |")
    return "\n".join(lines) + "\n"


RECIPE = Recipe(
    schema={"fuzz": {"run": True, "profile": "long", "tests": "tests/api/test_fuzz.py", "timeout_s": 3000},
            "growth": {"sizes": [20_000, 40_000, 80_000, 160_000], "model": "default"}},
    run=run,
)
