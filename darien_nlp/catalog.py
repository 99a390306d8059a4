"""What models are installed: ``darien-nlp models list`` and ``darien-nlp models info NAME``.

Each folder of :func:`darien_nlp.embed.static.models_dir` (or a given folder) with a
``manifest.json`` is a model. Its manifest is verified (every file's sha256); its kind,
labels and metrics come from ``config.json`` or ``ensemble.json``; its training sources and
licences from the model card (``README.md``).

>>> rows = list_models()  # doctest: +SKIP
>>> rows[0]["name"], rows[0]["verified"]  # doctest: +SKIP
('policy-bilingual', True)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["list_models", "model_info", "repin_models"]


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "manifest.json").is_file()) if root.is_dir() else []


def _summary(folder: Path) -> dict[str, Any]:
    from .persistence import ModelIntegrityError, verify_manifest

    row: dict[str, Any] = {"name": folder.name, "path": str(folder)}
    try:
        manifest = verify_manifest(folder)
        row["verified"], row["problem"] = True, None
    except (ModelIntegrityError, OSError, ValueError) as error:
        manifest = {}
        row["verified"], row["problem"] = False, str(error)
    files = manifest.get("files", {}) if isinstance(manifest, dict) else {}
    row["files"] = files
    row["size_mb"] = round(sum((folder / name).stat().st_size for name in files if (folder / name).is_file()) / 1e6, 2)
    meta = {}
    for name in ("config.json", "ensemble.json"):
        if (folder / name).is_file():
            try:
                meta = json.loads((folder / name).read_text(encoding="utf-8"))
            except ValueError:
                meta = {}
            row["kind"] = "ensemble" if name == "ensemble.json" else ("classifier" if "labels" in meta else "static backbone")
            break
    else:
        row["kind"] = "unknown"
    row["labels"] = meta.get("labels")
    metrics = meta.get("metrics") or {}
    row["test_macro_f1"] = (metrics.get("test") or {}).get("macro_f1")
    row["out_of_domain"] = {set_name: {"macro_f1": result.get("macro_f1"), "n": result.get("n"),
                                       "labelled_share": result.get("labelled_share")}
                            for set_name, result in (metrics.get("out_of_domain") or {}).items()}
    row["experiment"] = meta.get("experiment")
    return row


def list_models(root: str | Path | None = None) -> list[dict[str, Any]]:
    """One summary per model folder of ``root`` (default: :func:`models_dir`), manifest verified."""
    from .embed.static import models_dir

    return [_summary(folder) for folder in _folders(Path(root) if root is not None else models_dir())]


def model_info(name: str | Path) -> dict[str, Any]:
    """The summary of one model (a name in the models folder, or a folder path) plus its card and its
    card's data section (training sources and their licences)."""
    from .api import default_model_path

    folder = default_model_path(name)
    if not (folder / "manifest.json").is_file():
        raise FileNotFoundError(f"{str(folder)!r} is not a model folder (no manifest.json)")
    info = _summary(folder)
    card = (folder / "README.md").read_text(encoding="utf-8") if (folder / "README.md").is_file() else ""
    info["card"] = card
    info["data"] = _section(card, ("## Data", "## Sources", "## Training data", "## Licen"))
    return info


def _section(card: str, headings: tuple[str, ...]) -> str:
    """The text under the first heading that starts with one of ``headings`` (empty if none)."""
    lines = card.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(headings):
            body = []
            for following in lines[i + 1:]:
                if following.startswith("## "):
                    break
                body.append(following)
            return "\n".join(body).strip()
    return ""


def repin_models(root: str | Path | None = None) -> list[str]:
    """Record the current manifest hash of every static backbone and ensemble member that the models in
    ``root`` (default: :func:`darien_nlp.embed.static.models_dir`) pin, after a backbone was rebuilt
    on purpose (``experiments/chunk_table_minilm.toml``, ``distill_static.toml``).  Each backbone and
    member is verified against its own manifest first, so a corrupted one is never pinned; weights are
    untouched.  Returns the names of the folders whose pins changed (their manifests are rewritten)."""
    from .embed.static import models_dir
    from .persistence import read_json, sha256_file, verify_manifest, write_json, write_manifest

    root = Path(root) if root is not None else models_dir()
    changed = []

    def pin(node, found: list) -> None:
        if isinstance(node, dict):
            if node.get("name") == "static.v1" and isinstance(node.get("model"), str):
                backbone = root / node["model"]
                verify_manifest(backbone)
                digest = sha256_file(backbone / "manifest.json")
                if node.get("manifest_sha256") != digest:
                    node["manifest_sha256"] = digest
                    found.append(node["model"])
            for value in node.values():
                pin(value, found)
        elif isinstance(node, list):
            for value in node:
                pin(value, found)

    folders = _folders(root)
    for folder in folders:  # classifiers first: an ensemble pins its members' manifests, which this rewrites
        if not (folder / "config.json").is_file():
            continue
        config = read_json(folder, "config.json")
        found: list = []
        pin(config.get("embedder"), found)
        pin(config.get("scope"), found)
        if found:
            write_json(folder, "config.json", config)
            write_manifest(folder)
            changed.append(folder.name)
    for folder in folders:
        if not (folder / "ensemble.json").is_file():
            continue
        ensemble = read_json(folder, "ensemble.json")
        moved = False
        for entry in ensemble.get("members", []):
            member = Path(entry["model"]) if Path(entry["model"]).is_absolute() else root / entry["model"]
            verify_manifest(member)
            digest = sha256_file(member / "manifest.json")
            if entry.get("manifest_sha256") != digest:
                entry["manifest_sha256"], moved = digest, True
        if moved:
            write_json(folder, "ensemble.json", ensemble)
            write_manifest(folder)
            changed.append(folder.name)
    return changed
