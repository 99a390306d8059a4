"""Offline language detection for passages: English and Spanish fast, every other language flagged.

Most passages the library reads are English or Spanish, and their function words decide the
language at once: a passage is English or Spanish when at least a fifth of its words are
function words of that language and they outnumber the other's three to one.  Everything
else -- short texts, lists of names or numbers, mixed passages, a third language -- goes to
``py3langid`` (a numpy port of langid.py, 97 languages, no pickle), loaded once on first need.

>>> detect_language("Dismantle the smuggling networks that prey on migrants.").language
'en'
>>> detect_language("Los migrantes cruzan la selva del Darién.").language
'es'
"""
from __future__ import annotations

from functools import lru_cache
import re
import threading
from dataclasses import dataclass

__all__ = ["Language", "detect_language", "detect_languages", "SUPPORTED_LANGUAGES"]

#: Languages the classifier was built for; others are detected and flagged.
SUPPORTED_LANGUAGES = ("en", "es")
_WORDS = re.compile(r"[^\W\d_]+")
_FUNCTION_WORDS = {
    "en": frozenset("the of and to in is that for on with as are was by this be from it at an have has will "
                    "their which they its were been not or our we who".split()),
    "es": frozenset("el la los las de del que y en por para con una un es se su sus al lo como más pero "
                    "fue han ha son está este esta también muy".split()),
}
_LOCK = threading.Lock()
_IDENTIFIER = None


@dataclass(frozen=True, slots=True)
class Language:
    """A detected language: ISO 639-1 ``language`` (``"und"`` when nothing can be told), a
    ``confidence`` in [0, 1], the ``method`` that decided (``"function-words"``, ``"langid"`` or
    ``"none"``) and whether the text mixes English and Spanish."""

    language: str
    confidence: float
    method: str
    #: Both English and Spanish function words in strength (a bilingual passage).
    mixed: bool = False

    @property
    def supported(self) -> bool:
        """Whether the classifier was built for this language (English or Spanish)."""
        return self.language in SUPPORTED_LANGUAGES


def _identifier():
    global _IDENTIFIER
    with _LOCK:
        if _IDENTIFIER is None:
            try:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier
            except ImportError as error:  # pragma: no cover - a core dependency
                raise ImportError("Language detection needs py3langid: pip install py3langid") from error
            _IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _IDENTIFIER


def detect_language(text: str) -> Language:
    """The language of one text (see the module docstring for how it is decided)."""
    if not isinstance(text, str):
        raise TypeError(f"detect_language takes a str, not {type(text).__name__}")
    # only short lines repeat often enough to be worth a cache entry
    return _detect_short(text) if len(text) <= _SHORT else _detect(text)


#: Each function word's language, for a single pass over a text's words.
_LANGUAGE_OF = {word: language for language, vocabulary in _FUNCTION_WORDS.items() for word in vocabulary}


#: Texts up to this many characters go through a cache: transcripts repeat short lines ("Thank you.",
#: "Q") that only the slower langid fallback can decide.  A Language is immutable: sharing one is safe.
_SHORT = 120


def _detect(text: str) -> Language:
    words = _WORDS.findall(text.lower())
    if not words:
        return Language("und", 0.0, "none")
    hits = {"en": 0, "es": 0}
    for word in words:
        language = _LANGUAGE_OF.get(word)
        if language is not None:
            hits[language] += 1
    english, spanish = hits["en"], hits["es"]
    for language, mine, other in (("en", english, spanish), ("es", spanish, english)):
        if mine >= max(2, 0.2 * len(words)) and mine >= 3 * other:
            return Language(language, round(mine / (mine + other), 3), "function-words")
    mixed = min(english, spanish) >= 2
    language, probability = _identifier().classify(text)
    if probability < 0.5 and not mixed:  # too little text to tell (a name list, three words)
        return Language("und", round(float(probability), 3), "langid")
    if mixed and language not in SUPPORTED_LANGUAGES:
        language = "en" if english >= spanish else "es"
    return Language(language, round(float(probability), 3), "langid", mixed)


_detect_short = lru_cache(maxsize=16384)(_detect)


def detect_languages(texts) -> list[Language]:
    """:func:`detect_language` for each text, in order."""
    return [detect_language(text) for text in texts]
