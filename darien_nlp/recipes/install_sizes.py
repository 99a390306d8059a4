"""Recipe ``install_sizes.v1``: the installed size of darien_nlp's core and of each extra.

For the core and for each extra it walks the dependency closure of the installed ``darien-nlp``
distribution (requirements with their markers and extras, as pip resolves them, through
:mod:`importlib.metadata`; darien-nlp's own requirements from the checkout's ``pyproject.toml``)
in the environment that runs it, and sums the files each distribution
installed (its ``RECORD``). An extra's figure is what it adds to the core. The environment must hold
the extras measured (``make install`` installs every extra but ``distill`` and ``parquet`` pulls
nothing ``dev`` lacks); a requirement that is not installed is listed, never guessed. Sizes are of
this machine's builds (torch is the CPU wheel that ``make`` installs first).
"""
from __future__ import annotations

import logging
import os
import re
from importlib import metadata
from typing import Any

from ..experiments import ConfigError, Recipe, RunContext

logger = logging.getLogger(__name__)

__all__ = ["RECIPE", "run", "closure", "installed_bytes"]


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_bytes(distribution: metadata.Distribution) -> int:
    """Bytes of the files ``distribution`` installed, from its RECORD (files that exist)."""
    total = 0
    for file in distribution.files or []:
        try:
            total += os.path.getsize(file.locate())
        except OSError:
            continue
    return total


def project_requirements(pyproject) -> list[str]:
    """The requirement strings of a ``pyproject.toml``, extras as ``; extra == "name"`` markers (the form
    installed metadata uses), so a checkout is measured by what it declares, not by an older install."""
    import tomllib

    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra, items in project.get("optional-dependencies", {}).items():
        requirements += [f'{item}; extra == "{extra}"' for item in items]
    return requirements


def closure(name: str, extras: tuple[str, ...] = (), *, requires: list[str] | None = None
            ) -> tuple[dict[str, metadata.Distribution], list[str]]:
    """Every installed distribution that ``name[extras]`` needs, and the requirements not installed.

    ``requires``: ``name``'s own requirement strings (default: its installed metadata)."""
    from packaging.requirements import Requirement

    found: dict[str, metadata.Distribution] = {}
    missing: list[str] = []
    seen: set[tuple[str, str]] = set()
    pending = [(name, extra) for extra in ("",) + tuple(extras)]
    while pending:
        dist_name, extra = pending.pop()
        if (_key(dist_name), extra) in seen:
            continue
        seen.add((_key(dist_name), extra))
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            missing.append(dist_name)
            continue
        found[_key(dist.metadata["Name"])] = dist
        own = requires if requires is not None and _key(dist_name) == _key(name) else dist.requires
        for text in own or []:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
                continue
            if requirement.marker is None and extra:
                continue  # unconditional requirements were taken with extra ""
            for wanted in ("",) + tuple(sorted(requirement.extras)):
                pending.append((requirement.name, wanted))
    return found, sorted(set(missing))


def run(context: RunContext) -> dict[str, Any]:
    config = context.config
    project = config["install"]["distribution"]
    try:
        metadata.distribution(project)
    except metadata.PackageNotFoundError as error:
        raise ConfigError(f"install.distribution: {project!r} is not installed in this environment") from error
    pyproject = context.root / "pyproject.toml"
    requires = project_requirements(pyproject) if config["install"]["from_pyproject"] and pyproject.is_file() else None
    core, core_missing = closure(project, requires=requires)
    sizes = {key: installed_bytes(dist) for key, dist in core.items()}
    rows = [{"install": "core", "packages": len(core), "MB": round(sum(sizes.values()) / 1e6, 1),
             "largest": _largest(core, sizes), "not installed here": ", ".join(core_missing)}]
    for extra in config["install"]["extras"]:
        with_extra, missing = closure(project, (extra,), requires=requires)
        added = {key: dist for key, dist in with_extra.items() if key not in core}
        for key, dist in added.items():
            sizes.setdefault(key, installed_bytes(dist))
        rows.append({"install": f"[{extra}] adds", "packages": len(added),
                     "MB": round(sum(sizes[key] for key in added) / 1e6, 1), "largest": _largest(added, sizes),
                     "not installed here": ", ".join(sorted(set(missing) - set(core_missing)))})
        logger.info("install_sizes: [%s] adds %s MB", extra, rows[-1]["MB"])
    everything = set(core)
    for extra in config["install"]["extras"]:
        everything |= set(closure(project, (extra,), requires=requires)[0])
    summary = {"rows": rows, "all_extras_mb": round(sum(sizes[key] for key in everything) / 1e6, 1)}
    report = _report(config, summary)
    (context.run_dir / "report.md").write_text(report, encoding="utf-8")
    print(report)
    return summary


def _largest(dists: dict[str, metadata.Distribution], sizes: dict[str, int], n: int = 4) -> str:
    top = sorted(dists, key=lambda key: -sizes[key])[:n]
    return ", ".join(f"{dists[key].metadata['Name']} {sizes[key] / 1e6:.0f}" for key in top)


def _report(config: dict[str, Any], summary: dict[str, Any]) -> str:
    from ..evaluate import markdown_table

    columns = ["install", "packages", "MB", "largest", "not installed here"]
    return "\n".join([
        f"# {config['experiment']['name']}", "",
        "Installed size of the core and of what each extra adds to it: the files each distribution of the "
        "dependency closure installed (RECORD), in the environment that ran this (`make install`: torch is the CPU "
        "wheel). `largest`: the biggest distributions, MB.", "",
        markdown_table(summary["rows"], columns), "",
        f"Core and every extra above together: {summary['all_extras_mb']:,} MB.", ""])


RECIPE = Recipe(
    # from_pyproject: take darien-nlp's own requirements from the checkout's pyproject.toml (an editable
    # install's metadata is as old as its last install); their dependencies come from installed metadata
    schema={"install": {"distribution": "darien-nlp", "from_pyproject": True,
                        "extras": ["topics", "minilm", "multilingual", "parquet", "dask", "dev"]}},
    run=run,
)
