"""darien_nlp: label and map migration-policy passages in official releases.

The names users type are exported here and imported lazily, so
``import darien_nlp`` stays light (no torch, sentence-transformers, bertopic
or umap until a feature that needs them is used).

>>> import darien_nlp
>>> darien_nlp.LABELS
('enforcement', 'lawful_pathways', 'humanitarian', 'development', 'environment')
"""
from __future__ import annotations

import importlib
from typing import Any

from .taxonomy import LABELS

__version__ = "0.1.0"

__all__ = [
    "LABELS", "load_corpus", "segment", "Document", "Passage",
    "classify", "classify_document", "classify_documents", "classify_dataset", "Prediction",
    "PolicyClassifier", "TopicModel", "load_gold", "__version__",
]

_LAZY = {
    "load_corpus": "darien_nlp.corpus",
    "segment": "darien_nlp.corpus",
    "Document": "darien_nlp.corpus",
    "Passage": "darien_nlp.corpus",
    "classify": "darien_nlp.api",
    "classify_document": "darien_nlp.api",
    "classify_documents": "darien_nlp.api",
    "classify_dataset": "darien_nlp.api",
    "Prediction": "darien_nlp.api",
    "PolicyClassifier": "darien_nlp.classifier",
    "TopicModel": "darien_nlp.topics",
    "load_gold": "darien_nlp.data",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'darien_nlp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
