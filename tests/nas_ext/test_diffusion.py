import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracles.diffusion import dense_weights, diffuse_dense, gaussian
from oracles.graphs_knn import mean_pairwise_distance

import nas_ext
from nas_ext.graph import Graph


def _random_graph(rng, n, density, *, isolated=0):
    """A random directed CSR graph with random distances; the last `isolated` nodes have no edges at all."""
    A = sp.random(n, n, density=density, format="csr", random_state=rng, dtype=np.float64)
    A.data = rng.uniform(0.0, 2.0, A.nnz)
    if isolated:
        keep = np.ones(n)
        keep[n - isolated:] = 0
        D = sp.diags(keep)
        A = (D @ A @ D).tocsr()
        A.eliminate_zeros()
    return Graph.from_scipy(A)


graph_cases = st.tuples(
    st.integers(1, 40),                 # n
    st.floats(0.0, 0.5),                # density
    st.integers(0, 3),                  # isolated nodes
    st.integers(0, 2**31 - 1),          # seed
)


@given(graph_cases, st.sampled_from([np.float32, np.float64]), st.sampled_from([None, 1, 3]),
       st.floats(0.01, 1.0), st.integers(0, 12), st.floats(0.0, 1.0), st.floats(-2.0, 2.0))
def test_equals_dense_oracle(case, dtype, m, step, n_steps, fixed_share, fixed_value):
    n, density, isolated, seed = case
    rng = np.random.default_rng(seed)
    graph = _random_graph(rng, n, density, isolated=min(isolated, n))
    weights = rng.uniform(0.0, 1.0, graph.nnz).astype(np.float32)
    weights[rng.random(graph.nnz) < 0.2] = 0.0  # zero weights, and rows whose weights sum to zero
    shape = (n,) if m is None else (n, m)
    values = rng.uniform(-3.0, 3.0, shape).astype(dtype)
    fixed = np.flatnonzero(rng.random(n) < fixed_share * 0.5)
    got = nas_ext.diffuse(graph, values, weights=weights, step=step, n_steps=n_steps, fixed=fixed,
                          fixed_value=fixed_value)
    expected = diffuse_dense(dense_weights(graph.indptr, graph.indices, weights, n), values, step=step,
                             n_steps=n_steps, fixed=fixed, fixed_value=fixed_value)
    assert got.dtype == dtype and got.shape == shape
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


