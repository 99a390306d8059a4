"""Recipe ``benchmark_speed.v1``: classification speed beside the alternatives, in the same fresh process.

Each *fresh run* is a new Python process that reads the same real passages and measures, in order:

* ``classify`` on its first pass (cold word cache, as a pipeline meets a new stream) and warm;
* ``classify_document`` on the documents the passages come from (each passage read in context), one call
  per document, and ``classify_documents`` batching their passages together;
* model2vec's ``StaticModel.encode`` on the model's own static backbone, plus a linear head;
* the backbone's raw ``tokenizers`` batch encoding;
* a bare regex word scan on one core (the ceiling for any word-level method in Python);
* TF-IDF + logistic regression (vectoriser and head fitted on a sample, timing transform + predict);
* all-MiniLM-L6-v2 (sentence-transformers) + a linear head, on a smaller sample (it is ~100x slower);

and the peak RSS of the process.  Runs repeat (``fresh_runs``) and the report gives the median and
range of each figure, its ratio to model2vec's encode in the same run, and its share of the regex
ceiling.  Memory: ``stream`` passages generated lazily through ``classify`` in batches, and the same
count through ``darien-nlp classify -``, with RSS checkpoints (flat means it does not grow with the
count).  Figures are printed and written to ``metrics.json``; never asserted as timings in tests.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..experiments import Recipe, RunContext

logger = logging.getLogger(__name__)


def _proc_status_mb(key: str, pid: int | str = "self") -> float:
    """A memory line of /proc/<pid>/status (``VmRSS``: now, ``VmHWM``: peak), in MB; NaN where unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _rss_mb() -> float:
    """Current resident set size of this process, in MB."""
    return _proc_status_mb("VmRSS")


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _backbone(predictor):
    """The static embedder a model reads through (its inner one for a context model), or None."""
    embedder = predictor.embedder_
    for _ in range(3):
        if getattr(embedder, "name", "") == "static.v1":
            return embedder
        embedder = getattr(embedder, "_inner", None) or getattr(embedder, "_static", None)
        if embedder is None:
            return None
    return None


def _timed(function, repeats: int = 1) -> list[float]:
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        out.append(time.perf_counter() - started)
    return out


def _load_passages(data_path: str, model: str) -> tuple[list[str], list]:
    """A fresh process's passages and documents (written by :func:`run`), with the model loaded and its
    head warmed on one text (the word cache stays cold)."""
    import darien_nlp
    from darien_nlp.corpus import Document

    data = json.loads(Path(data_path).read_text(encoding="utf-8"))
    darien_nlp.classify(["warm up the head, not the word cache"], model=model)
    return data["texts"], [Document(doc_id=d["id"], text=d["text"]) for d in data["documents"]]


