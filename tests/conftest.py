"""Shared fixtures: the repository's seeds and, where present, the release corpora."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"


def corpora_path() -> Path | None:
    """``DARIEN_NLP_CORPORA`` or ``../shared/corpora`` beside the checkout, if it exists."""
    candidate = Path(os.environ.get("DARIEN_NLP_CORPORA", REPO.parent / "shared" / "corpora"))
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def corpora() -> Path:
    path = corpora_path()
    if path is None:
        pytest.skip("release corpora not found: set DARIEN_NLP_CORPORA or place them at ../shared/corpora")
    return path


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS
