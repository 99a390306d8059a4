"""Topic words: English stop words plus release boilerplate, removed before c-TF-IDF counts words.

Release boilerplate ("the president", "fact sheet", "white house", month names)
swamps every topic of a corpus of official releases, so it is stripped as
whole phrases before tokenising (a stop-word list alone cannot remove
"united states" without also removing "states" from "member states").
Both lists are configurable: pass ``stop_phrases`` and ``extra_stop_words``.

>>> strip = BoilerplateStripper()
>>> strip("The President and the White House announced a FACT SHEET on Safe Mobility.")
'and announced a on safe mobility.'
>>> content_words("The President thanked the White House press corps in January.")
['thanked', 'press', 'corps']
"""
from __future__ import annotations

import re
from numbers import Integral
from typing import Iterable, Sequence

__all__ = ["BOILERPLATE_PHRASES", "MONTHS", "BoilerplateStripper", "stop_words", "make_vectorizer",
           "content_words", "is_stop_term"]

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")

#: Phrases that every White House / State Department release repeats; removed before counting words.
BOILERPLATE_PHRASES: tuple[str, ...] = (
    "the president", "president biden", "president trump", "president obama", "vice president",
    "the vice president", "the white house", "white house", "fact sheet", "press release",
    "press briefing", "press secretary", "briefing room", "for immediate release", "united states",
    "the united states", "u.s.", "u. s.", "the administration", "biden-harris administration",
    "biden harris administration", "trump administration", "secretary of state", "department of state",
    "state department", "office of the spokesperson", "read more", "washington, d.c.", "washington dc",
    "statements and releases", "briefings and statements", "presidential actions", "###",
    "senior administration officials", "senior administration official", "administration officials",
    "administration official", "karine jean-pierre", "jean-pierre", "jen psaki", "psaki",
    "karoline leavitt", "leavitt",
    # the closing formula of every proclamation
    "in witness whereof", "witness whereof", "hereunto set my hand", "set my hand", "year of our lord",
    "independence of the united states of america", "now, therefore", "by virtue of the authority vested in me",
)

#: Single words (beyond English stop words) that carry no topic in these releases.
_EXTRA_STOP_WORDS = MONTHS + (
    "mr", "mrs", "ms", "dr", "president", "said", "says", "today", "also", "will", "would", "just",
    "going", "know", "think", "thank", "thanks", "yes", "okay", "ok", "ll", "ve", "don", "didn",
    "doesn", "isn", "re", "applause", "laughter", "inaudible", "q", "th", "st", "nd", "rd",
    "2020", "2021", "2022", "2023", "2024", "2025", "2026", "year", "years", "week", "day",
    "people", "lot", "want", "got", "say", "like", "make", "way", "need", "look", "right",
    "let", "go", "come", "thing", "things", "really", "well", "get", "one", "new",
)
#: Filler of press-briefing transcripts (turn-taking, not topics).
_TRANSCRIPT_WORDS = (
    "ahead", "question", "questions", "yeah", "mean", "sure", "good", "great", "actually", "doing",
    "hear", "speak", "talk", "talking", "talked", "asked", "ask", "asking", "answer", "clear", "happen",
    "happened", "moving", "operator", "moderator", "gonna", "kind", "little", "bit", "point", "look",
    "looking", "mentioned", "saying", "tell", "told", "understand", "obviously", "certainly", "course",
    "absolutely", "totally", "folks", "guys", "everybody", "anybody", "somebody", "morning", "afternoon",
    "evening", "appreciate", "ma", "am", "pm", "sir", "said", "share", "continue", "forward", "thing",
    "did", "does", "time", "believe", "long", "sorry", "hey", "trying", "able", "refer", "karine", "jen",
    "karoline", "important", "heard",
    # contraction fragments the tokenizer leaves ("wouldn't" -> "wouldn") and discourse markers
    "wouldn", "couldn", "shouldn", "hasn", "haven", "wasn", "weren", "aren", "won", "ain", "maybe", "wanted",
    "wondering", "guess", "kidding", "aside", "guy", "gotta", "anyway", "probably", "pretty", "stuff",
    "happy", "nice", "bad", "man", "true", "watch", "thinks", "feeling", "mindful", "careful", "hello",
    "possibilities", "embargoed",
)
#: Function words of the Spanish, Portuguese and French passages in bilingual releases.
_OTHER_LANGUAGE_WORDS = (
    "el", "la", "los", "las", "de", "del", "que", "en", "un", "una", "por", "para", "con", "se", "su", "sus",
    "al", "es", "lo", "como", "más", "mas", "este", "esta", "estos", "y", "o", "da", "do", "dos", "das", "em", "mis",
    "os", "uma", "um", "com", "não", "ao", "et", "le", "les", "des", "du", "une", "pour", "dans", "sur",
    "qui", "au", "aux", "nous", "ils", "est", "pas", "tous", "tout",
)


