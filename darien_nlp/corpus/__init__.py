"""Corpus layer: read releases into ``Document`` objects and cut them into ``Passage`` objects."""
from .document import Document, Passage, text_sha256
from .normalise import NORMALISER_VERSION, normalise
from .readers import Corpus, CorpusError, LoadReport, Skip, load_corpus, parse_date
from .segment import SEGMENTER_VERSION, context_span, context_window, iter_passages, segment, split_sentences

__all__ = [
    "Document", "Passage", "text_sha256", "NORMALISER_VERSION", "normalise", "Corpus",
    "CorpusError", "LoadReport", "Skip", "load_corpus", "parse_date", "SEGMENTER_VERSION",
    "iter_passages", "segment", "split_sentences", "context_window", "context_span",
]
