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


def test_lone_surrogates_found_and_replaced_one_for_one():
    from darien_nlp._chars import has_lone_surrogate, replace_lone_surrogates

    assert not has_lone_surrogate("") and not has_lone_surrogate("plain ascii")
    assert not has_lone_surrogate("Darién \U0001F600 \u3000")  # a valid astral character is not a lone surrogate
    for text in ("\ud800", "a\udfffb", "x \ud83d y"):
        assert has_lone_surrogate(text)
        clean = replace_lone_surrogates(text)
        assert len(clean) == len(text) and not has_lone_surrogate(clean) and "\ufffd" in clean
    assert replace_lone_surrogates("Darién") == "Darién"
