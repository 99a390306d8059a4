"""Topic quality: NPMI coherence and topic diversity, computed over the run's own passages.

* **NPMI** (normalised pointwise mutual information, Bouma 2009) of every pair of a topic's
  top-``top_n`` terms, from how often they occur in the same passage (the window is one
  passage), averaged over pairs and then over topics.  A pair that never meets scores -1; terms
  always together score 1; independence scores 0.
* **Diversity** (Dieng et al. 2020): the share of unique terms among all topics' top-``top_n``
  terms (1: no topic repeats another's words).

Terms are counted with the same analyzer that named the topics
(:func:`darien_nlp.topics.vectorizer.make_vectorizer`: boilerplate stripped, stop words removed,
bigrams), so a bigram name such as "port entry" is counted where it was found.

>>> texts = ["border patrol agents", "border patrol arrests", "safe mobility offices", "safe mobility"]
>>> q = topic_quality(texts, {0: ["border", "patrol"], 1: ["safe", "mobility"]}, top_n=2)
>>> round(q["npmi"], 3), q["diversity"]
(1.0, 1.0)
"""
from __future__ import annotations

from itertools import combinations
from typing import Sequence

import numpy as np

__all__ = ["topic_quality", "npmi_matrix"]


def npmi_matrix(present) -> np.ndarray:
    """Pairwise NPMI of the columns of a binary (passages x terms) matrix (dense or sparse).

    A pair that never shares a passage scores -1; a term with itself, or a pair always together, 1.

    >>> npmi_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1], [0, 0, 1]]))[0].round(2).tolist()
    [1.0, 1.0, -1.0]
    """
    from scipy import sparse

    present = sparse.csc_matrix(present, dtype=np.float64)
    n = float(present.shape[0])
    counts = np.asarray(present.sum(axis=0)).ravel()
    joint = (present.T @ present).toarray()
    with np.errstate(divide="ignore", invalid="ignore"):
        p_ij = joint / n
        p_i = counts / n
        pmi = np.log(p_ij / np.outer(p_i, p_i))
        result = pmi / -np.log(p_ij)
    result[joint == 0] = -1.0
    result[p_ij >= 1.0] = 1.0
    return np.clip(np.nan_to_num(result, nan=-1.0), -1.0, 1.0)


def topic_quality(texts: Sequence[str], topic_words: dict[int, Sequence[str]], *, top_n: int = 10,
                  stop_phrases: Sequence[str] | None = None, extra_stop_words: Sequence[str] = (),
                  ngram_range: tuple[int, int] = (1, 2), max_passages: int | None = 50_000,
                  random_state: int = 0, analyzer: str = "names") -> dict:
    """NPMI coherence and diversity of ``topic_words`` (topic id -> ranked terms) over ``texts``.

    ``analyzer="names"`` counts the terms as darien_nlp's topic vectorizer finds them (bigrams,
    boilerplate and stop words removed); ``"words"`` splits every term into words and counts the
    first ``top_n`` distinct words of each topic with a plain lower-case word tokenizer (no stop
    words removed): a neutral count for comparing systems whose names were built differently.
    ``max_passages`` caps the passages counted (a seeded sample; ``None``: all). Returns
    ``npmi``, ``npmi_per_topic``, ``diversity``, ``top_n``, ``window``, ``analyzer`` and ``passages``.
    """
    from .vectorizer import make_vectorizer

    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 2:
        raise ValueError(f"top_n must be an int >= 2 (NPMI needs pairs). Got {top_n!r} instead.")
    if analyzer not in ("names", "words"):
        raise ValueError(f"analyzer must be 'names' or 'words'. Got {analyzer!r} instead.")
    if analyzer == "names":
        topics = {int(topic): [str(term).lower() for term in terms[:top_n]] for topic, terms in topic_words.items()
                  if terms}
    else:
        topics = {}
        for topic, terms in topic_words.items():
            words = list(dict.fromkeys(w for term in terms for w in str(term).lower().split()))[:top_n]
            if words:
                topics[int(topic)] = words
    texts = list(texts)
    if max_passages is not None and len(texts) > max_passages:
        chosen = np.sort(np.random.default_rng(random_state).choice(len(texts), max_passages, replace=False))
        texts = [texts[i] for i in chosen]
    vocabulary = sorted({term for terms in topics.values() for term in terms})
    result = {"top_n": top_n, "window": "passage", "analyzer": analyzer, "passages": len(texts), "npmi": float("nan"),
              "npmi_per_topic": {}, "diversity": float("nan")}
    if not topics or not texts:
        return result
    if analyzer == "names":
        vectorizer = make_vectorizer(stop_phrases=stop_phrases, extra_stop_words=extra_stop_words,
                                     ngram_range=tuple(ngram_range))
    else:
        from sklearn.feature_extraction.text import CountVectorizer

        vectorizer = CountVectorizer(lowercase=True, token_pattern=r"(?u)\b\w+\b")
    vectorizer.set_params(vocabulary={term: i for i, term in enumerate(vocabulary)}, binary=True)
    npmi = npmi_matrix(vectorizer.transform(texts))
    index = {term: i for i, term in enumerate(vocabulary)}
    per_topic = {}
    for topic, terms in topics.items():
        scores = [npmi[index[a], index[b]] for a, b in combinations(terms, 2)]
        per_topic[topic] = float(np.mean(scores)) if scores else float("nan")
    all_terms = [term for terms in topics.values() for term in terms]
    result.update(npmi=float(np.nanmean(list(per_topic.values()))), npmi_per_topic=per_topic,
                  diversity=len(set(all_terms)) / len(all_terms))
    return result
