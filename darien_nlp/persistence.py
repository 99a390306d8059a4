"""Saving and loading model folders without pickle: safetensors + JSON + a hash manifest.

A model folder holds arrays in ``*.safetensors``, everything else in JSON,
and ``manifest.json`` with the sha256 of every other file.  Loading checks
the manifest first: a missing, truncated or changed file is refused.

>>> import tempfile, numpy as np
>>> folder = tempfile.mkdtemp()
>>> save_arrays(folder, "head.safetensors", {"w": np.ones(2, dtype=np.float32)})
>>> write_json(folder, "config.json", {"a": 1}); _ = write_manifest(folder)
>>> verify_manifest(folder)["files"]["config.json"][:8] == sha256_file(f"{folder}/config.json")[:8]
True
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

__all__ = ["ModelIntegrityError", "ModelLayout", "save_model", "load_model", "read_model_folder", "sha256_file", "write_manifest", "verify_manifest",
           "save_arrays", "load_arrays", "write_json", "read_json", "MANIFEST"]

MANIFEST = "manifest.json"


class ModelIntegrityError(ValueError):
    """A model folder is incomplete or does not match its manifest."""


@dataclass(frozen=True)
class ModelLayout:
    """The files a saved :class:`~darien_nlp.classifier.PolicyClassifier` folder holds."""

    config: str = "config.json"
    head: str = "head.safetensors"
    embedder_state: str = "embedder.safetensors"
    card: str = "README.md"
    manifest: str = MANIFEST

    def required(self) -> tuple[str, ...]:
        return (self.config, self.head, self.manifest)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(folder: str | Path, name: str, data: Any) -> None:
    """Write ``data`` as indented, key-sorted UTF-8 JSON (stable bytes, stable hashes)."""
    Path(folder, name).write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                                  encoding="utf-8")


def read_json(folder: str | Path, name: str) -> Any:
    path = Path(folder, name)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ModelIntegrityError(f"{path} is not valid JSON ({error.msg})") from error


def save_arrays(folder: str | Path, name: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``folder/name`` in the safetensors format."""
    from safetensors.numpy import save_file

    save_file({key: np.ascontiguousarray(value) for key, value in arrays.items()}, str(Path(folder, name)))


def load_arrays(folder: str | Path, name: str) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    path = Path(folder, name)
    try:
        return load_file(str(path))
    except Exception as error:  # safetensors raises its own error types for broken files
        raise ModelIntegrityError(f"{path} is not a readable safetensors file ({error})") from error