def worker(data_path: str, model: str, repeats: int, minilm_passages: int) -> dict:
    """One fresh run (called in a new process by :func:`run`)."""
    import re

    started = time.perf_counter()
    import darien_nlp
    from darien_nlp.api import load_model

    texts, documents = _load_passages(data_path, model)
    predictor = load_model(model)
    out: dict = {"import_and_load_seconds": time.perf_counter() - started, "passages": len(texts)}
    n = len(texts)
    out["classify_first_pass"] = n / _timed(lambda: darien_nlp.classify(texts, model=model))[0]
    out["classify_warm"] = n / float(np.median(_timed(lambda: darien_nlp.classify(texts, model=model), repeats)))
    document_passages = sum(len(darien_nlp.classify_document(d, model=model).passages) for d in documents)
    out["classify_document_in_context"] = document_passages / _timed(
        lambda: [darien_nlp.classify_document(d, model=model) for d in documents])[0]
    out["classify_documents_in_context"] = document_passages / _timed(
        lambda: list(darien_nlp.classify_documents(documents, model=model)))[0]
    backbone = _backbone(predictor)
    if backbone is not None:
        from model2vec import StaticModel

        static = StaticModel.from_pretrained(str(backbone.path))
        head = np.random.default_rng(0).normal(size=(5, static.embedding.shape[1])).astype(np.float32)
        # model2vec at the backbone's own token cap (its encode defaults to 512; the backbone reads 256)
        cap = backbone.max_length
        out["model2vec_encode_plus_head"] = n / float(np.median(_timed(
            lambda: static.encode(texts, max_length=cap) @ head.T, repeats)))
        out["tokenizers_batch_encode"] = n / float(np.median(_timed(
            lambda: static.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
            if hasattr(static.tokenizer, "encode_batch_fast") else static.tokenizer.encode_batch(texts), repeats)))
        sample = texts[: min(2000, n)]
        ours = backbone.encode(sample)

        def lowest_cosine(theirs):
            norms = np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1)
            valid = norms > 0
            return float(np.min(np.sum(ours * theirs, axis=1)[valid] / norms[valid]))

        out["min_cosine_to_model2vec"] = lowest_cosine(static.encode(sample, max_length=cap))
        # model2vec's default cap (512 tokens): passages past the backbone's 256 differ by what is cut
        out["min_cosine_to_model2vec_512"] = lowest_cosine(static.encode(sample, max_length=512))
        out["share_over_token_cap"] = float(np.mean([len(e.ids) > cap for e in static.tokenizer.encode_batch_fast(
            sample, add_special_tokens=False)])) if hasattr(static.tokenizer, "encode_batch_fast") else None
        out["token_cap"] = cap
    word = re.compile(r"\w+")
    out["regex_word_scan_1_core"] = n / float(np.median(_timed(lambda: [word.findall(t) for t in texts], repeats)))
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(min_df=2, max_features=50_000).fit(texts[:5000])
    labels = np.random.default_rng(0).integers(0, 2, size=min(5000, n))
    labels[:2] = [0, 1]
    tfidf_head = LogisticRegression(max_iter=200).fit(vectorizer.transform(texts[:5000]), labels)
    out["tfidf_plus_logreg"] = n / float(np.median(_timed(
        lambda: tfidf_head.decision_function(vectorizer.transform(texts)), repeats)))
    if minilm_passages:
        try:
            from darien_nlp.embed.minilm import new_sentence_transformer

            encoder = new_sentence_transformer()
            sample = texts[:minilm_passages]
            encoder.encode(sample[:8])
            head = np.random.default_rng(0).normal(size=(5, 384)).astype(np.float32)
            out["minilm_plus_head"] = len(sample) / _timed(lambda: encoder.encode(sample, batch_size=64) @ head.T)[0]
        except ImportError as error:
            out["minilm_plus_head_skipped"] = str(error)
    out["peak_rss_mb"] = _peak_mb()
    return out


def _profile(function, top: int) -> list[dict]:
    """The ``top`` functions by own time (cProfile) while ``function`` runs once."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    function()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(stats.total_tt, 1e-12)
    rows = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        where = filename.split("site-packages/")[-1].split("darien_nlp/")[-1] if filename != "~" else "built-in"
        rows.append({"function": f"{where}:{line}({name})" if filename != "~" else name, "calls": int(calls),
                     "own_seconds": round(own, 4), "cumulative_seconds": round(cumulative, 4),
                     "own_share": round(own / total, 4)})
    rows.sort(key=lambda row: -row["own_seconds"])
    return rows[:top]


def profile_worker(data_path: str, model: str, top: int) -> dict:
    """A fresh process (called by :func:`run`): cProfile of the first pass, a warm pass and
    ``classify_documents``, in that order, on the benchmark's passages."""
    import darien_nlp

    texts, documents = _load_passages(data_path, model)
    return {"classify_first_pass": _profile(lambda: darien_nlp.classify(texts, model=model), top),
            "classify_warm": _profile(lambda: darien_nlp.classify(texts, model=model), top),
            "classify_documents_in_context": _profile(lambda: list(darien_nlp.classify_documents(documents, model=model)),
                                                      top)}


