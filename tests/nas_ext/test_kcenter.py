import doctest

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracles.kcenter import kcenter_greedy_near_ties, kcenter_greedy_oracle

import nas_ext
import nas_ext.kcenter
from nas_ext import kcenter_greedy


@st.composite
def problems(draw):
    """Points on a small integer grid (duplicates and exact ties, all arithmetic exact) or continuous
    Gaussian points, with random distinct centres and a budget that fits."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 40))
    d = draw(st.integers(1, 20))
    if draw(st.booleans()):
        X = rng.integers(-3, 4, size=(n, d)).astype(np.float32)
    else:
        X = rng.standard_normal((n, d)).astype(np.float32)
    centers = rng.choice(n, size=draw(st.integers(0, n)), replace=False)
    budget = draw(st.integers(0, n - centers.shape[0]))
    return X, centers, budget


@given(problems())
def test_picks_match_the_oracle(problem):
    X, centers, budget = problem
    picks = kcenter_greedy(X, budget, centers=centers)
    assert picks.dtype == np.int64 and picks.shape == (budget,)
    np.testing.assert_array_equal(picks, kcenter_greedy_oracle(X, budget, centers))


@given(problems())
def test_cosine_picks_are_farthest_rows(problem):
    """Normalising integer rows is not exact arithmetic: rows at the same real distance (every unit row is at
    1 from an all-zero centre) are split by rounding, differently in float32 and float64. Each pick must be a
    farthest row; where the farthest is unique beyond rounding, that is the oracle's pick."""
    X, centers, budget = problem
    picks = kcenter_greedy(X, budget, centers=centers, metric="cosine")
    assert picks.dtype == np.int64 and picks.shape == (budget,)
    assert kcenter_greedy_near_ties(X, picks, centers, "cosine") == []
    if budget and not centers.size:  # the first pick without centres: farthest from the mean row
        assert picks[0] == kcenter_greedy_oracle(X, 1, centers, "cosine")[0]


def test_cosine_zero_centre_tie_is_a_farthest_row():
    """The hypothesis case that found the float32/float64 split: centre 18 is all-zero (distance 1 to every
    unit row) and centre 19 leaves many rows at exactly 1 in real arithmetic."""
    X = np.array([[0, 3], [1, -3], [0, 3], [-2, -3], [0, 1], [2, 0], [0, 3], [2, -2], [-3, 0], [0, 1], [0, -3],
                  [-1, 0], [3, 0], [-1, 0], [-1, -2], [-2, -3], [-3, 3], [-3, -3], [0, 0], [-3, 1], [0, -1],
                  [1, 2], [0, 3], [-2, 0]], np.float32)
    picks = kcenter_greedy(X, 5, centers=[18, 19], metric="cosine")
    assert kcenter_greedy_near_ties(X, picks, [18, 19], "cosine") == []


@given(problems())
def test_never_a_centre_never_twice(problem):
    X, centers, budget = problem
    picks = kcenter_greedy(X, budget, centers=centers)
    assert len(set(picks.tolist())) == budget
    assert not np.isin(picks, centers).any()


def test_clustered_data_with_pruning_matches_the_oracle():
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((25, 16)) * 4
    X = (centres[rng.integers(0, 25, 3000)] + rng.standard_normal((3000, 16))).astype(np.float32)
    labeled = rng.choice(3000, 40, replace=False)
    for centers in (labeled, ()):
        picks = kcenter_greedy(X, 150, centers=centers)
        np.testing.assert_array_equal(picks, kcenter_greedy_oracle(X, 150, centers))


def test_duplicates_of_centres_come_last_in_index_order():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 0.0], [0.0, 0.0], [3.0, 0.0]], dtype=np.float32)
    assert kcenter_greedy(X, 4, centers=[0]).tolist() == [2, 1, 3, 4]


def test_first_pick_without_centres_is_farthest_from_the_mean():
    X = np.array([[1.0, 0.0], [0.0, 0.0], [-1.0, 0.0], [10.0, 0.0]])
    assert kcenter_greedy(X, 1).tolist() == [3]
    assert kcenter_greedy(X[:1], 1).tolist() == [0]


def test_inputs_in_other_dtypes_and_layouts():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 6))
    expected = kcenter_greedy(X.astype(np.float32), 10, centers=[3, 7])
    np.testing.assert_array_equal(kcenter_greedy(np.asfortranarray(X), 10, centers=[3, 7]), expected)
    np.testing.assert_array_equal(kcenter_greedy(torch.from_numpy(X), 10, centers=np.array([3, 7])), expected)
    assert kcenter_greedy(X, 0, centers=[1]).shape == (0,)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(budget=10, centers=[0]), ValueError, r"'budget' parameter of kcenter_greedy must be an int in \[0, 9\]"),
    (dict(budget=-1), ValueError, "'budget' parameter of kcenter_greedy"),
    (dict(budget=1.0), TypeError, "'budget' parameter"),
    (dict(budget=1, centers=[0, 0]), ValueError, "'centers' parameter of kcenter_greedy must be free of duplicates"),
    (dict(budget=1, centers=[10]), ValueError, r"'centers' parameter of kcenter_greedy must be indices in \[0, 10\)"),
    (dict(budget=1, metric="manhattan"), ValueError, "'metric' parameter of kcenter_greedy"),
    (dict(budget=1, device="tpu"), ValueError, "'device' parameter of kcenter_greedy"),
])
def test_bad_arguments_name_the_argument(kwargs, error, match):
    X = np.random.default_rng(0).standard_normal((10, 3))
    with pytest.raises(error, match=match):
        kcenter_greedy(X, **kwargs)


def test_bad_features_name_the_argument():
    X = np.ones((4, 2))
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match="'X' parameter of kcenter_greedy must be finite"):
        kcenter_greedy(X, 1)
    with pytest.raises(ValueError, match="'X' parameter of kcenter_greedy must be a 2-D array"):
        kcenter_greedy(np.ones(4), 1)
    with pytest.raises(ValueError, match="'X' parameter of kcenter_greedy"):
        kcenter_greedy(np.ones((0, 3)), 0)


def test_exported_and_docstring_examples_run():
    assert nas_ext.kcenter_greedy is kcenter_greedy
    assert doctest.testmod(nas_ext.kcenter).failed == 0


def test_tiled_nearest_centres_match_the_oracle(monkeypatch):
    monkeypatch.setattr(nas_ext.kcenter, "_CENTRE_TILE", 3)
    monkeypatch.setattr(nas_ext.kcenter, "_MIN_ROW_TILE", 2)
    monkeypatch.setattr(nas_ext.kcenter, "_TILE_ELEMENTS", 8)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((60, 5)).astype(np.float32)
    centers = rng.choice(60, 17, replace=False)
    np.testing.assert_array_equal(kcenter_greedy(X, 30, centers=centers), kcenter_greedy_oracle(X, 30, centers))
