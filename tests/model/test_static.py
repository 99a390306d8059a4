"""The fast static encoder: same vectors as model2vec's own encode, a bounded word cache that
never loses a word in use."""
import threading

import numpy as np
import pytest

from darien_nlp.embed.static import StaticEmbedder, _FastStatic, _load_static, default_static_path

TEXTS = ["Safe Mobility Offices opened in Colombia and Guatemala.",
         "La contaminación de los ríos del Darién afecta a las comunidades indígenas.",
         "", "   ", "word " * 600,  # longer than max_length tokens: cut like model2vec cuts it
         "Border patrol arrested smugglers moving migrants through the Darién Gap in 2023."]


@pytest.mark.parametrize("folder", ["static-minilm-v1", "static-usem3-v1"])
def test_fast_encoder_matches_model2vec(folder):
    """darien_nlp reads the folder without model2vec; model2vec's own StaticModel is the reference."""
    from model2vec import StaticModel

    from darien_nlp.embed.static import models_dir

    path = models_dir() / folder
    reference = StaticModel.from_pretrained(str(path))
    parts = _load_static(path)
    assert not isinstance(parts, StaticModel)  # the light loader, not model2vec
    assert parts.median_token_length == reference.median_token_length
    assert parts.unk_token_id == reference.unk_token_id and parts.normalize == reference.normalize
    np.testing.assert_array_equal(parts.embedding, reference.embedding)
    assert parts.tokenizer.padding == reference.tokenizer.padding
    expected = reference.encode(TEXTS + ["Los migrantes cruzan el Darién a pie."], max_length=256)
    ours = StaticEmbedder(path=path).encode(TEXTS + ["Los migrantes cruzan el Darién a pie."])
    for a, b in zip(ours, expected):
        if np.linalg.norm(b) == 0:
            assert np.linalg.norm(a) == 0
        else:
            assert float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))) > 0.999


def test_token_counts_cut_each_text_at_max_length():
    fast = _FastStatic(_load_static(default_static_path()), max_length=8)
    counts = fast.token_counts(["one two three four five six seven eight nine ten", "short", ""])
    assert counts.sum(axis=1).A.ravel().tolist() == [8, 1, 0]
    assert fast.token_counts([]).shape[0] == 0


def test_bounded_cache_never_loses_a_word_in_use():
    """Past cache_limit the cache is replaced, and the batch in hand keeps its words (no KeyError)."""
    model = _load_static(default_static_path())
    small = _FastStatic(model, max_length=256)
    small.cache_limit = 5
    reference = _FastStatic(model, max_length=256)
    batches = [[f"alpha{i} beta{i} gamma{i}", f"delta{i} shared words here", "shared words"] for i in range(30)]
    for batch in batches:
        np.testing.assert_allclose(small.encode(batch), reference.encode(batch), rtol=1e-6)
    assert len(small.cache) <= 5 + 12  # bounded by the limit plus one batch's words


def test_bounded_cache_under_threads():
    model = _load_static(default_static_path())
    fast = _FastStatic(model, max_length=256)
    fast.cache_limit = 20
    reference = _FastStatic(model, max_length=256)

    def work(offset):
        for i in range(40):
            batch = [f"w{offset}_{i}_{j} common text {j}" for j in range(6)]
            np.testing.assert_allclose(fast.encode(batch), reference.encode(batch), rtol=1e-6)

    _on_threads(work, 4)


def _on_threads(work, count):
    """Run ``work(k)`` on ``count`` threads at once; the first error any of them met fails the test."""
    errors = []

    def run(k):
        try:
            work(k)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]


def test_shared_counts_tokenises_a_batch_once_per_call_and_never_across_calls():
    """Inside one predict call the label heads and the scope head share token counts; a later call
    with the same texts tokenises them again (a benchmark's repeat pass is never served from memory)."""
    from darien_nlp.embed.static import shared_counts

    fast = _FastStatic(_load_static(default_static_path()), 256)
    texts = ["Safe Mobility Offices open in Colombia.", "The Darién crossing is deadly."]
    calls = []
    original = fast._token_counts
    fast._token_counts = lambda batch: calls.append(len(batch)) or original(batch)
    expected = original(texts).toarray()
    with shared_counts():
        first = fast.token_counts(texts)
        again = fast.token_counts(list(texts))  # an equal list, another object
        with shared_counts():  # nested blocks share the outer memo
            inner = fast.token_counts(texts)
        other = fast.token_counts(texts[:1])
    assert calls == [2, 1] and first is again is inner
    np.testing.assert_array_equal(first.toarray(), expected)
    np.testing.assert_array_equal(other.toarray(), expected[:1])
    fast.token_counts(texts)  # outside any block: tokenised again
    assert calls == [2, 1, 2]

    seen = []  # the memo is per thread: another thread inside its own block does not see this one's
    def worker():
        with shared_counts():
            fast.token_counts(texts)
            seen.append(len(calls))
    with shared_counts():
        fast.token_counts(texts)
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen == [5] and calls == [2, 1, 2, 2, 2]


