"""The shipped chunk table: the first pass starts warm and embeds exactly as without it."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from darien_nlp.embed.static import CHUNK_TABLE, _FastStatic, _load_static, read_chunk_table, write_chunk_table
from darien_nlp.persistence import ModelIntegrityError, verify_manifest

MODELS = Path(__file__).resolve().parents[2] / "models"
TEXTS = ["Migrants crossing the Darién Gap need shelter, water and care.",
         "Panamá y Colombia acordaron desmantelar redes de tráfico (2024).", "", "x " * 400]


def test_shipped_table_is_in_the_manifest_and_changes_no_embedding():
    folder = MODELS / "static-minilm-v1"
    assert CHUNK_TABLE in verify_manifest(folder)["files"]
    model = _load_static(folder)
    warm, cold = _FastStatic(model, 256, chunk_table=folder / CHUNK_TABLE), _FastStatic(model, 256)
    np.testing.assert_array_equal(warm.encode(TEXTS), cold.encode(TEXTS))
    assert not warm.base  # a few texts never load the table (a cold start does not pay for it)
    many = [f"{text} {i}" for i in range(300) for text in TEXTS[:2]]
    np.testing.assert_array_equal(warm.encode(many), cold.encode(many))  # a large batch loads it first
    assert len(warm.base) > 100_000 and not cold.wait_for_table()
    assert set(TEXTS[0].split()) - {"Darién"} <= set(warm.cache)  # common words are there before the first text
    np.testing.assert_array_equal(warm.encode(TEXTS), cold.encode(TEXTS))


def test_write_read_round_trip_and_a_full_cache_keeps_the_table(tmp_path):
    folder = shutil.copytree(MODELS / "static-minilm-v1", tmp_path / "static")
    (folder / CHUNK_TABLE).unlink()
    path = write_chunk_table(folder, ["migrants", "Darién,", "the", "has space", "the"])
    table = read_chunk_table(path)
    assert list(table) == ["migrants", "Darién,", "the"]  # duplicates and chunks with whitespace dropped
    assert verify_manifest(folder)["files"][CHUNK_TABLE]
    fast = _FastStatic(_load_static(folder), 256, chunk_table=path)
    assert fast.wait_for_table()
    reference = _FastStatic(_load_static(folder), 256)
    fast.cache_limit = len(fast.base) + 2  # force replacements
    for text in ["one two three", "four five six", "migrants the Darién,"]:
        np.testing.assert_array_equal(fast.encode([text]), reference.encode([text]))
    assert set(table) <= set(fast.cache)  # a replaced cache starts again from the table


def test_a_broken_table_is_refused(tmp_path):
    folder = shutil.copytree(MODELS / "static-minilm-v1", tmp_path / "static")
    from safetensors.numpy import load_file, save_file

    arrays = load_file(str(folder / CHUNK_TABLE))
    arrays["offsets"] = arrays["offsets"][:-5].copy()
    save_file(arrays, str(folder / CHUNK_TABLE))
    with pytest.raises(ModelIntegrityError, match="chunks but"):
        read_chunk_table(folder / CHUNK_TABLE)


def test_a_table_that_cannot_be_read_costs_speed_not_results(tmp_path, caplog):
    folder = shutil.copytree(MODELS / "static-minilm-v1", tmp_path / "static")
    (folder / CHUNK_TABLE).write_bytes(b"not safetensors")
    fast = _FastStatic(_load_static(MODELS / "static-minilm-v1"), 256, chunk_table=folder / CHUNK_TABLE)
    assert not fast.wait_for_table() and "not used" in caplog.text
    reference = _FastStatic(_load_static(MODELS / "static-minilm-v1"), 256)
    np.testing.assert_array_equal(fast.encode(TEXTS), reference.encode(TEXTS))


def test_a_table_with_a_repeated_chunk_still_embeds_exactly(tmp_path):
    """A hand-made table may repeat a chunk: its first row serves look-ups, and words added later never
    overwrite a row another chunk reads (the repeat sits before the last chunks, whose rows come after it)."""
    from safetensors.numpy import save_file

    folder = shutil.copytree(MODELS / "static-minilm-v1", tmp_path / "static")
    (folder / CHUNK_TABLE).unlink()
    chunks = ["migrants", "the", "migrants", "Darién,", "border"]
    model = _load_static(MODELS / "static-minilm-v1")
    ids = [[i for i in e.ids if i != model.unk_token_id]
           for e in model.tokenizer.encode_batch_fast(chunks, add_special_tokens=False)]
    offsets = np.concatenate(([0], np.cumsum([len(x) for x in ids]))).astype(np.int64)
    save_file({"chunks_utf8": np.frombuffer("\n".join(chunks).encode("utf-8"), dtype=np.uint8).copy(),
               "offsets": offsets, "ids": np.array([i for x in ids for i in x], dtype=np.int32)},
              str(folder / CHUNK_TABLE))
    fast = _FastStatic(model, 256, chunk_table=folder / CHUNK_TABLE)
    assert fast.wait_for_table()
    reference = _FastStatic(_load_static(MODELS / "static-minilm-v1"), 256)
    for texts in (["migrants the border"], ["new words here", "Darién, border migrants"], ["migrants border"]):
        np.testing.assert_array_equal(fast.encode(texts), reference.encode(texts))
