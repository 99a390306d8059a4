"""The ``darien-nlp`` command: argument parsing, exit codes and progress only.

Exit codes: 0 success, 1 the run failed, 2 bad arguments or input.

>>> main(["--version"])  # doctest: +SKIP
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

__all__ = ["main"]

logger = logging.getLogger("darien_nlp.cli")


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="darien-nlp", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"darien-nlp {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="the main job: classify every passage of a folder of releases")
    demo.add_argument("path", nargs="?", default="seeds", help="file or folder of releases (default: seeds)")
    demo.add_argument("--model", default="default", help="model name in models/ or a model folder")
    demo.add_argument("--top", type=int, default=3, help="strongest passages shown per label and document")
    demo.add_argument("--include", action="append", default=None, metavar="GLOB",
                      help="only files matching this pattern (repeatable), e.g. --include '*.txt'")

    seg = commands.add_parser("segment", help="load a corpus and write its passages as JSON Lines")
    seg.add_argument("path")
    seg.add_argument("--max-chars", type=int, default=600)
    seg.add_argument("--all-kinds", action="store_true", help="also write headings, datelines, boilerplate")
    seg.add_argument("--on-error", choices=["raise", "skip"], default="raise")
    seg.add_argument("--output", "-o", default="-", help="output file (default: stdout)")

    classify = commands.add_parser("classify", help="label texts (one per line) from a file or stdin")
    classify.add_argument("input", nargs="?", default="-")
    classify.add_argument("--model", default="default")
    classify.add_argument("--threshold", type=float, default=None)

    experiment = commands.add_parser("experiment", help="run experiment configs")
    experiment_commands = experiment.add_subparsers(dest="experiment_command", required=True)
    run = experiment_commands.add_parser("run", help="run one experiment TOML file")
    run.add_argument("config")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value, e.g. --set seed=7 --set data.corpora=/data")
    run.add_argument("--results", default="results", help="results folder (default: results)")
    run.add_argument("--no-progress", action="store_true")
    runs = experiment_commands.add_parser("list", help="list run folders with their status (complete, failed, "
                                                       "running, interrupted); exit 1 if any failed or was interrupted")
    runs.add_argument("name", nargs="?", default=None, help="one experiment's runs (default: all)")
    runs.add_argument("--results", default="results", help="results folder (default: results)")
    report = commands.add_parser(
        "report", help="write a self-contained HTML page per experiment run (and an index)",
        description="Write report.html into each run folder under RESULTS (a run folder, an experiment's folder, "
                    "or the results root) and index.html beside them. No network needed to open them. "
                    "Example: darien-nlp report results/topics_migration_subset --latest")
    report.add_argument("results", help="a run folder, an experiment folder, or the results root")
    report.add_argument("--corpora", default=None, help="corpora folder, to show passages' text (default: DARIEN_NLP_CORPORA)")
    report.add_argument("--latest", action="store_true", help="only each experiment's latest run")
    annotate = commands.add_parser("annotate", help="draw passages to annotate; import an annotator's labels")
    annotate_commands = annotate.add_subparsers(dest="annotate_command", required=True)
    draw = annotate_commands.add_parser("draw", help="draw an annotation round into chunk files (outside the repo)")
    draw.add_argument("--round", type=int, required=True, help="1-6 redraw the committed rounds; 7 the out-of-domain evaluation round; 8+ a new round")
    draw.add_argument("--seed", type=int, default=None, help="seed of a new round (rounds 1-6 have their own)")
    draw.add_argument("--out", required=True, help="folder for chunkN.jsonl and map.json (holds corpus text)")
    draw.add_argument("--corpora", default=None, help="corpora folder (default: DARIEN_NLP_CORPORA)")
    draw.add_argument("--chunk-size", type=int, default=200)
    draw.add_argument("--annotations", default="experiments/annotations")
    imp = annotate_commands.add_parser("import", help="append an annotator's {aid, labels} lines to a pass file")
    imp.add_argument("labels", nargs="+", help="JSON Lines files of {\"aid\": ..., \"labels\": [...]}")
    imp.add_argument("--task", required=True, help="the folder written by 'annotate draw' (its map.json)")
    imp.add_argument("--pass", dest="pass_name", required=True, help="pass name, e.g. a, b, c")
    imp.add_argument("--annotations", default="experiments/annotations")

    models = commands.add_parser(
        "models", help="the installed models: list them, or show one (manifest verified)",
        description="List the models darien_nlp finds (DARIEN_NLP_MODELS, a checkout's models/, or the ones an "
                    "installed wheel carries) with their manifests verified, or show one model's labels, metrics, "
                    "training sources with licences, file hashes and card.",
        epilog="examples:\n  darien-nlp models list\n  darien-nlp models info policy-static\n"
               "  darien-nlp models list --json | jq .",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    model_commands = models.add_subparsers(dest="models_command", required=True)
    listing = model_commands.add_parser("list", help="every model found, its kind, figures and whether its files verify")
    listing.add_argument("--dir", default=None, help="a models folder (default: where darien_nlp looks)")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    info = model_commands.add_parser("info", help="one model: labels, metrics, sources and licences, hashes, card")
    info.add_argument("name", help="a model name (policy-static) or a model folder path")
    info.add_argument("--json", action="store_true", help="JSON instead of text")
    sync = commands.add_parser("sync-readme", help="refresh README result blocks from the latest runs")
    sync.add_argument("--readme", default="README.md")
    sync.add_argument("--results", default="results")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``darien-nlp`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * args.verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "segment":
            return _segment(args)
        if args.command == "classify":
            return _classify(args)
        if args.command == "annotate":
            return _annotate(args)
        if args.command == "report":
            from .report import write_reports

            for page in write_reports(args.results, corpora=args.corpora, latest_only=args.latest):
                print(page)
            return 0
        if args.command == "models":
            return _models(args)
        if args.command == "sync-readme":
            from .experiments import sync_readme

            for path in sync_readme(args.readme, args.results):
                print(f"README block from {path}")
            return 0
        if args.command == "experiment" and args.experiment_command == "list":
            from .experiments import list_runs

            rows = list_runs(args.results, args.name)
            for row in rows:
                extra = f"  {row['error']}" if row.get("error") else ""
                print(f"{row['experiment']}/{row['run']}  {row['status']}{extra}")
            return 1 if any(row["status"] in ("failed", "interrupted") for row in rows) else 0
        if args.command == "experiment":
            from .experiments import ConfigError, run_experiment

            try:
                result = run_experiment(args.config, overrides=args.set, results_root=args.results,
                                        progress=not args.no_progress)
            except ConfigError as error:
                print(f"darien-nlp: {error}", file=sys.stderr)
                return 2
            print(f"results written to {result}")
            return 0
    except (OSError, ValueError, TypeError) as error:  # a missing, unreadable or wrong-kind path included
        print(f"darien-nlp: {error}", file=sys.stderr)
        return 2
    except ImportError as error:
        print(f"darien-nlp: {error}", file=sys.stderr)
        return 1
    return 2


def _models(args) -> int:
    """``models list`` / ``models info``: exit 0 when every model shown verifies, 1 when one does not."""
    from .catalog import list_models, model_info

    if args.models_command == "list":
        rows = list_models(args.dir)
        if args.json:
            print(json.dumps([{k: v for k, v in row.items() if k != "files"} for row in rows], indent=1))
        else:
            print(f"{'model':28} {'kind':16} {'verified':9} {'MB':>7} {'test F1':>8}  out-of-domain macro-F1")
            for row in rows:
                ood = ", ".join(f"{k} {v['macro_f1']:.3f}" for k, v in row["out_of_domain"].items()
                                if v.get("macro_f1") is not None and "test" in k)
                test = "" if row["test_macro_f1"] is None else f"{row['test_macro_f1']:.3f}"
                print(f"{row['name']:28} {row['kind']:16} {'yes' if row['verified'] else 'NO':9} {row['size_mb']:7.1f} "
                      f"{test:>8}  {ood}")
            if not rows:
                print("no models found", file=sys.stderr)
        return 0 if all(row["verified"] for row in rows) else 1
    info = model_info(args.name)
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        print(f"{info['name']} ({info['kind']}) at {info['path']}")
        print(f"manifest: {'verified' if info['verified'] else 'FAILED: ' + str(info['problem'])}")
        print(f"labels: {', '.join(info['labels'] or []) or '-'}")
        if info["test_macro_f1"] is not None:
            print(f"in-domain test macro-F1: {info['test_macro_f1']:.3f}")
        for set_name, result in info["out_of_domain"].items():
            figure = "" if set_name == "out of scope" else f"macro-F1 {result['macro_f1']:.3f}, "
            print(f"{set_name}: {figure}labelled share {result['labelled_share']:.3f} ({result['n']} passages)")
        print("training data and licences:", info["data"] or "(the card names none)")
        print("files (sha256):")
        for name, digest in info["files"].items():
            print(f"  {name}  {digest}")
        print()
        print(info["card"])
    return 0 if info["verified"] else 1


def _annotate(args) -> int:
    from .data import GoldDataError, read_annotations, reference_key, resolve_corpora
    from .sampling import DEFAULT_SIZES, EVAL_ROUNDS, ROUNDS, draw_annotation_sample, pass_records, round_exclusions, write_annotation_task

    folder = Path(args.annotations)
    pass_files = sorted((folder / "passes").glob("*.jsonl"))
    if args.annotate_command == "draw":
        annotated = [r for path in pass_files for r in read_annotations(path)]
        if args.round in ROUNDS or args.round in EVAL_ROUNDS:
            seed, sizes = {**ROUNDS, **EVAL_ROUNDS}[args.round]
        elif args.seed is None:
            print("darien-nlp: a new round needs --seed", file=sys.stderr)
            return 2
        else:
            seed, sizes = args.seed, DEFAULT_SIZES
        records = draw_annotation_sample(resolve_corpora(args.corpora), seed=seed, sizes=sizes,
                                         exclude=round_exclusions(annotated, args.round))
        paths = write_annotation_task(records, args.out, chunk_size=args.chunk_size, prefix=f"r{args.round}-")
        print(f"{len(records)} passages in {len(paths)} chunks under {args.out} (holds corpus text: never commit it)")
        return 0
    task = json.loads((Path(args.task) / "map.json").read_text(encoding="utf-8"))
    labels: dict[str, list[str]] = {}
    for path in args.labels:
        for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                    labels[row["aid"]] = row["labels"]
                except (json.JSONDecodeError, KeyError, TypeError) as error:
                    raise GoldDataError(f"{path}:{number}: not an {{aid, labels}} line ({error})") from error
    records = pass_records(task, labels, args.pass_name)
    target = folder / "passes" / f"{args.pass_name}.jsonl"
    done = {reference_key(r) for r in read_annotations(target)} if target.is_file() else set()
    twice = [r for r in records if reference_key(r) in done]
    if twice:
        raise GoldDataError(f"pass {args.pass_name!r} already labels {len(twice)} of these passages "
                            f"(first: doc {twice[0]['doc']} {twice[0]['start']}-{twice[0]['end']}); nothing written")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(records)} passages appended to {target}; rebuild with "
          "darien-nlp experiment run experiments/gold_data.toml")
    return 0


def _segment(args) -> int:
    from .corpus import load_corpus, segment

    if args.output != "-":
        _check_output_outside(Path(args.output), Path(args.path))
    corpus = load_corpus(args.path, on_error=args.on_error)
    if args.output == "-":
        _write_passages(corpus, sys.stdout, args, segment)
    else:
        # Written beside the target and renamed at the end: an interrupted or failed run leaves the old file.
        target = Path(args.output)
        partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
        try:
            with open(partial, "w", encoding="utf-8") as out:
                _write_passages(corpus, out, args, segment)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    print(corpus.report.summary(), file=sys.stderr)
    return 0


def _write_passages(corpus, out, args, segment) -> None:
    for document in corpus:
        for passage in segment(document, max_chars=args.max_chars, keep_all=args.all_kinds):
            out.write(json.dumps(passage.to_dict(), ensure_ascii=False) + "\n")


def _check_output_outside(output: Path, source: Path) -> None:
    """Refuse an output that is the input file or lies inside the input folder (it would be read as input)."""
    output, source = output.resolve(), source.resolve()
    if output == source:
        raise ValueError(f"--output {output} is the input itself; write the passages to another file")
    if source.is_dir() and source in output.parents:
        raise ValueError(f"--output {output} lies inside the input folder {source}, which would read its own "
                         "output; write it outside the folder")


#: Lines longer than this (bytes) are cut: a model reads at most a few thousand characters of a text.
MAX_LINE_BYTES = 1 << 20
#: Texts classified at a time: memory stays flat however long the input.
CLASSIFY_BATCH = 1000


def _lines(handle, name: str):
    """Yield ``(line number, text or None, problem or None)`` from a binary handle, one line at a time.

    A line that is not UTF-8 gives ``None`` and the reason; a line over :data:`MAX_LINE_BYTES` keeps its
    first part (the rest is read and dropped, so memory stays bounded)."""
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES)
        if not raw:
            return
        number += 1
        problem = None
        if not raw.endswith(b"\n") and len(raw) == MAX_LINE_BYTES:
            problem = f"longer than {MAX_LINE_BYTES} bytes; its first {MAX_LINE_BYTES} bytes were read"
            while True:  # drop the rest of the line
                rest = handle.readline(MAX_LINE_BYTES)
                if not rest or rest.endswith(b"\n"):
                    break
            raw = raw[: raw.rfind(b" ") + 1 or len(raw)]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            if problem:  # the cut may have split a character
                text = raw.decode("utf-8", errors="ignore")
            else:
                yield number, None, f"{name} line {number} is not valid UTF-8 ({error.reason} at byte {error.start})"
                continue
        yield number, text.rstrip("\r\n").removeprefix("\ufeff") if number == 1 else text.rstrip("\r\n"), problem


def _classify(args) -> int:
    """One JSON line per input line, in order, classified in batches; a line that cannot be read gets an
    ``error`` record in its place (exit status 1 at the end), so no line is lost or shifted."""
    from .api import _check_threshold, classify, load_model

    _check_threshold(args.threshold)
    name = "stdin" if args.input == "-" else args.input
    if args.input != "-" and Path(args.input).is_dir():
        raise ValueError(f"{args.input} is a folder; classify reads one text per line from a file or stdin "
                         "(for a folder of releases use: darien-nlp demo FOLDER)")
    model = load_model(args.model)  # a bad --model fails before any input is read
    handle = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")
    failures = 0

    def flush(batch):
        texts = [text for _, text, _ in batch if text is not None]
        predictions = iter(classify(texts, model=model, threshold=args.threshold)) if texts else iter(())
        for number, text, problem in batch:
            if text is None:
                print(json.dumps({"line": number, "error": problem}))
                continue
            prediction = next(predictions)
            record = {"labels": list(prediction.labels), "scores": {k: round(v, 4) for k, v in prediction.scores.items()}}
            if problem:
                record["warning"] = problem
            print(json.dumps(record))
        sys.stdout.flush()

    with handle:
        batch = []
        for item in _lines(handle, name):
            if item[1] is None:
                failures += 1
                print(f"darien-nlp: {item[2]}", file=sys.stderr)
            batch.append(item)
            if len(batch) >= CLASSIFY_BATCH:
                flush(batch)
                batch = []
        flush(batch)
    return 1 if failures else 0


def _demo(args) -> int:
    from .corpus import load_corpus

    corpus = load_corpus(args.path, on_error="skip", include=args.include)
    try:
        from .api import classify_document, default_model_path

        model_dir = default_model_path(args.model)
    except (ImportError, FileNotFoundError) as error:
        if args.model != "default":  # a model the user named and that is not there is an error, not a fallback
            raise FileNotFoundError(f"--model {args.model}: {error}") from error
        classify_document = None
        print(f"(no classifier available: {error}; showing segmentation only)")
    for document in corpus:
        print(f"\n== {document.doc_id}  {document.title or '(no title)'}  {document.date or '(no date)'}")
        if classify_document is None:
            from .corpus import segment

            passages = segment(document)
            print(f"   {len(passages)} passages, {len(document.text):,} characters")
            for passage in passages[: args.top]:
                print(f"   - {passage.text[:100]}")
            continue
        result = classify_document(document, model=model_dir)
        shares = ", ".join(f"{label} {share:.2f}" for label, share in result.label_shares.items())
        print(f"   {len(result.passages)} passages; share of passages per label: {shares}")
        for label, strongest in result.strongest.items():
            for passage, score in strongest[: args.top]:
                print(f"   [{label} {score:.2f}] {passage.text[:110]}")
    print(f"\n{corpus.report.summary()}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
