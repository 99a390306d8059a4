"""Character-level helpers shared by the api and embed layers (numpy only, nothing of ours): a text's
code points as an array, which characters ``str.split`` treats as whitespace, and lone surrogates."""
from __future__ import annotations

import re

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a lone surrogate code point (not valid Unicode: no tokenizer or UTF-8
    encoder takes one). Encoding is faster than searching, and fails on nothing else."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def replace_lone_surrogates(text: str) -> str:
    """``text`` with U+FFFD for each lone surrogate, one for one (lengths and offsets kept)."""
    return _LONE_SURROGATE.sub("\ufffd", text)

_SPACE_TABLE = None


def code_points(text: str):
    """``text``'s code points as a numpy array (uint8 for ASCII text, else uint32; a lone surrogate is
    kept as its code point)."""
    import numpy as np

    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def whitespace_mask(text: str, codes=None):
    """A bool per character of ``text``: True where ``str.isspace`` (so ``str.split``) sees whitespace.
    ``codes``: :func:`code_points` of ``text``, if already at hand."""
    import numpy as np

    global _SPACE_TABLE
    if _SPACE_TABLE is None:  # every whitespace code point lies below U+3001; the last entry stands for all above
        _SPACE_TABLE = np.array([chr(code).isspace() for code in range(0x3001)] + [False])
    codes = code_points(text) if codes is None else codes
    if codes.dtype == np.uint8:
        return _SPACE_TABLE[codes]
    return _SPACE_TABLE[np.minimum(codes, len(_SPACE_TABLE) - 1)]
