"""Metrics: the paired bootstrap comparison of two systems on the same rows."""
import numpy as np
import pytest

from darien_nlp.evaluate import compare, evaluate


def _truth(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 5)) < 0.4).astype(int)


def test_identical_systems_differ_by_nothing():
    y = _truth()
    noisy = y.copy()
    noisy[::3, 0] = 1 - noisy[::3, 0]
    result = compare(y, noisy, noisy, n_bootstrap=200)
    assert result["delta_macro_f1"] == 0.0 and result["ci95"] == [0.0, 0.0]
    assert result["share_not_better"] == 1.0  # a is never better than itself


def test_better_system_is_found_and_its_interval_covers_the_point():
    y = _truth(seed=1)
    worse = y.copy()
    worse[::2] = 1 - worse[::2]
    result = compare(y, y, worse, n_bootstrap=300, groups=np.arange(len(y)) // 4)
    expected = evaluate(y, y, n_bootstrap=0)["macro_f1"] - evaluate(y, worse, n_bootstrap=0)["macro_f1"]
    assert result["delta_macro_f1"] == pytest.approx(expected)
    assert 0 < result["ci95"][0] <= result["delta_macro_f1"] <= result["ci95"][1]
    assert result["share_not_better"] == 0.0
    assert all(delta >= 0 for delta in result["delta_f1"].values())
    swapped = compare(y, worse, y, n_bootstrap=300, groups=np.arange(len(y)) // 4)
    assert swapped["delta_macro_f1"] == pytest.approx(-expected) and swapped["share_not_better"] == 1.0


def test_bad_input_is_refused():
    y = _truth()
    with pytest.raises(ValueError, match="must be"):
        compare(y, y[:-1], y)
    with pytest.raises(ValueError, match="must be"):
        compare(y[:, :3], y[:, :3], y[:, :3])
    with pytest.raises(ValueError, match="n_bootstrap >= 1"):
        compare(y, y, y, n_bootstrap=0)
    with pytest.raises(ValueError, match="groups has 3 entries for 40 rows"):
        compare(y, y, y, n_bootstrap=5, groups=[1, 2, 3])
