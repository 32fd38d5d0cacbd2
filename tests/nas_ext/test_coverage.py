import doctest

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from oracles.coverage import TIE_TOLERANCE, CoverageOracle

import nas_ext
import nas_ext.coverage
from nas_ext import CoverageState
from nas_ext.graph import Graph


def csr_from_dense(adjacency):
    """CSR arrays (indptr int64, indices int32) of a boolean adjacency matrix, built directly."""
    adjacency = np.asarray(adjacency, dtype=bool)
    indptr = np.concatenate([[0], np.cumsum(adjacency.sum(axis=1))]).astype(np.int64)
    indices = np.nonzero(adjacency)[1].astype(np.int32)
    return indptr, indices


def graph_from_dense(adjacency):
    indptr, indices = csr_from_dense(adjacency)
    return Graph(indptr, indices, np.zeros(indices.shape[0], dtype=np.float32))


@st.composite
def problems(draw):
    """A random small graph (radius graph over grid points with duplicates, or random directed), weights,
    and a random history of cover/discount/block/exclude calls."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, 14))
    if draw(st.booleans()):
        points = rng.integers(0, 4, size=(n, 2))
        radius = draw(st.sampled_from([0.5, 1.5, 2.5]))
        adjacency = np.linalg.norm(points[:, None] - points[None], axis=2) < radius
    else:
        adjacency = rng.random((n, n)) < draw(st.sampled_from([0.1, 0.3, 0.7]))
        adjacency[np.diag_indices(n)] |= draw(st.booleans())
    indptr, indices = csr_from_dense(adjacency)
    kind = draw(st.sampled_from(["unit", "integer", "float"]))
    weights = {"unit": None,
               "integer": rng.integers(0, 3, size=indices.shape[0]).astype(np.float64),
               "float": np.round(rng.random(indices.shape[0]), 3) * (rng.random(indices.shape[0]) < 0.9)}[kind]
    history = []
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["cover", "discount", "discount_per_source", "block", "exclude"]))
        nodes = rng.choice(n, size=rng.integers(0, n + 1), replace=True)
        factor = float(draw(st.sampled_from([0.0, 0.5, 0.8, 1.0, 0.37])))
        history.append((op, nodes, factor))
    return indptr, indices, weights, history


def apply_history(target, history):
    for op, nodes, factor in history:
        if op == "cover":
            target.cover(nodes)
        elif op == "discount":
            target.discount(nodes, factor)
        elif op == "discount_per_source":
            target.discount(nodes, factor, per_source=True)
        else:
            getattr(target, op)(nodes)


def is_symmetric(indptr, indices):
    n = indptr.shape[0] - 1
    pattern = sp.csr_matrix((np.ones(indices.shape[0]), indices, indptr), shape=(n, n))
    return (pattern != pattern.T).nnz == 0


def build(problem):
    indptr, indices, weights, history = problem
    graph = Graph(indptr, indices, np.zeros(indices.shape[0], np.float32), symmetric=is_symmetric(indptr, indices))
    state = CoverageState(graph, weights=weights)
    oracle = CoverageOracle(indptr, indices, weights)
    apply_history(state, history)
    apply_history(oracle, history)
    return state, oracle


def assert_same_state(state, oracle):
    np.testing.assert_allclose(state.gains(), oracle.gains(), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(state.coverage(), oracle.level)
    np.testing.assert_array_equal(state.multipliers(), oracle.mult)
    np.testing.assert_array_equal(state.candidates(), oracle.pickable)


@given(problems(), st.data())
def test_picks_and_gains_match_the_oracle(problem, data):
    state, oracle = build(problem)
    assert_same_state(state, oracle)
    k = data.draw(st.integers(0, state.n_candidates))
    picks, gains = state.pick(k)
    expected_picks, expected_gains = oracle.pick(k)
    np.testing.assert_array_equal(picks, expected_picks)
    np.testing.assert_allclose(gains, expected_gains, rtol=1e-9, atol=1e-9)
    assert picks.dtype == np.int64 and gains.dtype == np.float64
    assert_same_state(state, oracle)


@given(problems(), st.data())
def test_random_ties_follow_the_seeded_permutation(problem, data):
    state, oracle = build(problem)
    k = data.draw(st.integers(0, state.n_candidates))
    seed = data.draw(st.integers(0, 2**31))
    picks, gains = state.pick(k, tie_break="random", seed=seed)
    keys = np.random.default_rng(seed).permutation(state.n)
    expected_picks, expected_gains = oracle.pick(k, keys=keys)
    np.testing.assert_array_equal(picks, expected_picks)
    np.testing.assert_allclose(gains, expected_gains, rtol=1e-9, atol=1e-9)
    again, _ = build(problem)[0].pick(k, tie_break="random", seed=seed)
    np.testing.assert_array_equal(picks, again)


@given(problems(), st.data())
def test_picks_are_valid_and_gains_never_increase(problem, data):
    state, _ = build(problem)
    allowed = state.candidates()
    k = data.draw(st.integers(0, state.n_candidates))
    before = state.gains()
    picks = []
    for _ in range(k):
        (p,), (g,) = state.pick(1, tie_break=data.draw(st.sampled_from(["lowest", "random"])), seed=0)
        after = state.gains()
        assert np.all(after <= before)
        assert g <= before[allowed].max() + TIE_TOLERANCE * max(1.0, before.max())
        picks.append(p)
        before = after
    assert len(picks) == k == len(set(picks))
    assert allowed[picks].all()
    assert state.n_candidates == allowed.sum() - k


@given(problems(), st.data())
def test_one_call_equals_several_calls(problem, data):
    state, _ = build(problem)
    k = data.draw(st.integers(0, state.n_candidates))
    split = data.draw(st.integers(0, k))
    first, _ = state.pick(split)
    second, _ = state.pick(k - split)
    whole, _ = build(problem)[0].pick(k)
    np.testing.assert_array_equal(np.concatenate([first, second]), whole)


@pytest.mark.parametrize("symmetric", [False, True])
def test_larger_graph_matches_oracle_through_exhaustion(symmetric):
    rng = np.random.default_rng(3)
    points = rng.integers(0, 12, size=(400, 2))
    adjacency = np.linalg.norm(points[:, None] - points[None], axis=2) < 2.0
    indptr, indices = csr_from_dense(adjacency)
    graph = Graph(indptr, indices, np.zeros(indices.shape[0], np.float32), symmetric=symmetric)
    for weights in (None, rng.random(indices.shape[0])):
        state = CoverageState(graph, weights=weights)
        oracle = CoverageOracle(indptr, indices, weights)
        state.block([5, 6, 7])
        oracle.block([5, 6, 7])
        state.discount(np.arange(10, 40), 0.6, per_source=True)
        oracle.discount(np.arange(10, 40), 0.6, per_source=True)
        picks, gains = state.pick(300)
        expected_picks, expected_gains = oracle.pick(300)
        np.testing.assert_array_equal(picks, expected_picks)
        np.testing.assert_allclose(gains, expected_gains, rtol=1e-9, atol=1e-9)
        assert gains[-1] == 0.0  # the graph is exhausted and picks go on among zero gains


def two_clusters_and_an_outlier():
    """Nodes 0-3 are one cluster, 4-6 another, 7 an outlier with only its self-loop."""
    adjacency = np.zeros((8, 8), dtype=bool)
    adjacency[:4, :4] = True
    adjacency[4:7, 4:7] = True
    adjacency[7, 7] = True
    return graph_from_dense(adjacency)


def test_probcover_picks_one_sample_per_cluster_then_the_outlier():
    state = CoverageState(two_clusters_and_an_outlier())
    picks, gains = state.pick(4)
    assert picks.tolist() == [0, 4, 7, 1]
    assert gains.tolist() == [4.0, 3.0, 1.0, 0.0]
    np.testing.assert_array_equal(state.coverage(), np.ones(8))


def test_npc_clean_samples_cover_and_noisy_samples_are_blocked():
    state = CoverageState(two_clusters_and_an_outlier())
    state.cover([4])  # labeled, predicted clean: its cluster is covered
    state.exclude([4])
    state.block([0])  # labeled, predicted noisy: covers nothing, never picked
    np.testing.assert_array_equal(state.gains(), [0, 4, 4, 4, 0, 0, 0, 1])
    picks, gains = state.pick(2)
    assert picks.tolist() == [1, 7]
    assert gains.tolist() == [4.0, 1.0]


def test_weighted_npc_discounts_the_balls_of_noisy_samples():
    state = CoverageState(two_clusters_and_an_outlier())
    state.block([0])
    state.discount([0], 0.25)  # 1 - q̂ with q̂ = 0.75
    np.testing.assert_allclose(state.gains()[:5], [0, 1, 1, 1, 3])
    (pick,), (gain,) = state.pick(1)
    assert pick == 4 and gain == 3.0


def test_per_source_discount_counts_each_covering_source():
    adjacency = np.zeros((4, 4), dtype=bool)
    adjacency[0, [0, 2]] = adjacency[1, [1, 2]] = adjacency[3, [2, 3]] = True
    adjacency[2, 2] = True
    state = CoverageState(graph_from_dense(adjacency))
    state.discount([0, 1, 1], 0.5, per_source=True)
    np.testing.assert_array_equal(state.multipliers(), [0.5, 0.5, 0.25, 1.0])
    state = CoverageState(graph_from_dense(adjacency))
    state.discount([0, 1], 0.5)
    np.testing.assert_array_equal(state.multipliers(), [0.5, 0.5, 0.5, 1.0])
    np.testing.assert_array_equal(state.gains(), [1.0, 1.0, 0.5, 1.5])


def test_weighted_cover_takes_the_maximum_level():
    adjacency = np.ones((2, 2), dtype=bool)
    weights = np.array([1.0, 0.3, 0.6, 0.9])  # edges 0->0, 0->1, 1->0, 1->1
    state = CoverageState(graph_from_dense(adjacency), weights=weights)
    state.cover([1])
    np.testing.assert_allclose(state.coverage(), [0.6, 0.9])
    state.cover([0])
    np.testing.assert_allclose(state.coverage(), [1.0, 0.9])
    np.testing.assert_allclose(state.gains(), [0.0, 0.0])


def test_scipy_input_stored_zeros_are_edges():
    matrix = sp.csr_matrix((np.zeros(3), np.array([0, 1, 1]), np.array([0, 2, 3])), shape=(2, 2))
    state = CoverageState(matrix)
    assert state.nnz == 3
    np.testing.assert_array_equal(state.gains(), [2.0, 1.0])
    assert CoverageState(sp.coo_matrix(np.eye(3))).gains().tolist() == [1.0, 1.0, 1.0]


def test_different_seeds_break_ties_differently():
    state_graph = graph_from_dense(np.eye(60, dtype=bool))
    runs = {tuple(CoverageState(state_graph).pick(10, tie_break="random", seed=s)[0]) for s in range(4)}
    assert len(runs) > 1
    fresh = CoverageState(state_graph).pick(10, tie_break="random")[0]
    assert len(set(fresh.tolist())) == 10


def test_seed_accepts_a_generator():
    graph = graph_from_dense(np.eye(30, dtype=bool))
    picks, _ = CoverageState(graph).pick(5, tie_break="random", seed=np.random.default_rng(7))
    expected, _ = CoverageState(graph).pick(5, tie_break="random", seed=7)
    np.testing.assert_array_equal(picks, expected)


def test_single_node_and_empty_selection():
    state = CoverageState(graph_from_dense(np.ones((1, 1), dtype=bool)))
    picks, gains = state.pick(0)
    assert picks.shape == (0,) and gains.shape == (0,)
    picks, gains = state.pick(1)
    assert picks.tolist() == [0] and gains.tolist() == [1.0]
    assert state.n_candidates == 0


def test_too_many_picks_is_an_error_before_any_pick():
    state = CoverageState(two_clusters_and_an_outlier())
    state.exclude([0, 1, 2])
    with pytest.raises(ValueError, match=r"'k' parameter of CoverageState.pick must be an int in \[0, 5\]"):
        state.pick(6)
    assert state.n_candidates == 5
    np.testing.assert_array_equal(state.coverage(), np.zeros(8))


@pytest.mark.parametrize("call, error, match", [
    (lambda s: s.pick(-1), ValueError, "'k' parameter of CoverageState.pick"),
    (lambda s: s.pick(1.5), TypeError, "'k' parameter"),
    (lambda s: s.pick(1, tie_break="first"), ValueError, "'tie_break' parameter"),
    (lambda s: s.pick(1, tie_break="random", seed="x"), TypeError, "'seed' parameter"),
    (lambda s: s.pick(1, tie_break="random", seed=-3), ValueError, "'seed' parameter"),
    (lambda s: s.cover([8]), ValueError, r"'sources' parameter of CoverageState.cover must be indices in \[0, 8\)"),
    (lambda s: s.cover([-1]), ValueError, "'sources' parameter"),
    (lambda s: s.cover([0.5]), TypeError, "'sources' parameter"),
    (lambda s: s.block([[0, 1]]), ValueError, "'nodes' parameter of CoverageState.block"),
    (lambda s: s.exclude([9]), ValueError, "'nodes' parameter of CoverageState.exclude"),
    (lambda s: s.discount([0], 1.5), ValueError, r"'factor' parameter of CoverageState.discount must be a float in \[0, 1\]"),
    (lambda s: s.discount([0], float("nan")), ValueError, "'factor' parameter"),
    (lambda s: s.discount([0], 0.5, per_source="yes"), TypeError, "'per_source' parameter"),
])
def test_bad_calls_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call(CoverageState(two_clusters_and_an_outlier()))


def test_bad_construction_names_the_argument():
    graph = two_clusters_and_an_outlier()
    with pytest.raises(ValueError, match="'weights' parameter of CoverageState must be a 1-D array of length 26"):
        CoverageState(graph, weights=np.ones(5))
    with pytest.raises(ValueError, match="'weights' parameter of CoverageState must be non-negative"):
        CoverageState(graph, weights=-np.ones(graph.nnz))
    with pytest.raises(ValueError, match="'weights' parameter of CoverageState must be finite"):
        CoverageState(graph, weights=np.full(graph.nnz, np.inf))
    with pytest.raises(TypeError, match="'graph' parameter of CoverageState"):
        CoverageState(np.eye(3))
    with pytest.raises(TypeError, match="'graph' parameter of CoverageState"):
        CoverageState(sp.csr_matrix(np.ones((2, 3))))
    with pytest.raises(ValueError, match="'device' parameter of CoverageState"):
        CoverageState(graph, device="tpu")
    broken = Graph(np.array([0, 2, 1], dtype=np.int64), np.array([0], dtype=np.int32), np.zeros(1, np.float32))
    with pytest.raises(ValueError, match="'indptr' parameter of CoverageState"):
        CoverageState(broken)
    outside = Graph(np.array([0, 1], dtype=np.int64), np.array([3], dtype=np.int32), np.zeros(1, np.float32))
    with pytest.raises(ValueError, match="'indices' parameter of CoverageState"):
        CoverageState(outside)


def test_exported_and_docstring_examples_run():
    assert nas_ext.CoverageState is CoverageState
    assert doctest.testmod(nas_ext.coverage).failed == 0
