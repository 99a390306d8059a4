"""The interface every embedding backend follows."""
from __future__ import annotations

from itertools import repeat
from typing import Any, Sequence

__all__ = ["Embedder", "check_texts"]


def check_texts(texts: Sequence[str], *, name: str = "texts") -> list[str]:
    """Return ``texts`` as a list of str, or raise naming the argument and the first bad item."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{name} must be a list of strings, not a single string; wrap it in a list")
    out = list(texts)
    if all(map(isinstance, out, repeat(str))):  # the usual case, checked in C
        return out
    for position, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{position}] is a {type(text).__name__}, not a str")
    return out


#: Calls of fewer texts than this reuse a head's prepared weights (see ``Embedder._prepared``).
MEMO_ROWS = 1024


class Embedder:
    """Base class: texts -> 2-D array.  Subclasses set ``name`` and implement ``encode``."""

    name = "base"
    #: True when ``fit`` learns from the training texts (and ``state`` must be saved).
    trainable = False

    def fit(self, texts: Sequence[str]) -> "Embedder":
        """Learn from ``texts`` where the backend learns; return self."""
        return self

    def encode(self, texts: Sequence[str]):  # pragma: no cover - interface
        raise NotImplementedError

    def _prepared(self, weights, prepare, rows: int = 0):
        """``prepare(weights)`` (arrays derived from a head's weights: blocks, transposes, dtype), memoised
        for the last four weights arrays seen, by identity: a head's weights are not changed in place after
        fitting, and a predictor passes the same array on every call, so a call of one text does not copy
        a (k, 30,000+) matrix again. Thread-safe (one tuple assignment; a race only prepares twice)."""
        if rows >= MEMO_ROWS:  # a large call prepares afresh: a fresh copy is in cache for its products
            return prepare(weights)  # (a memoised one that other work evicted read 3 % slower, measured)
        memo = self.__dict__.get("_prepared_weights", ())
        for seen, prepared in memo:
            if seen is weights:
                return prepared
        prepared = prepare(weights)
        # a few arrays at once: a context backend's inner one reads the passage and the context halves
        self._prepared_weights = ((weights, prepared),) + memo[:3]
        return prepared

    #: Attributes rebuilt on use, left out of pickles (subclasses add theirs)
    _transient: tuple[str, ...] = ("_prepared_weights",)

    def __getstate__(self):
        """Pickled without :attr:`_transient` attributes (worker processes, dask rebuild them on use)."""
        state = self.__dict__.copy()
        for transient in self._transient:
            state.pop(transient, None)
        return state

    def project(self, texts: Sequence, weights):
        """``encode(texts) @ weights.T`` as a dense (n, k) float64 array, for ``weights`` of shape (k, dim).

        What a linear head needs at inference.  Backends built of blocks override it to score each
        block on its own slice of ``weights``, never building the stacked feature matrix (which
        costs more than the products themselves)."""
        import numpy as np

        return np.asarray(self.encode(texts) @ np.asarray(weights).T, dtype=np.float64)

    def spec(self) -> dict[str, Any]:
        """A JSON-able description that, with :meth:`state`, rebuilds this embedder."""
        return {"name": self.name}

    def state(self) -> dict[str, Any]:
        """Learned arrays to store beside a model (empty for pretrained backends)."""
        return {}

    @classmethod
    def from_spec(cls, spec: dict[str, Any], state: dict[str, Any], *, base_dir=None) -> "Embedder":
        """Rebuild from :meth:`spec` and :meth:`state`."""
        options = {k: v for k, v in spec.items() if k != "name"}
        return cls(**options)
