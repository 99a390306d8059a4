"""Representation ``coherent.v1``: a topic's c-TF-IDF candidates, re-ranked so its name words co-occur.

c-TF-IDF ranks a topic's words by how specific they are to it, so its top words are often rare
terms that seldom share a passage ("minister · extraordinary · plenipotentiary"); such names read
as lists, and their NPMI coherence is low. This stage keeps the topic's first c-TF-IDF word and then
adds, one at a time, the candidate (of the first ``candidates`` c-TF-IDF words) with the best blend
of its c-TF-IDF weight (scaled by the first word's) and its mean NPMI with the words already chosen
(a term whose words the name already holds, "minister" after "prime minister", is skipped)::

    score(w) = weight * ctfidf(w) / ctfidf(first) + (1 - weight) * mean NPMI(w, chosen)

NPMI is counted over the passages the topic model was fitted on (the window is one passage,
terms as the topic vectorizer finds them: bigrams included, stop words removed). ``weight=1``
gives the plain c-TF-IDF order.  The quality figures of a run (:mod:`darien_nlp.topics.quality`)
count co-occurrence over the same passages, so reports say when this stage named the topics.

NPMI comes from :func:`darien_nlp.topics.quality.npmi_matrix`, the same count as the run's quality figures.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from bertopic.representation._base import BaseRepresentation

from .quality import npmi_matrix

__all__ = ["CoherentRepresentation", "npmi_matrix"]


class CoherentRepresentation(BaseRepresentation):
    """c-TF-IDF candidates re-ranked for co-occurrence (see the module docstring)."""

    def __init__(self, top_n_words: int = 10, weight: float = 0.4, candidates: int = 30):
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
            raise ValueError(f"coherent: weight must be a number in [0, 1]. Got {weight!r} instead.")
        if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
            raise ValueError(f"coherent: candidates must be an int >= 1. Got {candidates!r} instead.")
        if isinstance(top_n_words, bool) or not isinstance(top_n_words, int) or top_n_words < 1:
            raise ValueError(f"coherent: top_n_words must be an int >= 1. Got {top_n_words!r} instead.")
        self.top_n_words = top_n_words
        self.weight = float(weight)
        self.candidates = candidates

    def extract_topics(self, topic_model, documents, c_tf_idf, topics: Mapping[int, list[tuple[str, float]]]
                       ) -> dict[int, list[tuple[str, float]]]:
        from sklearn.base import clone

        shortlist = {topic: [(word, float(score)) for word, score in values[: self.candidates] if word]
                     for topic, values in topics.items()}
        vocabulary = sorted({word for values in shortlist.values() for word, _ in values})
        if not vocabulary:
            return {topic: list(values[: self.top_n_words]) for topic, values in topics.items()}
        # count the candidates as the topic vectorizer found them (same analyzer, fixed vocabulary)
        vectorizer = clone(topic_model.vectorizer_model)
        vectorizer.set_params(vocabulary={term: i for i, term in enumerate(vocabulary)}, binary=True, min_df=1,
                              max_df=1.0)
        from scipy import sparse

        present = sparse.csc_matrix(vectorizer.fit_transform(documents["Document"].tolist()), dtype=np.float64)
        column = {term: i for i, term in enumerate(vocabulary)}
        result: dict[int, list[tuple[str, float]]] = {}
        for topic, values in shortlist.items():
            if not values:
                result[topic] = list(topics[topic][: self.top_n_words])
                continue
            top = values[0][1] if values[0][1] > 0 else 1.0
            index = np.array([column[word] for word, _ in values])
            weights = np.array([score for _, score in values]) / top
            words = [set(word.split()) for word, _ in values]
            chosen = [0]
            covered = set(words[0])
            together = npmi_matrix(present[:, index])  # (candidates x candidates): memory flat in the topic count
            total = together[:, 0].copy()  # running sum of NPMI with the chosen words
            free = np.ones(len(values), dtype=bool)
            free[0] = False
            while len(chosen) < self.top_n_words:
                for i in np.flatnonzero(free):  # a term whose words the name already holds adds nothing
                    if words[i] <= covered:
                        free[i] = False
                if not free.any():
                    break
                score = self.weight * weights + (1.0 - self.weight) * total / len(chosen)
                score[~free] = -np.inf
                pick = int(np.argmax(score))
                chosen.append(pick)
                free[pick] = False
                covered |= words[pick]
                total += together[:, pick]
            result[topic] = [values[i] for i in chosen]
        return result