def test_static_models_of_one_call_share_the_whitespace_split_only_where_it_is_the_same():
    """Inside shared_counts two static models with different character cuts split a batch once when no
    text is longer than either cut; a longer text makes each model split at its own cut. The token
    counts are those each model gives alone."""
    from darien_nlp.embed.static import _CALL, shared_counts

    model = _load_static(default_static_path())
    short_cut, long_cut = _FastStatic(model, 256), _FastStatic(model, 256)
    short_cut.max_chars, long_cut.max_chars = 40, 4000
    short = ["Safe Mobility Offices open in Colombia.", "The Darién crossing is deadly."]
    long = short + ["Border " * 20 + "asylum parole resettlement " * 10]  # 340 characters: past one cut only
    for texts in (short, long):
        expected = [fast._split_counts(texts).toarray() for fast in (short_cut, long_cut)]
        with shared_counts():
            got = [fast._split_counts(texts).toarray() for fast in (short_cut, long_cut)]
            splits = [key for key in _CALL.memo if key[0] == "split"]
        for mine, alone in zip(got, expected):
            np.testing.assert_array_equal(mine, alone)
        assert len(splits) == (1 if texts is short else 2)
    assert expected[0].sum() < expected[1].sum()  # the long text was cut at 40 characters by one model only


def _two_models():
    from darien_nlp.embed.static import models_dir

    return (_FastStatic(_load_static(models_dir() / "static-minilm-v1"), 256),
            _FastStatic(_load_static(models_dir() / "static-usem3-v1"), 256))


def test_second_model_of_a_call_reads_its_rows_through_the_link_and_counts_as_alone():
    """Inside shared_counts the bilingual model maps the English model's rows to its own (a link array);
    its counts are those it gives alone: with new words, after its cache is replaced, and when the
    link has gone stale."""
    from darien_nlp.embed.static import shared_counts

    english, bilingual = _two_models()
    alone_en, alone_bi = _two_models()
    calls = []
    original = bilingual._own_rows
    bilingual._own_rows = lambda split, total: calls.append(total) or original(split, total)
    short = [text for text in TEXTS if len(text) < 500]  # a text past either model's cut splits per model
    batches = [short, short, short[:2] + ["a brand-new word: zyxwvut", "Darién"], ["zyxwvut Darién qqqq"] * 3, TEXTS]
    for number, texts in enumerate(batches):
        if number == 3:
            bilingual.cache_limit = 0  # every new chunk now replaces its cache: the link goes stale
        with shared_counts():
            got = [fast._split_counts(texts).toarray() for fast in (english, bilingual)]
        for mine, alone in zip(got, (alone_en._split_counts(texts), alone_bi._split_counts(texts))):
            np.testing.assert_array_equal(mine, alone.toarray())
        if number == 1:
            assert len(calls) == 1  # the second call went through the link only
    assert bilingual._link is not None and len(calls) >= 2


def test_link_under_threads():
    from darien_nlp.embed.static import shared_counts

    english, bilingual = _two_models()
    alone = _two_models()[1]
    bilingual.cache_limit = 400  # replacements while threads read

    def work(offset):
        for i in range(30):
            batch = [f"w{offset}_{i}_{j} migrantes del Darién {j}" for j in range(5)] + TEXTS[:2]
            with shared_counts():
                english._split_counts(batch)
                mine = bilingual._split_counts(batch)
            np.testing.assert_array_equal(mine.toarray(), alone._split_counts(batch).toarray())

    _on_threads(work, 4)


def test_a_large_batch_is_pooled_on_two_threads_as_on_one(monkeypatch):
    from darien_nlp.embed import static

    fast = _FastStatic(_load_static(default_static_path()), 256)
    texts = [f"{text} {i}" for i in range(500) for text in TEXTS]
    counts = fast.token_counts(texts)
    monkeypatch.setattr(static, "_cpus", lambda: 2)
    both = fast.pool(counts)
    monkeypatch.setattr(static, "PARALLEL_ROWS", 10 ** 9)
    np.testing.assert_array_equal(both, fast.pool(counts))


def test_many_new_words_are_tokenised_on_two_threads_as_on_one(monkeypatch):
    from darien_nlp.embed import static

    words = [f"{word}{i}" for i in range(40) for word in ("Darién", "migración", "asylum", "x")] + ["[UNK]", "\u2060"]
    one = _FastStatic(_load_static(default_static_path()), 256)._tokenise(words)
    monkeypatch.setattr(static, "_cpus", lambda: 2)
    monkeypatch.setattr(static, "TOKENISE_IN_HALVES", 4)
    assert _FastStatic(_load_static(default_static_path()), 256)._tokenise(words) == one


def test_an_error_on_the_second_thread_is_raised_on_the_caller(monkeypatch):
    from darien_nlp.embed import static

    monkeypatch.setattr(static, "_cpus", lambda: 2)

    def work(start, stop):
        if start:
            raise RuntimeError("second half failed")
        return stop

    with pytest.raises(RuntimeError, match="second half failed"):
        static._in_halves(work, 10, 2)
    assert static._in_halves(lambda start, stop: (start, stop), 10, 2) == [(0, 5), (5, 10)]
    assert static._in_halves(lambda start, stop: (start, stop), 10, 20) == [(0, 10)]


def test_a_used_embedder_pickles_without_its_encoder():
    """Worker processes (dask, --jobs) receive embedders by pickle: the encoder an embedder found (locks,
    word cache) stays behind, and the copy encodes the same."""
    import pickle

    embedder = StaticEmbedder()
    expected = embedder.encode(TEXTS)
    copy = pickle.loads(pickle.dumps(embedder))
    assert "_fast" not in copy.__dict__
    np.testing.assert_array_equal(copy.encode(TEXTS), expected)