_SPEAKER = re.compile(r"(?<![A-Za-z])[A-Z][A-Z.'\u2019\- ]{0,60}:")


class BoilerplateStripper:
    """Lower-case ``text`` and remove boilerplate phrases (whole words only): a CountVectorizer preprocessor.

    >>> BoilerplateStripper(["fact sheet"])("Fact Sheet: jobs")
    ': jobs'
    """

    def __init__(self, phrases: Iterable[str] | None = None):
        self.phrases = tuple(BOILERPLATE_PHRASES if phrases is None else phrases)
        ordered = sorted({p.lower().strip() for p in self.phrases if p and p.strip()}, key=len, reverse=True)
        # Word boundaries only where the phrase starts/ends with a word character ("u.s." ends in ".").
        # The phrases that start with one share a single leading \b outside the alternation: a \b at the
        # head of every alternative keeps the regex engine from skipping ahead, about 9x slower.
        words = [re.escape(p) + (r"\b" if p[-1].isalnum() else "") for p in ordered if p[0].isalnum()]
        others = [re.escape(p) + (r"\b" if p[-1].isalnum() else "") for p in ordered if not p[0].isalnum()]
        parts = ([r"\b(?:" + "|".join(words) + ")"] if words else []) + others
        self._pattern = re.compile("|".join(parts)) if parts else None

    def __call__(self, text: str) -> str:
        # Speaker turns of transcripts ("MS. JEAN-PIERRE:", "Q:", "SENIOR ADMINISTRATION OFFICIAL:").
        text = _SPEAKER.sub(" ", text).lower()
        if self._pattern is not None:
            text = self._pattern.sub(" ", text)
        return re.sub(r"\s+", " ", text).strip()

    def __repr__(self) -> str:
        return f"BoilerplateStripper({len(self.phrases)} phrases)"


def stop_words(extra: Iterable[str] = ()) -> list[str]:
    """scikit-learn's English stop words, release filler words and ``extra``, sorted.

    >>> "january" in stop_words() and "the" in stop_words() and "smuggling" not in stop_words()
    True
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(set(ENGLISH_STOP_WORDS) | set(_EXTRA_STOP_WORDS) | set(_TRANSCRIPT_WORDS)
                  | set(_OTHER_LANGUAGE_WORDS) | _foreign_stop_words() | {w.lower() for w in extra})


_FOREIGN: frozenset | None = None


def _foreign_stop_words() -> frozenset:
    """Spanish, French and Portuguese stop words from stopwords-iso (``stopwordsiso``, MIT; in the
    topics extra), without the ones that are also English words ("parole", "mayor", "general",
    "car", "local"): those are the words of the shipped English static model's vocabulary, which
    ``_OTHER_LANGUAGE_WORDS`` covers where they are function words ("los", "del", "que").
    Empty when the package is not installed."""
    global _FOREIGN
    if _FOREIGN is None:
        try:
            import stopwordsiso
        except ImportError:
            _FOREIGN = frozenset()
            return _FOREIGN
        words = set().union(*(stopwordsiso.stopwords(language) for language in ("es", "fr", "pt")))
        token = re.compile(TOKEN_PATTERN)
        # only what the tokenizer can produce ("aujourd'hui" is two tokens): no inconsistent stop words
        _FOREIGN = frozenset(w for w in words - _english_words() if token.findall(w) == [w])
    return _FOREIGN


def _english_words() -> set[str]:
    """Whole words of the shipped English static model's tokenizer vocabulary (empty if it is absent)."""
    import json

    from ..embed.static import default_static_path

    path = default_static_path() / "tokenizer.json"
    if not path.is_file():
        return set()
    vocabulary = json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
    return {token for token in vocabulary if token.isalpha()}


#: Tokens of three or more characters that start with a letter (drops bare numbers and initials).
#: Letters are Unicode letters: "migración", "Darién" and "países" are words, not dropped.
TOKEN_PATTERN = r"(?u)\b[^\W\d_][\w\-]{2,}\b"


