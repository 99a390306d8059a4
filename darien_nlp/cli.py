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

    parser = argparse.ArgumentParser(
        prog="darien-nlp",
        description="Label migration-policy passages (enforcement, lawful_pathways, humanitarian, development, "
                    "environment) in English and Spanish releases, find their topics, and run the experiments "
                    "that reproduce every reported figure. Exit codes: 0 success, 1 the run failed, 2 bad "
                    "arguments or input.")
    parser.add_argument("--version", action="version", version=f"darien-nlp {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="the main job: classify every passage of a folder of releases", epilog="example:\n  darien-nlp demo seeds --include '*.txt'", formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("path", nargs="?", default="seeds", help="file or folder of releases (default: seeds)")
    demo.add_argument("--model", default="default", help="model name in models/ or a model folder")
    demo.add_argument("--top", type=int, default=3, help="strongest passages shown per label and document")
    demo.add_argument("--include", action="append", default=None, metavar="GLOB",
                      help="only files matching this pattern (repeatable), e.g. --include '*.txt'")

    seg = commands.add_parser("segment", help="load a corpus and write its passages as JSON Lines", epilog="example:\n  darien-nlp segment corpus.jsonl.gz -o passages.jsonl", formatter_class=argparse.RawDescriptionHelpFormatter)
    seg.add_argument("path")
    seg.add_argument("--max-chars", type=int, default=600)
    seg.add_argument("--all-kinds", action="store_true", help="also write headings, datelines, boilerplate")
    seg.add_argument("--on-error", choices=["raise", "skip"], default="raise")
    seg.add_argument("--output", "-o", default="-", help="output file (default: stdout)")

    classify = commands.add_parser(
        "classify", help="label texts from files, folders or stdin, streamed (JSONL, CSV or Parquet out)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Label every text (a line, a JSONL/CSV/Parquet record) or, for folders and .md/.html files "
                    "and with --document, every passage. One output record per input record, in order; a record "
                    "that cannot be read gets an error record in its place and the exit status is 1 after the rest "
                    "is processed (2: usage).",
        epilog="examples:\n"
               "  darien-nlp classify texts.txt                         # one text per line -> JSONL on stdout\n"
               "  cat texts.txt | darien-nlp classify - > labels.jsonl\n"
               "  darien-nlp classify news.jsonl --text-field body --id-field url -o labels.csv\n"
               "  darien-nlp classify releases/ --output passages.parquet  # a folder: every passage, in context\n"
               "  darien-nlp classify articles.csv --document            # long texts segmented into passages\n"
               "  darien-nlp classify big.jsonl --jobs 2 -o labels.parquet  # two worker processes classify")
    classify.add_argument("inputs", nargs="*", default=["-"], metavar="PATH",
                          help="files or folders; '-' or nothing: stdin")
    classify.add_argument("--format", choices=("lines", "jsonl", "csv", "parquet", "documents"), default=None,
                          help="input format (default: from the suffix; stdin: lines)")
    classify.add_argument("--text-field", default="text", help="JSONL/CSV/Parquet field holding the text (default: text)")
    classify.add_argument("--id-field", default=None, help="field copied to the output as id (default: 'id' if present)")
    classify.add_argument("--document", action="store_true",
                          help="segment each record's text into passages (each read with its context)")
    classify.add_argument("--output", "-o", default="-", help="output file (default: stdout)")
    classify.add_argument("--output-format", choices=("jsonl", "csv", "parquet"), default=None,
                          help="default: from --output's suffix, else jsonl")
    classify.add_argument("--details", action="store_true",
                          help="also write each text's language, mixed_language and supported_language (detected "
                               "offline; slower), its scope score and whether it was truncated")
    classify.add_argument("--model", default="default",
                          help="a model name (see 'darien-nlp models list') or folder (default: the default model)")
    classify.add_argument("--threshold", type=float, default=None,
                          help="one cut in [0, 1] for every label (default: the model's own per-label thresholds)")
    classify.add_argument("--no-progress", action="store_true", help="no progress line (shown only on a terminal)")
    classify.add_argument("--jobs", "-j", type=int, default=1,
                          help="worker processes that classify while this one reads and writes (default 1; "
                               "each loads the model, about 250 MB)")

    experiment = commands.add_parser("experiment", help="run experiment configs", epilog="example:\n  darien-nlp experiment run experiments/train_policy_static.toml --set output.model_dir=/tmp/m", formatter_class=argparse.RawDescriptionHelpFormatter)
    experiment_commands = experiment.add_subparsers(dest="experiment_command", required=True)
    run = experiment_commands.add_parser("run", help="run one experiment TOML file", epilog="example:\n  darien-nlp experiment run experiments/evaluate_ood.toml --set loco.run=false", formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("config")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value, e.g. --set seed=7 --set data.corpora=/data")
    run.add_argument("--results", default="results", help="results folder (default: results)")
    run.add_argument("--no-progress", action="store_true")
    runs = experiment_commands.add_parser("list", help="list run folders with their status (complete, failed, "
                                                       "running, interrupted); exit 1 if any failed or was interrupted",
                                          epilog="example:\n  darien-nlp experiment list train_policy_static",
                                          formatter_class=argparse.RawDescriptionHelpFormatter)
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
    annotate = commands.add_parser("annotate", help="draw passages to annotate; import an annotator's labels", epilog="example:\n  darien-nlp annotate draw --round 8 --seed 41 --out /tmp/round8", formatter_class=argparse.RawDescriptionHelpFormatter)
    annotate_commands = annotate.add_subparsers(dest="annotate_command", required=True)
    draw = annotate_commands.add_parser("draw", help="draw an annotation round into chunk files (outside the repo)", epilog="example:\n  darien-nlp annotate draw --round 8 --seed 41 --out /tmp/round8", formatter_class=argparse.RawDescriptionHelpFormatter)
    draw.add_argument("--round", type=int, required=True, help="1-6 redraw the committed rounds; 7 the out-of-domain evaluation round; 8-10 the new corpora's training rounds; 11+ a new round")
    draw.add_argument("--seed", type=int, default=None, help="seed of a new round (rounds 1-6 have their own)")
    draw.add_argument("--out", required=True, help="folder for chunkN.jsonl and map.json (holds corpus text)")
    draw.add_argument("--corpora", default=None, help="corpora folder (default: DARIEN_NLP_CORPORA)")
    draw.add_argument("--chunk-size", type=int, default=200)
    draw.add_argument("--annotations", default="experiments/annotations")
    draw.add_argument("--evaluation", default="experiments/annotations/ood",
                      help="evaluation set whose documents a training round of the new corpora (8-10) skips whole")
    imp = annotate_commands.add_parser("import", help="append an annotator's {aid, labels} lines to a pass file", epilog="example:\n  darien-nlp annotate import --task /tmp/round8 --pass b labels.jsonl", formatter_class=argparse.RawDescriptionHelpFormatter)
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
    listing = model_commands.add_parser("list", help="every model found, its kind, figures and whether its files verify",
                                        epilog="example:\n  darien-nlp models list --json",
                                        formatter_class=argparse.RawDescriptionHelpFormatter)
    listing.add_argument("--dir", default=None, help="a models folder (default: where darien_nlp looks)")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    repin = model_commands.add_parser(
        "repin", help="after rebuilding a backbone on purpose: record its new manifest hash in the models that pin it",
        epilog="example:\n  darien-nlp experiment run experiments/chunk_table_minilm.toml && darien-nlp models repin",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    repin.add_argument("--dir", default=None, help="a models folder (default: where darien_nlp looks)")
    info = model_commands.add_parser("info", help="one model: labels, metrics, sources and licences, hashes, card",
                                     epilog="example:\n  darien-nlp models info policy-bilingual",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    info.add_argument("name", help="a model name (policy-static) or a model folder path")
    info.add_argument("--json", action="store_true", help="JSON instead of text")
    sync = commands.add_parser("sync-readme", help="refresh README result blocks from the latest runs", epilog="example:\n  darien-nlp sync-readme --readme docs/RELIABILITY.md", formatter_class=argparse.RawDescriptionHelpFormatter)
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
    except BrokenPipeError:  # the reader of stdout stopped early (``| head``): stop quietly
        return _reader_gone()
    except (OSError, ValueError, TypeError) as error:  # a missing, unreadable or wrong-kind path included
        print(f"darien-nlp: {error}", file=sys.stderr)
        return 2
    except ImportError as error:
        print(f"darien-nlp: {error}", file=sys.stderr)
        return 1
    return 2


def _reader_gone() -> int:
    """The reader of stdout stopped early (``| head``): point stdout at /dev/null, so Python's last flush
    raises nothing more, and exit 0 with no message, as a pipeline that asked for less expects."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no real file (a test's capture): nothing will flush into a pipe
        pass
    return 0


def _models(args) -> int:
    """``models list`` / ``models info``: exit 0 when every model shown verifies, 1 when one does not."""
    from .catalog import list_models, model_info, repin_models

    if args.models_command == "repin":
        changed = repin_models(args.dir)
        print(f"re-pinned: {', '.join(changed)}" if changed else "every pin already matches")
        return 0
    if args.models_command == "list":
        rows = list_models(args.dir)
        if args.json:
            print(json.dumps([{k: v for k, v in row.items() if k != "files"} for row in rows], indent=1))
        else:
            from .api import DEFAULT_MODEL

            print(f"{'model':34} {'kind':16} {'verified':9} {'MB':>7} {'test F1':>8}  out-of-domain macro-F1")
            for row in rows:
                name = row["name"] + (" (default)" if row["name"] == DEFAULT_MODEL else "")
                ood = ", ".join(f"{k} {v['macro_f1']:.3f}" for k, v in row["out_of_domain"].items()
                                if v.get("macro_f1") is not None and "test" in k)
                test = "" if row["test_macro_f1"] is None else f"{row['test_macro_f1']:.3f}"
                print(f"{name:34} {row['kind']:16} {'yes' if row['verified'] else 'NO':9} {row['size_mb']:7.1f} "
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
    from .data import GoldDataError, read_annotations, record_doc, reference_key, resolve_corpora
    from .sampling import (DEFAULT_SIZES, EVAL_ROUNDS, ROUNDS, TRANSFER_ROUNDS, TRANSFER_SUFFIX, draw_annotation_sample,
                           pass_records, round_exclusions, transfer_exclusions, write_annotation_task)

    folder = Path(args.annotations)
    pass_files = sorted((folder / "passes").glob("*.jsonl"))
    if args.annotate_command == "draw":
        annotated = [r for path in pass_files for r in read_annotations(path)]
        options = {"exclude": round_exclusions(annotated, args.round)}
        if args.round in TRANSFER_ROUNDS:
            evaluation = sorted((Path(args.evaluation) / "passes").glob("*.jsonl"))
            if not evaluation:
                print(f"darien-nlp: round {args.round} skips the documents of the evaluation set, and "
                      f"{args.evaluation}/passes holds no pass file", file=sys.stderr)
                return 2
            options = {"exclude": transfer_exclusions(annotated, args.round),
                       "exclude_docs": {(r["corpus"], record_doc(r)) for path in evaluation for r in read_annotations(path)},
                       "stratum_suffix": TRANSFER_SUFFIX[args.round]}
        known = {**ROUNDS, **EVAL_ROUNDS, **TRANSFER_ROUNDS}
        if args.round in known:
            seed, sizes = known[args.round]
        elif args.seed is None:
            print("darien-nlp: a new round needs --seed", file=sys.stderr)
            return 2
        else:
            seed, sizes = args.seed, DEFAULT_SIZES
        records = draw_annotation_sample(resolve_corpora(args.corpora), seed=seed, sizes=sizes, **options)
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
    rebuild = {"experiments/annotations": "gold_data", "experiments/annotations/ood": "ood_gold",
               "experiments/annotations/transfer": "transfer_gold"}.get(Path(args.annotations).as_posix().rstrip("/"))
    print(f"{len(records)} passages appended to {target}; rebuild with "
          + (f"darien-nlp experiment run experiments/{rebuild}.toml" if rebuild else "the gold experiment of that folder"))
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
        from .persistence import atomic_path

        with atomic_path(args.output) as partial, open(partial, "w", encoding="utf-8") as out:
            _write_passages(corpus, out, args, segment)
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


def _classify(args) -> int:
    """Stream every input through the model (see :mod:`darien_nlp.pipeline`)."""
    from .api import _check_threshold, load_model
    from concurrent.futures import BrokenExecutor

    from .pipeline import ClassifyRun, Writer, output_format

    _check_threshold(args.threshold)
    for path in args.inputs:
        if path != "-" and not Path(path).exists():
            raise FileNotFoundError(f"classify: no such file or folder: {path!r}")
    if args.output != "-":
        for path in args.inputs:
            if path != "-":
                _check_output_outside(Path(args.output), Path(path))
    if args.jobs < 1:
        raise ValueError(f"classify: --jobs must be >= 1. Got {args.jobs} instead.")
    model = load_model(args.model)  # a bad --model fails before any input is read
    run = ClassifyRun(model=model, threshold=args.threshold, text_field=args.text_field, id_field=args.id_field,
                      jobs=args.jobs, model_name=args.model, details=args.details,
                      document=args.document, progress=sys.stderr.isatty() and not args.no_progress)
    try:
        with Writer(args.output, output_format(args.output, args.output_format), details=args.details) as writer:
            return run.run(args.inputs, args.format, writer)
    except KeyboardInterrupt:
        print(f"\ndarien-nlp: interrupted after {run.records:,} records"
              + ("" if args.output == "-" else f"; {args.output} was not written"), file=sys.stderr)
        return 130
    except BrokenExecutor as error:  # a --jobs worker died (killed, out of memory): no output that looks complete
        print(f"darien-nlp: a classify worker process died ({error or type(error).__name__}) after {run.records:,} "
              "records" + ("" if args.output == "-" else f"; {args.output} was not written"), file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        return _reader_gone()


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