def stream_worker(model: str, count: int, batch: int, seed_texts_path: str) -> dict:
    """Classify ``count`` generated passages in batches; RSS at checkpoints (flat = constant memory)."""
    import darien_nlp

    seeds = json.loads(Path(seed_texts_path).read_text(encoding="utf-8"))["texts"][:5000]

    def generate():
        for i in range(count):
            yield f"{seeds[i % len(seeds)]} ({i})"  # distinct texts (each adds one new word to the word cache)

    checkpoints, done, buffer = [], 0, []
    started = time.perf_counter()
    for text in generate():
        buffer.append(text)
        if len(buffer) == batch:
            darien_nlp.classify(buffer, model=model)
            done += len(buffer)
            buffer = []
            if done % max(count // 10, batch) == 0:
                checkpoints.append({"passages": done, "rss_mb": round(_rss_mb(), 1)})
    if buffer:
        darien_nlp.classify(buffer, model=model)
        done += len(buffer)
    return {"passages": done, "seconds": time.perf_counter() - started, "checkpoints": checkpoints,
            "peak_rss_mb": _peak_mb()}


def _subprocess(args: list[str], cwd: Path, timeout: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "darien_nlp.recipes.speed", *args], capture_output=True, text=True,
                         cwd=str(cwd), timeout=timeout, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    if out.returncode != 0:
        raise RuntimeError(f"benchmark worker failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cli_stream(model: str, count: int, seeds: list[str], cwd: Path, timeout: int) -> dict:
    """``count`` lines piped through ``darien-nlp classify -`` (output discarded); the child's peak RSS,
    read from /proc while it runs (with checkpoints, to see whether it grows with the count)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "darien_nlp.cli", "classify", "-", "--model", model,
                                "--no-progress"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=str(cwd), env=dict(os.environ, HF_HUB_OFFLINE="1"))
    checkpoints, peak = [], float("nan")
    try:
        for i in range(count):
            line = seeds[i % len(seeds)].replace("\r", " ").replace("\n", " ")
            process.stdin.write(f"{line} ({i})\n".encode("utf-8"))
            if (i + 1) % max(count // 10, 1) == 0:
                process.stdin.flush()
                checkpoints.append({"lines_written": i + 1, "peak_rss_mb": round(_proc_status_mb("VmHWM", process.pid), 1)})
        process.stdin.close()
        while process.poll() is None:  # the last reading before it exits
            peak = _proc_status_mb("VmHWM", process.pid)
            time.sleep(0.05)
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    readings = [c["peak_rss_mb"] for c in checkpoints if c["peak_rss_mb"] == c["peak_rss_mb"]]
    if peak != peak and readings:
        peak = max(readings)
    return {"lines": count, "seconds": time.perf_counter() - started, "exit_code": process.returncode,
            "peak_rss_mb": peak, "checkpoints": checkpoints}


def _cli_file(model: str, count: int, seeds: list[str], cwd: Path, timeout: int, jobs: int, folder: Path) -> dict:
    """``darien-nlp classify FILE --jobs N`` on ``count`` lines in a file (output discarded): the time
    with N worker processes; the largest process's peak RSS (the parent or a worker)."""
    import resource

    path = folder / f"lines-{count}.txt"
    if not path.exists():
        with open(path, "w", encoding="utf-8") as handle:
            for i in range(count):
                handle.write(seeds[i % len(seeds)].replace("\r", " ").replace("\n", " ") + f" ({i})\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "darien_nlp.cli", "classify", str(path), "--model", model,
                           "--no-progress", "--jobs", str(jobs)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          cwd=str(cwd), env=dict(os.environ, HF_HUB_OFFLINE="1"), timeout=timeout)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"lines": count, "jobs": jobs, "seconds": seconds, "lines_per_second": count / seconds,
            "exit_code": done.returncode, "largest_process_peak_rss_mb": round(peak / 1024, 1) if peak > before else None}


def _cli_documents(model: str, documents: list, cwd: Path, timeout: int, jobs: int, folder: Path) -> dict:
    """``darien-nlp classify FILE --document --jobs N`` on the benchmark's documents (one JSON record each):
    passages written per second, each passage read with its context window."""
    path = folder / "documents.jsonl"
    if not path.exists():
        with open(path, "w", encoding="utf-8") as handle:
            for document in documents:
                handle.write(json.dumps({"id": document.doc_id, "text": document.text}) + "\n")
    output = folder / f"documents-{jobs}.out.jsonl"
    started = time.perf_counter()
    with open(output, "wb") as sink:
        done = subprocess.run([sys.executable, "-m", "darien_nlp.cli", "classify", str(path), "--document", "--model",
                               model, "--no-progress", "--jobs", str(jobs)], stdout=sink, stderr=subprocess.PIPE,
                              cwd=str(cwd), env=dict(os.environ, HF_HUB_OFFLINE="1"), timeout=timeout)
    seconds = time.perf_counter() - started
    with open(output, "rb") as handle:
        passages = sum(1 for _ in handle)
    output.unlink()
    return {"documents": len(documents), "passages": passages, "jobs": jobs, "seconds": seconds,
            "passages_per_second": passages / seconds, "exit_code": done.returncode}


def _summary(values: list[float]) -> dict:
    return {"median": float(np.median(values)), "min": float(np.min(values)), "max": float(np.max(values))}


METHODS = ["classify_first_pass", "classify_warm", "classify_document_in_context", "classify_documents_in_context", "model2vec_encode_plus_head",
           "tokenizers_batch_encode", "regex_word_scan_1_core", "tfidf_plus_logreg", "minilm_plus_head"]


def run(context: RunContext) -> dict:
    from .benchmark import _passages

    settings = context.config["benchmark"]
    model = context.config["model"]["name"]
    texts, documents = _passages(context, settings["passages"])
    scratch = Path(tempfile.mkdtemp(prefix="darien-speed-"))  # corpus text stays outside the results folder
    try:
        data = scratch / "passages.json"
        data.write_text(json.dumps({"texts": texts, "documents": [{"id": d.doc_id, "text": d.text} for d in documents]}),
                        encoding="utf-8")
        runs = [_subprocess(["worker", str(data), model, str(settings["repeats"]), str(settings["minilm_passages"])],
                            context.root, settings["timeout_s"]) for _ in range(settings["fresh_runs"])]
        stream = (_subprocess(["stream", model, str(settings["stream_passages"]), str(settings["stream_batch"]), str(data)],
                              context.root, settings["timeout_s"]) if settings["stream_passages"] else None)
        cli = (_cli_stream(model, settings["cli_lines"], texts[:5000], context.root, settings["timeout_s"])
               if settings["cli_lines"] else None)
        cli_files = [_cli_file(model, settings["cli_file_lines"], texts[:5000], context.root, settings["timeout_s"], jobs,
                               scratch) for jobs in settings["cli_jobs"]] if settings["cli_file_lines"] else []
        cli_documents = [_cli_documents(model, documents, context.root, settings["timeout_s"], jobs, scratch)
                         for jobs in settings["cli_jobs"]] if settings["cli_documents"] else []
        profiles = (_subprocess(["profile", str(data), model, str(settings["profile_top"])], context.root,
                                settings["timeout_s"]) if settings["profile_top"] else None)
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    figures = {}
    for method in METHODS:
        values = [r[method] for r in runs if method in r]
        if not values:
            continue
        figures[method] = _summary(values)
        if all("model2vec_encode_plus_head" in r for r in runs):
            figures[method]["vs_model2vec"] = _summary([r[method] / r["model2vec_encode_plus_head"] for r in runs if method in r])
        figures[method]["share_of_regex_ceiling"] = _summary([r[method] / r["regex_word_scan_1_core"] for r in runs
                                                              if method in r])
    metrics = {"model": model, "passages": len(texts), "mean_chars": float(np.mean([len(t) for t in texts])),
               "documents": len(documents), "fresh_runs": runs, "figures": figures,
               "min_cosine_to_model2vec": min((r.get("min_cosine_to_model2vec", 1.0) for r in runs), default=None),
               "min_cosine_to_model2vec_512": min((r.get("min_cosine_to_model2vec_512", 1.0) for r in runs), default=None),
               "share_over_token_cap": runs[0].get("share_over_token_cap") if runs else None,
               "token_cap": runs[0].get("token_cap") if runs else None,
               "peak_rss_mb": _summary([r["peak_rss_mb"] for r in runs]), "stream": stream, "cli_stream": cli,
               "profiles": profiles, "cli_files": cli_files, "cli_documents": cli_documents,
               "cpu_count": os.cpu_count()}
    report = _report(context.config, metrics)
    (context.run_dir / "report.md").write_text(report, encoding="utf-8")
    print(report)
    return metrics


_NAMES = {"classify_first_pass": "`classify`, first pass (fresh process, cold word cache)",
          "classify_warm": "`classify`, warm", "classify_document_in_context": "`classify_document` (passages in context)",
          "classify_documents_in_context": "`classify_documents` (passages in context, batched across documents)",
          "model2vec_encode_plus_head": "model2vec `StaticModel.encode` + linear head, same backbone",
          "tokenizers_batch_encode": "raw `tokenizers` batch encoding, same vocabulary",
          "regex_word_scan_1_core": "regex word scan, 1 core (ceiling)", "tfidf_plus_logreg": "TF-IDF + logistic regression",
          "minilm_plus_head": "all-MiniLM-L6-v2 (sentence-transformers) + linear head"}


def _report(config, metrics) -> str:
    runs = len(metrics["fresh_runs"])
    lines = [f"# {config['experiment']['name']}", "",
             f"Model `{metrics['model']}`; {metrics['passages']:,} White House passages (mean {metrics['mean_chars']:.0f} "
             f"characters) and the {metrics['documents']:,} documents they come from; {runs} fresh processes on "
             f"{metrics['cpu_count']} cores; median (min–max) of the runs.", "",
             "| method | passages/s | × model2vec encode, same run | share of the regex ceiling |", "|---|---|---|---|"]
    for method, figure in metrics["figures"].items():
        ratio = figure.get("vs_model2vec")
        lines.append(f"| {_NAMES[method]} | {figure['median']:,.0f} ({figure['min']:,.0f}–{figure['max']:,.0f}) | "
                     + (f"{ratio['median']:.2f} ({ratio['min']:.2f}–{ratio['max']:.2f})" if ratio else "–") + " | "
                     f"{figure['share_of_regex_ceiling']['median']:.0%} |")
    cosine = metrics["min_cosine_to_model2vec"]
    lines += ["", (f"Lowest cosine between darien_nlp's embedding and model2vec's `encode` for the same passage (2,000 "
                   f"passages), both cut at the backbone's {metrics['token_cap']} tokens: {cosine:.6f}; with model2vec at its "
                   f"default 512 tokens: {metrics['min_cosine_to_model2vec_512']:.6f} (the "
                   f"{metrics['share_over_token_cap']:.1%} of passages longer than {metrics['token_cap']} tokens differ by "
                   "what is cut). model2vec's speed above is at the same cap.")
              if cosine is not None and metrics.get("token_cap") else "",
              f"Peak RSS of a fresh run: {metrics['peak_rss_mb']['median']:.0f} MB (median)."]
    stream = metrics.get("stream")
    if stream:
        lines.append(f"Streaming {stream['passages']:,} generated passages through `classify` in batches: "
                     f"{stream['passages'] / stream['seconds']:,.0f} passages/s, peak RSS {stream['peak_rss_mb']:.0f} MB; "
                     "RSS at checkpoints: " + ", ".join(f"{c['passages']:,}: {c['rss_mb']:.0f} MB" for c in stream["checkpoints"])
                     + ".")
    cli = metrics.get("cli_stream")
    if cli:
        lines.append(f"`darien-nlp classify -` on {cli['lines']:,} piped lines: {cli['lines'] / cli['seconds']:,.0f} lines/s, "
                     f"peak RSS {cli['peak_rss_mb']:.0f} MB, exit {cli['exit_code']}; peak RSS as lines were written: "
                     + ", ".join(f"{c['lines_written']:,}: {c['peak_rss_mb']:.0f} MB" for c in cli.get("checkpoints", []))
                     + ".")
    files = metrics.get("cli_files") or []
    if files:
        base = files[0]["seconds"]
        lines.append(f"`darien-nlp classify FILE --jobs N` on {files[0]['lines']:,} lines in a file (N worker processes "
                     "classify while the parent reads and writes): "
                     + "; ".join(f"--jobs {f['jobs']}: {f['lines_per_second']:,.0f} lines/s ({base / f['seconds']:.2f}× "
                                 f"--jobs {files[0]['jobs']}), exit {f['exit_code']}" for f in files) + ".")
    documents = metrics.get("cli_documents") or []
    if documents:
        lines.append(f"`darien-nlp classify FILE --document --jobs N` on the {documents[0]['documents']:,} documents "
                     f"({documents[0]['passages']:,} passages, each read with its context window): "
                     + "; ".join(f"--jobs {d['jobs']}: {d['passages_per_second']:,.0f} passages/s, exit {d['exit_code']}"
                                 for d in documents) + ".")
    for method, rows in (metrics.get("profiles") or {}).items():
        lines += ["", f"Profile of {_NAMES[method]} (cProfile, its own fresh process, after the timed runs; the "
                      f"{len(rows)} functions with the most own time; cProfile's overhead inflates Python calls):", "",
                  "| function | calls | own s | share of own time | cumulative s |", "|---|---|---|---|---|"]
        lines += [f"| `{r['function']}` | {r['calls']:,} | {r['own_seconds']:.3f} | {r['own_share']:.0%} | "
                  f"{r['cumulative_seconds']:.3f} |" for r in rows]
    return "\n".join(lines) + "\n"


RECIPE = Recipe(
    schema={"data": {"corpora": "", "source": "corpora"}, "model": {"name": "default"},
            "benchmark": {"passages": 20_000, "repeats": 3, "fresh_runs": 3, "minilm_passages": 300,
                          "stream_passages": 1_000_000, "stream_batch": 10_000, "cli_lines": 1_000_000,
                          "timeout_s": 3000,
                          # functions listed per profile (cProfile of the first pass, a warm pass and
                          # classify_documents in one more fresh process); 0: no profile
                          "profile_top": 12,
                          # `darien-nlp classify FILE --jobs N` for each N on this many lines (0: skip)
                          "cli_file_lines": 200_000, "cli_jobs": [1, 2],
                          # `darien-nlp classify FILE --document --jobs N` on the benchmark's documents
                          "cli_documents": True}},
    run=run,
)


if __name__ == "__main__":  # the fresh processes of run()
    mode, *rest = sys.argv[1:]
    if mode == "worker":
        result = worker(rest[0], rest[1], int(rest[2]), int(rest[3]))
    elif mode == "profile":
        result = profile_worker(rest[0], rest[1], int(rest[2]))
    else:
        result = stream_worker(rest[0], int(rest[1]), int(rest[2]), rest[3])
    print(json.dumps(result))
