"""The whitespace table that document spans split by: exactly str.isspace, code point by code point."""
import numpy as np

from darien_nlp._chars import code_points, whitespace_mask

TEXTS = [
    "  Leading spaces, tabs\tand\u00a0no-break\u2028line separators\u3000and ideographic spaces count as "
    "whitespace; zero\u200bwidth does not.  ",
    "",
    "word",
    "   ",
    "a\ud800lone surrogate and an emoji \U0001F600 between  words ",
    "".join(chr(code) for code in range(0, 0x3100)),
    "\U0001F600\u3000x",
]


def test_whitespace_mask_is_str_isspace():
    for text in TEXTS:
        assert whitespace_mask(text).tolist() == [c.isspace() for c in text]
    assert whitespace_mask("").dtype == np.bool_


def test_code_points_one_per_character():
    for text in TEXTS:
        codes = code_points(text)
        assert codes.tolist() == [ord(c) for c in text]
    assert code_points("abc").dtype == np.uint8 and code_points("é").dtype == np.uint32
