"""Ensembles of saved models: the weighted mean of their calibrated probabilities.

An ensemble folder holds no weights of its own: ``ensemble.json`` names its
member model folders (siblings in ``models/``, or paths), their weights, the
sha256 of each member's ``manifest.json`` at build time, and the per-label
thresholds; ``manifest.json`` hashes the folder as for any model.  Loading
verifies the ensemble's manifest, every member's manifest, and that each
member is still the model the ensemble was built from.

Members that read document context (the ``context`` backend) get
``(text, context)`` pairs; the others get the passage text.

>>> predictor = EnsemblePredictor.load("models/policy-ensemble")  # doctest: +SKIP
>>> predictor.predict_proba(["Open lawful pathways."]).shape  # doctest: +SKIP
(1, 5)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .persistence import MANIFEST, ModelIntegrityError, atomic_folder, read_json, sha256_file, verify_manifest, write_json, write_manifest
from .taxonomy import LABELS

__all__ = ["EnsemblePredictor", "save_ensemble", "ENSEMBLE_FILE", "is_ensemble"]

ENSEMBLE_FILE = "ensemble.json"
FORMAT = "darien_nlp.ensemble.v1"


def is_ensemble(path: str | Path) -> bool:
    """True when ``path`` is an ensemble folder (it holds ``ensemble.json``)."""
    return (Path(path) / ENSEMBLE_FILE).is_file()


def _member_path(folder: Path, reference: str) -> Path:
    """A member is a sibling folder name, or a path (relative paths from the ensemble's parent)."""
    return (folder.parent / reference) if not Path(reference).is_absolute() else Path(reference)


def _check_weights(weights: Sequence[float], n: int) -> np.ndarray:
    if len(weights) != n:
        raise ValueError(f"An ensemble needs one weight per member: {n} members, {len(weights)} weights")
    if any(isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0 for w in weights):
        raise ValueError(f"Ensemble weights must be numbers >= 0. Got {list(weights)}")
    total = float(sum(weights))
    if total <= 0:
        raise ValueError("Ensemble weights must not all be zero")
    return np.asarray(weights, dtype=np.float64) / total


class EnsemblePredictor:
    """Weighted mean of member predictors' calibrated probabilities, with its own thresholds."""

    def __init__(self, members: Sequence[Any], weights: Sequence[float], *, thresholds: Sequence[float] | None = None,
                 names: Sequence[str] | None = None, metadata: Mapping[str, Any] | None = None):
        if len(members) < 2:
            raise ValueError(f"An ensemble needs at least 2 members, got {len(members)}")
        self.members_ = list(members)
        self.weights_ = _check_weights(list(weights), len(self.members_))
        if thresholds is None:  # the members' thresholds, weighted as their probabilities are
            thresholds = sum(w * np.asarray(m.thresholds_, dtype=np.float64) for w, m in zip(self.weights_, self.members_))
        self.thresholds_ = np.asarray(thresholds, dtype=np.float64)
        if self.thresholds_.shape != (len(LABELS),):
            raise ValueError(f"Ensemble thresholds must be {len(LABELS)} numbers, got shape {self.thresholds_.shape}")
        self.names_ = list(names) if names is not None else [f"member{i}" for i in range(len(self.members_))]
        self.classes_ = np.array(LABELS)
        self.metadata_ = dict(metadata or {})

    @property
    def uses_context(self) -> bool:
        """True when a member reads ``(text, context)`` pairs."""
        return any(getattr(m, "uses_context", False) for m in self.members_)

    @property
    def context_chars(self) -> int | None:
        """The widest context window a member reads (``None`` when none reads context)."""
        windows = [m.context_chars for m in self.members_ if getattr(m, "context_chars", None) is not None]
        return max(windows) if windows else None

    def predict_proba(self, texts: Sequence) -> np.ndarray:
        """Weighted mean of the members' calibrated probabilities, (n, 5) in :data:`LABELS` order."""
        from .embed.context import split_items

        items = list(texts)
        bare, _ = split_items(items)
        total = np.zeros((len(items), len(LABELS)), dtype=np.float64)
        for weight, member in zip(self.weights_, self.members_):
            if weight:
                total += weight * member.predict_proba(items if getattr(member, "uses_context", False) else bare)
        return total

    @classmethod
    def load(cls, path: str | Path) -> "EnsemblePredictor":
        """Verify the ensemble and its members, then load the members' predictors."""
        from .inference import load_predictor

        folder = Path(path)
        verify_manifest(folder, required=(ENSEMBLE_FILE,))
        config = read_json(folder, ENSEMBLE_FILE)
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            raise ModelIntegrityError(f"{folder / ENSEMBLE_FILE}: unknown format {config.get('format') if isinstance(config, dict) else None!r}")
        if list(config.get("labels", [])) != list(LABELS):
            raise ModelIntegrityError(f"Ensemble at {str(folder)!r} was built for labels {config.get('labels')}, "
                                      f"but this library's taxonomy is {list(LABELS)}")
        members, names, weights = [], [], []
        for entry in config.get("members", []):
            member_folder = _member_path(folder, entry["model"])
            if is_ensemble(member_folder):
                raise ModelIntegrityError(f"{folder / ENSEMBLE_FILE}: member {entry['model']!r} is itself an ensemble")
            if not (member_folder / MANIFEST).is_file():
                raise ModelIntegrityError(f"Ensemble at {str(folder)!r}: member model {entry['model']!r} not found at "
                                          f"{str(member_folder)!r}")
            if sha256_file(member_folder / MANIFEST) != entry["manifest_sha256"]:
                raise ModelIntegrityError(
                    f"Ensemble at {str(folder)!r}: member {entry['model']!r} changed since the ensemble was built "
                    "(its manifest hash differs); rebuild the ensemble with its experiment config")
            members.append(load_predictor(member_folder))
            names.append(entry["model"])
            weights.append(entry["weight"])
        return cls(members, weights, thresholds=[config["thresholds"][label] for label in LABELS], names=names,
                   metadata=config)


def save_ensemble(path: str | Path, members: Mapping[str, float], *, thresholds: Sequence[float] | None = None,
                  metadata: Mapping[str, Any] | None = None, card: str | None = None) -> Path:
    """Write an ensemble folder over saved member folders (``{folder: weight}``); return the folder.

    Members in the same parent folder as the ensemble are recorded by name (so ``models/`` can
    move as a whole); others by absolute path.
    """
    from . import __version__
    from .inference import load_predictor

    folder = Path(path)
    entries, loaded = [], []
    for member, weight in members.items():
        member_folder = Path(member).resolve()
        if member_folder == folder.resolve():
            raise ValueError("An ensemble cannot be its own member")
        predictor = load_predictor(member_folder)  # verifies the member before anything is written
        if isinstance(predictor, EnsemblePredictor):
            raise ValueError(f"{member!r} is an ensemble; members must be single models")
        loaded.append(predictor)
        reference = member_folder.name if member_folder.parent == folder.resolve().parent else str(member_folder)
        entries.append({"model": reference, "weight": float(weight), "manifest_sha256": sha256_file(member_folder / MANIFEST)})
    ensemble = EnsemblePredictor(loaded, [e["weight"] for e in entries], thresholds=thresholds)
    config = {"format": FORMAT, "library_version": __version__, "labels": list(LABELS), "members": entries,
              "thresholds": {label: float(t) for label, t in zip(LABELS, ensemble.thresholds_)}, **dict(metadata or {})}
    with atomic_folder(folder) as partial:  # an interrupted save leaves the previous ensemble whole
        write_json(partial, ENSEMBLE_FILE, config)
        if card:
            (partial / "README.md").write_text(card, encoding="utf-8")
        write_manifest(partial)
    return folder