def make_vectorizer(*, stop_phrases: Sequence[str] | None = None, extra_stop_words: Sequence[str] = (),
                    ngram_range: tuple[int, int] = (1, 2), min_df: int = 1, max_df: float = 1.0,
                    max_features: int | None = None):
    """The CountVectorizer for c-TF-IDF: boilerplate phrases stripped, stop words removed, bigrams kept.

    BERTopic fits it on one joined document per topic, so ``min_df`` and ``max_df`` count topics,
    not passages: ``max_df=0.5`` drops words found in more than half of the topics (conversational
    filler of transcripts such as "getting" or "wondering"), which can name no topic.

    >>> vectorizer = make_vectorizer()
    >>> sorted(vectorizer.fit(["The President opened Safe Mobility offices."]).vocabulary_)
    ['mobility', 'mobility offices', 'offices', 'opened', 'opened safe', 'safe', 'safe mobility']
    """
    return _count_vectorizer_class()(preprocessor=BoilerplateStripper(stop_phrases), stop_words=stop_words(extra_stop_words),
                                        token_pattern=TOKEN_PATTERN, ngram_range=tuple(ngram_range), min_df=min_df,
                                        max_df=max_df, max_features=max_features)


_VECTORIZER_CLASS: list = []


def _count_vectorizer_class():
    """``TopicCountVectorizer``, built once on first use (importing this module does not import scikit-learn)."""
    if _VECTORIZER_CLASS:
        return _VECTORIZER_CLASS[0]
    from sklearn.feature_extraction.text import CountVectorizer

    class TopicCountVectorizer(CountVectorizer):
        """A CountVectorizer whose fractional ``max_df`` gives way when there are too few documents for it.

        Fitted on one joined document per topic, ``max_df=0.5`` over a single topic (a clusterer that found
        one, or a tiny corpus) would allow no word at all and scikit-learn refuses ("max_df corresponds to <
        documents than min_df"); with fewer documents than ``min_df / max_df`` the fit keeps every word
        that passes ``min_df`` instead (``max_df`` as set is kept for the next fit)."""

        def fit_transform(self, raw_documents, y=None):
            documents = raw_documents if hasattr(raw_documents, "__len__") else list(raw_documents)
            max_df = self.max_df
            if isinstance(max_df, float) and max_df < 1.0:
                least = self.min_df if isinstance(self.min_df, Integral) else self.min_df * len(documents)
                if max_df * len(documents) < least:
                    self.max_df = 1.0
                    try:
                        return super().fit_transform(documents, y)
                    finally:
                        self.max_df = max_df
            return super().fit_transform(documents, y)

    TopicCountVectorizer.__module__ = __name__
    TopicCountVectorizer.__qualname__ = "TopicCountVectorizer"  # pickles by name (module __getattr__ below)
    _VECTORIZER_CLASS.append(TopicCountVectorizer)
    return TopicCountVectorizer


def __getattr__(name):  # darien_nlp.topics.vectorizer.TopicCountVectorizer, built on first use
    if name == "TopicCountVectorizer":
        return _count_vectorizer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_CONTENT_CACHE: dict = {}


def content_words(text: str, *, stop_phrases: Sequence[str] | None = None,
                  extra_stop_words: Sequence[str] = ()) -> list[str]:
    """The words of ``text`` that survive boilerplate and stop-word removal (empty: pure boilerplate).

    >>> content_words("Fact Sheet: The White House, January 2024")
    []
    """
    key = (tuple(stop_phrases) if stop_phrases is not None else None, tuple(extra_stop_words))
    if key not in _CONTENT_CACHE:
        _CONTENT_CACHE.clear()
        _CONTENT_CACHE[key] = (BoilerplateStripper(stop_phrases), frozenset(stop_words(extra_stop_words)),
                       re.compile(TOKEN_PATTERN))
    stripper, words, pattern = _CONTENT_CACHE[key]
    return [token for token in pattern.findall(stripper(text)) if token not in words]


def is_stop_term(term: str, *, extra_stop_words: Sequence[str] = ()) -> bool:
    """True when every word of ``term`` (a unigram or n-gram) is a stop word: a name to reject.

    >>> is_stop_term("the january"), is_stop_term("safe mobility")
    (True, False)
    """
    words = set(stop_words(extra_stop_words))
    return all(part in words for part in term.lower().split())