def write_manifest(folder: str | Path) -> dict[str, Any]:
    """Hash every file under ``folder`` (except the manifest) into ``manifest.json``."""
    folder = Path(folder)
    files = {
        path.relative_to(folder).as_posix(): sha256_file(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    manifest = {"format": "darien_nlp.manifest.v1", "files": files}
    write_json(folder, MANIFEST, manifest)
    return manifest


def verify_manifest(folder: str | Path, *, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check every file listed in the manifest; raise :class:`ModelIntegrityError` on any mismatch."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"No model folder at {str(folder)!r}")
    missing = [name for name in (MANIFEST,) + tuple(required) if not (folder / name).is_file()]
    if missing:
        raise ModelIntegrityError(
            f"Model folder {str(folder)!r} is incomplete: missing {missing} "
            f"(a model folder holds {sorted(set((MANIFEST,) + tuple(required)))})"
        )
    manifest = read_json(folder, MANIFEST)
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise ModelIntegrityError(f"{folder / MANIFEST} has no 'files' table")
    for name in required:
        if name != MANIFEST and name not in files:
            raise ModelIntegrityError(f"{folder / MANIFEST} does not list {name!r}")
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            raise ModelIntegrityError(f"Model folder {str(folder)!r}: {name!r} is listed in the manifest but missing")
        actual = sha256_file(path)
        if actual != expected:
            raise ModelIntegrityError(
                f"Model folder {str(folder)!r}: {name!r} does not match its manifest hash "
                f"(expected {expected[:12]}…, found {actual[:12]}…); the file was changed or truncated"
            )
    return manifest


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Write a file all at once: yield a temporary path beside ``path`` (``.<name>.partial-<pid>``) to write;
    when the block ends without error it is renamed to ``path``, otherwise deleted, so a failed or killed
    writer leaves the old file (or none), never a half-written one under the real name."""
    import os

    target = Path(path)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        yield partial
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_folder(path: str | Path):
    """Write a folder all at once: yield an empty temporary folder beside ``path``; when the block ends
    without error it replaces ``path`` (the old folder is moved aside, the new one renamed in, the old
    one removed), otherwise it is deleted and ``path`` is untouched.  An interrupted save leaves the
    previous folder whole (under its name, or at worst under ``.<name>.old-*`` beside it), never a mix.
    Files get the usual permissions (``0o644`` / ``0o755`` less the umask), not a temporary file's ``0o600``."""
    import os
    import shutil
    import tempfile

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        yield partial
        umask = os.umask(0)
        os.umask(umask)
        for item in [partial, *partial.rglob("*")]:
            item.chmod((0o755 if item.is_dir() else 0o644) & ~umask)
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / target.name)
        os.replace(partial, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)


#: Prefix, in the head file, of the scope embedder's fitted state (a scope head over a trainable backend).
SCOPE_STATE = "scope_state."


def save_model(classifier, path: str | Path, *, metadata: dict[str, Any], card: str | None) -> Path:
    """Write a fitted classifier: ``config.json``, ``head.safetensors``, embedder state, card, manifest
    (all at once: see :func:`atomic_folder`)."""
    with atomic_folder(path) as folder:
        _write_model(classifier, folder, metadata=metadata, card=card)
    return Path(path)


def _write_model(classifier, folder: Path, *, metadata: dict[str, Any], card: str | None) -> None:
    from . import __version__
    from .taxonomy import LABELS

    layout = ModelLayout()
    arrays = {
        "coef": classifier.coef_.astype(np.float32),
        "intercept": classifier.intercept_.astype(np.float32),
        "calibration": classifier.calibration_.astype(np.float64),
        "thresholds": classifier.thresholds_.astype(np.float64),
    }
    scope = None
    if getattr(classifier, "has_scope", False):
        arrays.update(scope_coef=np.asarray(classifier.scope_coef_, dtype=np.float32),
                      scope_intercept=np.array([classifier.scope_intercept_], dtype=np.float64),
                      scope_calibration=np.asarray(classifier.scope_calibration_, dtype=np.float64),
                      scope_threshold=np.array([classifier.scope_threshold_], dtype=np.float64))
        # a scope embedder that learnt from its texts (TF-IDF weights) keeps its state beside the scope arrays
        arrays.update({SCOPE_STATE + key: np.asarray(value) for key, value in classifier.scope_embedder_.state().items()})
        scope = {"embedder": classifier.scope_embedder_.spec(), "threshold": float(classifier.scope_threshold_),
                 "training": getattr(classifier, "scope_training_", {})}
    save_arrays(folder, layout.head, arrays)
    state = classifier.embedder_.state()
    if state:
        save_arrays(folder, layout.embedder_state, state)
    config = {
        "format": "darien_nlp.policy_classifier.v1",
        "library_version": __version__,
        "labels": list(LABELS),
        "params": classifier.get_params(),
        "embedder": classifier.embedder_.spec(),
        "thresholds": {label: float(t) for label, t in zip(LABELS, classifier.thresholds_)},
        "n_features": classifier.n_features_in_,
        "training_size": classifier.training_size_,
        **({"scope": scope} if scope else {}),
        **metadata,
    }
    write_json(folder, layout.config, config)
    if card:
        Path(folder, layout.card).write_text(card, encoding="utf-8")
    write_manifest(folder)


def read_model_folder(path: str | Path) -> dict[str, Any]:
    """Verify and read a classifier folder: config, head arrays and the rebuilt embedder.

    Imports numpy, safetensors and the embedder only (no scikit-learn), so the
    inference path stays fast to start.  Every value read is checked (types, shapes, finite
    numbers, thresholds in [0, 1]); a malformed folder is a :class:`ModelIntegrityError` naming
    the file and key, never a bare ``KeyError`` or silent NaN scores.
    """
    folder = Path(path)
    verify_manifest(folder, required=(ModelLayout().config, ModelLayout().head))
    try:
        return _read_model_folder(folder)
    except ModelIntegrityError:
        raise
    except (KeyError, TypeError, AttributeError, IndexError, RecursionError, ValueError) as error:
        raise ModelIntegrityError(f"{folder / ModelLayout().config}: malformed model configuration "
                                  f"({type(error).__name__}: {error})") from error


def _check_finite(where: str, key: str, array: np.ndarray, *, limit: float = 1e6) -> None:
    """Weights a linear head can use: real, finite numbers of sane size."""
    if array.dtype.kind not in "fiu":
        raise ModelIntegrityError(f"{where}: array {key!r} holds {array.dtype}, not numbers")
    if not np.all(np.isfinite(array)) or (array.size and float(np.max(np.abs(array))) > limit):
        raise ModelIntegrityError(f"{where}: array {key!r} holds NaN, infinite or implausibly large values "
                                  f"(|value| > {limit:g})")


def _read_model_folder(folder: Path) -> dict[str, Any]:
    from .embed import BACKENDS
    from .taxonomy import LABELS

    layout = ModelLayout()
    config = read_json(folder, layout.config)
    if not isinstance(config, dict):
        raise ModelIntegrityError(f"{folder / layout.config}: not a JSON object")
    if config.get("format") != "darien_nlp.policy_classifier.v1":
        raise ModelIntegrityError(f"{folder / layout.config}: unknown format {config.get('format')!r}")
    if not isinstance(config.get("labels"), list) or list(config["labels"]) != list(LABELS):
        raise ModelIntegrityError(
            f"Model at {str(folder)!r} was trained for labels {config.get('labels')}, but this "
            f"library's taxonomy is {list(LABELS)}; retrain it or use a matching library version"
        )
    n_features = config.get("n_features")
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
        raise ModelIntegrityError(f"{folder / layout.config}: 'n_features' must be a positive int, got {n_features!r}")
    head = load_arrays(folder, layout.head)
    where = str(folder / layout.head)
    expected = {"coef": (len(LABELS), n_features), "intercept": (len(LABELS),),
                "calibration": (len(LABELS), 2), "thresholds": (len(LABELS),)}
    for key, shape in expected.items():
        if key not in head or tuple(head[key].shape) != shape:
            raise ModelIntegrityError(f"{where}: array {key!r} missing or not of shape {shape}")
    for key, array in head.items():
        _check_finite(where, key, array)
    if np.any(head["thresholds"] < 0) or np.any(head["thresholds"] > 1):
        raise ModelIntegrityError(f"{where}: array 'thresholds' must lie in [0, 1]; got {head['thresholds'].tolist()}")
    if "scope_threshold" in head and not 0 <= float(head["scope_threshold"].ravel()[0]) <= 1:
        raise ModelIntegrityError(f"{where}: array 'scope_threshold' must lie in [0, 1]")
    spec = config.get("embedder")
    if not isinstance(spec, dict) or spec.get("name") not in BACKENDS:
        raise ModelIntegrityError(f"{folder / layout.config}: unknown embedder "
                                  f"{spec.get('name') if isinstance(spec, dict) else spec!r}")
    _check_spec(folder / layout.config, spec)
    state = load_arrays(folder, layout.embedder_state) if (folder / layout.embedder_state).is_file() else {}
    for key, array in state.items():
        _check_finite(str(folder / layout.embedder_state), key, array, limit=1e12)
    embedder = BACKENDS[spec["name"]].from_spec(spec, state, base_dir=folder)
    return {"config": config, "head": head, "embedder": embedder, "scope": _read_scope(folder, config, head)}


#: Embedder options that must be positive ints (``window``: >= 0) / finite numbers >= 0 when a spec holds them.
_POSITIVE_INTS = ("max_length", "batch_size", "threads", "window", "max_features", "min_df")
_NON_NEGATIVE = ("weight", "dense_weight", "bilingual_weight")


def _check_spec(where: Path, spec: dict, depth: int = 0) -> None:
    """Option values of an embedder spec (and the specs nested in it) of the right type and range."""
    if depth > 8:
        raise ModelIntegrityError(f"{where}: embedder specs nested more than 8 deep")
    for key in _POSITIVE_INTS:
        value = spec.get(key)
        least = 0 if key == "window" else 1
        if key in spec and (isinstance(value, bool) or not isinstance(value, int) or value < least):
            raise ModelIntegrityError(f"{where}: embedder {spec.get('name')!r} option {key!r} must be an int >= {least}, "
                                      f"got {value!r}")
    for key in _NON_NEGATIVE:
        value = spec.get(key)
        if key in spec and (isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value)
                            or value < 0):
            raise ModelIntegrityError(f"{where}: embedder {spec.get('name')!r} option {key!r} must be a finite number "
                                      f">= 0, got {value!r}")
    for value in spec.values():
        if isinstance(value, dict) and "name" in value:
            _check_spec(where, value, depth + 1)


def _read_scope(folder: Path, config: dict[str, Any], head: dict[str, np.ndarray]) -> dict[str, Any] | None:
    """The scope head of a model folder (see :mod:`darien_nlp.scope`), or ``None`` when it has none."""
    from .embed import BACKENDS

    if "scope" not in config:
        return None
    spec = config["scope"].get("embedder", {}) if isinstance(config["scope"], dict) else None
    if not isinstance(spec, dict) or spec.get("name") not in BACKENDS:
        raise ModelIntegrityError(f"{folder}: unknown scope embedder {spec!r}")
    _check_spec(folder / ModelLayout().config, spec)
    state = {key[len(SCOPE_STATE):]: array for key, array in head.items() if key.startswith(SCOPE_STATE)}
    for key, array in state.items():
        _check_finite(str(folder / ModelLayout().head), SCOPE_STATE + key, array, limit=1e12)
    embedder = BACKENDS[spec["name"]].from_spec(spec, state, base_dir=folder)
    if getattr(embedder, "trainable", False) and not embedder.state():
        raise ModelIntegrityError(f"{folder}: the scope embedder {spec['name']!r} learns from its texts, but "
                                  f"{ModelLayout().head} holds no {SCOPE_STATE}* arrays for it")
    shapes = {"scope_intercept": (1,), "scope_calibration": (2,), "scope_threshold": (1,)}
    for key, shape in shapes.items():
        if key not in head or tuple(head[key].shape) != shape:
            raise ModelIntegrityError(f"{folder}: scope array {key!r} missing or not of shape {shape}")
    if "scope_coef" not in head or head["scope_coef"].ndim != 1:
        raise ModelIntegrityError(f"{folder}: scope array 'scope_coef' missing or not a vector")
    return {"embedder": embedder, "coef": head["scope_coef"].astype(np.float32),
            "intercept": float(head["scope_intercept"][0]), "calibration": head["scope_calibration"].astype(np.float64),
            "threshold": float(head["scope_threshold"][0])}


def load_model(cls, path: str | Path):
    """Rebuild a :class:`PolicyClassifier` saved by :func:`save_model` (manifest and labels checked)."""
    from .taxonomy import LABELS

    parts = read_model_folder(path)
    config, head = parts["config"], parts["head"]
    classifier = cls(**config["params"])
    classifier.embedder_ = parts["embedder"]
    classifier.coef_ = head["coef"].astype(np.float32)
    classifier.intercept_ = head["intercept"].astype(np.float32)
    classifier.calibration_ = head["calibration"]
    classifier.thresholds_ = head["thresholds"]
    classifier.classes_ = np.array(LABELS)
    classifier.n_features_in_ = int(config["n_features"])
    classifier.training_size_ = int(config.get("training_size", 0))
    classifier.metadata_ = config
    scope = parts["scope"]
    if scope is not None:
        classifier.scope_embedder_ = scope["embedder"]
        classifier.scope_coef_ = scope["coef"]
        classifier.scope_intercept_ = scope["intercept"]
        classifier.scope_calibration_ = scope["calibration"]
        classifier.scope_threshold_ = scope["threshold"]
        classifier.scope_training_ = config["scope"].get("training", {})
    return classifier
