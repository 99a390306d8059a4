"""context_spans: every passage's context window of many documents in one vectorised pass, equal to
context_span on each; and the whitespace table it and the document spans read."""
import random

import numpy as np
import pytest

from darien_nlp._chars import whitespace_mask
from darien_nlp.corpus import context_span
from darien_nlp.corpus.segment import context_spans

TEXTS = [
    "Migrants crossing the Darién Gap need shelter.\n\nThe border closed at night; officials in Panamá said "
    "repatriation flights would resume. " * 8,
    "  Leading spaces, tabs\tand\u00a0no-break\u2028line separators\u3000and ideographic spaces count as "
    "whitespace; zero\u200bwidth does not.  ",
    "Los migrantes cruzaron la selva del Darién. La frontera con Colombia sigue abierta. " * 30,
    "",
    "word",
    "   ",
    "a\ud800lone surrogate and an emoji \U0001F600 between  words ",
    "nospacesatallbutaverylongwordthatrunsonandon" * 20,
]


@pytest.mark.parametrize("chars", [0, 1, 5, 80, 600])
def test_context_spans_equal_context_span_on_each_span(chars):
    rng = random.Random(chars)
    starts, ends = [], []
    for text in TEXTS:
        pairs = [(0, len(text)), (len(text), len(text))]
        for _ in range(60):
            start = rng.randrange(0, len(text) + 1)
            pairs.append((start, rng.randrange(start, min(len(text), start + 700) + 1)))
        starts.append([s for s, _ in pairs])
        ends.append([e for _, e in pairs])
    got = context_spans(TEXTS, starts, ends, chars)
    assert len(got) == len(TEXTS)
    for text, first, last, (lefts, rights) in zip(TEXTS, starts, ends, got):
        assert [(int(a), int(b)) for a, b in zip(lefts, rights)] == [context_span(text, s, e, chars)
                                                                     for s, e in zip(first, last)]


def test_context_spans_with_no_spans_and_bad_input():
    assert [(len(a), len(b)) for a, b in context_spans(["one", "two"], [[], []], [[], []], 5)] == [(0, 0), (0, 0)]
    assert [(a.tolist(), b.tolist()) for a, b in context_spans(["", ""], [[0], [0, 0]], [[0], [0, 0]], 5)] == \
        [([0], [0]), ([0, 0], [0, 0])]  # texts with no character at all
    assert [(a.tolist(), b.tolist()) for a, b in context_spans([], [], [], 5)] == []
    with pytest.raises(ValueError, match="as many ends as starts"):
        context_spans(["one"], [[]], [[1]], 5)
    with pytest.raises(ValueError, match="outside a text of 3 characters"):
        context_spans(["one", "two"], [[0], [2]], [[1], [9]], 5)
    with pytest.raises(ValueError, match="outside a text"):
        context_spans(["one"], [[2]], [[1]], 5)  # end before start
    with pytest.raises(ValueError, match="chars must be >= 0"):
        context_spans(["one"], [[0]], [[1]], -1)
    with pytest.raises(ValueError, match="as many ends as starts"):
        context_spans(["one"], [[0, 1]], [[1]], 5)
    with pytest.raises(ValueError, match="one sequence of starts"):
        context_spans(["one", "two"], [[0]], [[1]], 5)


def test_whitespace_mask_is_str_isspace():
    for text in TEXTS + ["".join(chr(c) for c in range(0, 0x3100)), "\U0001F600\u3000x"]:
        assert whitespace_mask(text).tolist() == [c.isspace() for c in text]
    assert whitespace_mask("").dtype == np.bool_