@given(st.integers(2, 30), st.integers(0, 2**31 - 1))
def test_default_weights_on_knn_graph_equal_oracle(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    graph = nas_ext.knn_graph(X, min(10, n - 1))
    values = rng.uniform(0, 1, n)
    labeled = rng.choice(n, size=1)
    got = nas_ext.diffuse(graph, values, fixed=labeled)
    weights = gaussian(graph.dist, mean_pairwise_distance(X) ** 2)
    expected = diffuse_dense(dense_weights(graph.indptr, graph.indices, weights, n), values, step=0.1,
                             n_steps=10, fixed=labeled)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@given(graph_cases, st.floats(0.01, 1.0), st.integers(1, 15))
def test_values_stay_within_their_range_and_fixed_entries_are_pinned(case, step, n_steps):
    n, density, isolated, seed = case
    rng = np.random.default_rng(seed)
    graph = _random_graph(rng, n, density, isolated=min(isolated, n))
    values = rng.uniform(0.0, 1.0, n)
    fixed = np.flatnonzero(rng.random(n) < 0.3)
    mask = np.zeros(n, dtype=bool)
    mask[fixed] = True
    got = nas_ext.diffuse(graph, values, weights=np.ones(graph.nnz), step=step, n_steps=n_steps, fixed=mask,
                          fixed_value=0.0)
    assert (got[fixed] == 0.0).all()
    assert got.min() >= -1e-12 and got.max() <= values.max() + 1e-12  # maximum principle for step <= 1
    np.testing.assert_array_equal(got, nas_ext.diffuse(graph, values, weights=np.ones(graph.nnz), step=step,
                                                       n_steps=n_steps, fixed=fixed))


@pytest.mark.parametrize("m", [None, 2])
def test_graph_large_enough_for_several_threads_equals_oracle(rng, m):
    # Above the kernel's per-thread work threshold, so rows are split between threads (rows split by edges).
    n = 30_000
    degrees = rng.integers(0, 30, n)
    degrees[:100] = 2000  # a few heavy rows: the split by edges must still cover every row once
    indptr = np.concatenate([[0], np.cumsum(degrees)])
    indices = np.concatenate([np.sort(rng.integers(0, n, d)) for d in degrees]).astype(np.int32)
    graph = Graph(indptr, indices, np.ones(indptr[-1], dtype=np.float32))
    weights = rng.uniform(0, 1, graph.nnz).astype(np.float32)
    values = rng.uniform(-1, 1, (n,) if m is None else (n, m))
    fixed = np.sort(rng.choice(n, 500, replace=False))
    got = nas_ext.diffuse(graph, values, weights=weights, fixed=fixed, fixed_value=0.5)
    A = sp.csr_matrix((weights.astype(np.float64), indices, indptr), shape=(n, n))
    expected = diffuse_dense(A, values, step=0.1, n_steps=10, fixed=fixed, fixed_value=0.5)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_isolated_nodes_and_constant_signals_keep_their_values(rng):
    graph = _random_graph(rng, 50, 0.2, isolated=5)
    values = rng.uniform(0, 1, 50)
    got = nas_ext.diffuse(graph, values, weights=np.ones(graph.nnz), n_steps=20)
    np.testing.assert_array_equal(got[45:], values[45:])
    constant = nas_ext.diffuse(graph, np.full(50, 0.7), weights=np.ones(graph.nnz), n_steps=20)
    np.testing.assert_allclose(constant, 0.7, rtol=1e-14)


def test_labeled_point_suppresses_its_neighbours_more_than_far_points():
    X = np.linspace(0, 1, 50, dtype=np.float32)[:, None]
    graph = nas_ext.knn_graph(X, 3)
    got = nas_ext.diffuse(graph, np.ones(50), fixed=[0], n_steps=10)
    assert got[0] == 0.0 and got[1] < got[2] < got[10] <= got[49] == 1.0


def test_zero_steps_return_a_copy_with_fixed_reset(rng):
    graph = _random_graph(rng, 10, 0.3)
    values = rng.uniform(0, 1, 10).astype(np.float32)
    before = values.copy()
    got = nas_ext.diffuse(graph, values, n_steps=0, fixed=[2], fixed_value=5.0)
    expected = before.copy()
    expected[2] = 5.0
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(values, before)


def test_torch_and_integer_values(rng):
    graph = _random_graph(rng, 20, 0.3)
    values = rng.integers(0, 5, 20)
    expected = nas_ext.diffuse(graph, values.astype(np.float64))
    got = nas_ext.diffuse(graph, values)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(nas_ext.diffuse(graph, torch.from_numpy(values.astype(np.float64))), expected)


def test_large_step_warns(rng):
    graph = _random_graph(rng, 10, 0.3)
    with pytest.warns(UserWarning, match="step=1.5 > 1"):
        nas_ext.diffuse(graph, np.ones(10), step=1.5)


def _path_graph(n=4):
    X = np.arange(n, dtype=np.float32)[:, None]
    return nas_ext.knn_graph(X, 1)


@pytest.mark.parametrize("kwargs, exc, argument", [
    ({"values": np.ones(3)}, ValueError, "'values'"),
    ({"values": np.ones((4, 2, 1))}, ValueError, "'values'"),
    ({"values": np.array([1.0, np.nan, 0.0, 0.0])}, ValueError, "'values'"),
    ({"values": np.array(["a"] * 4)}, TypeError, "'values'"),
    ({"weights": np.ones(5)}, ValueError, "'weights'"),
    ({"weights": -np.ones(6)}, ValueError, "'weights'"),
    ({"weights": np.full(6, np.nan)}, ValueError, "'weights'"),
    ({"weights": np.full(6, np.inf)}, ValueError, "'weights'"),
    ({"step": 0.0}, ValueError, "'step'"),
    ({"step": float("nan")}, ValueError, "'step'"),
    ({"step": "big"}, TypeError, "'step'"),
    ({"n_steps": -1}, ValueError, "'n_steps'"),
    ({"n_steps": 2.5}, TypeError, "'n_steps'"),
    ({"fixed": [4]}, ValueError, "'fixed'"),
    ({"fixed": [-1]}, ValueError, "'fixed'"),
    ({"fixed": [1, 1]}, ValueError, "'fixed'"),
    ({"fixed": np.ones(3, dtype=bool)}, ValueError, "'fixed'"),
    ({"fixed": [0.5]}, TypeError, "'fixed'"),
    ({"fixed_value": float("inf")}, ValueError, "'fixed_value'"),
    ({"device": "tpu"}, ValueError, "'device'"),
])
def test_bad_input_names_the_argument(kwargs, exc, argument):
    call = {"values": np.ones(4)} | kwargs
    with pytest.raises(exc, match=f"{argument} parameter of diffuse"):
        nas_ext.diffuse(_path_graph(), call.pop("values"), **call)


def test_malformed_graphs_are_errors_not_crashes():
    good = _path_graph()
    with pytest.raises(TypeError, match="'graph' parameter of diffuse"):
        nas_ext.diffuse(good.to_scipy(), np.ones(4))
    bad_index = Graph(good.indptr, np.where(good.indices == 3, 99, good.indices).astype(np.int32), good.dist)
    with pytest.raises(ValueError, match="'graph' parameter of diffuse .* indices in \\[0, 4\\)"):
        nas_ext.diffuse(bad_index, np.ones(4), weights=np.ones(good.nnz))
    bad_indptr = Graph(np.array([0, 3, 1, 5, 6]), good.indices, good.dist)
    with pytest.raises(ValueError, match="'graph' parameter of diffuse"):
        nas_ext.diffuse(bad_indptr, np.ones(4), weights=np.ones(good.nnz))
    short_indptr = Graph(np.array([0, 1, 3, 5, 9]), good.indices, good.dist)
    with pytest.raises(ValueError, match="'graph' parameter of diffuse"):
        nas_ext.diffuse(short_indptr, np.ones(4), weights=np.ones(good.nnz))


def test_gaussian_weights_default_scale_is_the_squared_mean_pairwise_distance(rng):
    X = rng.standard_normal((40, 4)).astype(np.float32)
    graph = nas_ext.knn_graph(X, 5)
    sigma = mean_pairwise_distance(X) ** 2
    got = nas_ext.gaussian_weights(graph)
    assert got.dtype == np.float32 and got.shape == (graph.nnz,)
    np.testing.assert_allclose(got, gaussian(graph.dist, sigma), rtol=1e-5)
    np.testing.assert_allclose(nas_ext.gaussian_weights(graph, 0.5), gaussian(graph.dist, 0.5), rtol=1e-6)


def test_gaussian_weights_without_pairwise_mean_use_the_edge_mean():
    dense = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 3.0], [0.0, 3.0, 0.0]])
    A = sp.csr_matrix(dense)
    A.setdiag(0.0)  # self-loops at distance 0 are left out of the mean
    graph = Graph.from_scipy(A)
    np.testing.assert_allclose(nas_ext.gaussian_weights(graph), gaussian(graph.dist, 2.0 ** 2), rtol=1e-6)


def test_gaussian_weights_of_identical_points_are_one():
    graph = nas_ext.knn_graph(np.ones((5, 3)), 2)
    assert graph.meta["mean_pairwise_distance"] == 0.0
    np.testing.assert_array_equal(nas_ext.gaussian_weights(graph), 1.0)


@pytest.mark.parametrize("sigma, exc", [(0.0, ValueError), (-1.0, ValueError), (np.nan, ValueError),
                                        ("wide", TypeError)])
def test_gaussian_weights_bad_sigma(sigma, exc):
    with pytest.raises(exc, match="'sigma' parameter of gaussian_weights"):
        nas_ext.gaussian_weights(_path_graph(), sigma)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_of_subnormal_weights_stay_finite(dtype):
    # Regression: a precomputed step / D_i overflows float32 when D_i is subnormal (far outliers under
    # Gaussian weights); the kernel divides the row's weighted sum by D_i instead.
    graph = Graph(np.array([0, 2, 3, 4]), np.array([1, 2, 0, 0], dtype=np.int32), np.ones(4, dtype=np.float32))
    weights = np.array([1e-44, 1e-44, 1.0, 1.0], dtype=np.float32)
    got = nas_ext.diffuse(graph, np.array([0.0, 1.0, 1.0], dtype=dtype), weights=weights, n_steps=1)
    np.testing.assert_allclose(got, [0.1, 0.9, 0.9], rtol=1e-6)
