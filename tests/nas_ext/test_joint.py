import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles.graphs_knn import dense_distances

import nas_ext
from nas_ext import joint


def _gaussian(n, d, seed):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 90), st.integers(1, 12), st.sampled_from(["cosine", "euclidean"]), st.integers(1, 40),
       st.floats(0.05, 0.95), st.integers(0, 2**31 - 1), st.booleans())
def test_radius_part_equals_the_dense_radius_graph_for_any_tiling(n, d, metric, tile, quantile, seed, symmetric):
    X = _gaussian(n, d, seed)
    D = dense_distances(X, metric)
    delta = max(1e-3, float(np.quantile(D[np.triu_indices(n, 1)], quantile)))
    k = min(n - 1, 1 + seed % 5)
    joint_tile = joint._tile_rows
    try:
        joint._tile_rows = lambda rows: tile  # several full-row tiles, also ragged ones
        graphs = nas_ext.neighbour_graphs(X, delta, k, metric=metric, symmetric=symmetric)
    finally:
        joint._tile_rows = joint_tile
    alone = nas_ext.radius_graph(X, delta, metric=metric, method="dense")
    np.testing.assert_array_equal(graphs.radius.indptr, alone.indptr)
    np.testing.assert_array_equal(graphs.radius.indices, alone.indices)
    np.testing.assert_array_equal(graphs.radius.dist, alone.dist)
    assert graphs.knn.k == k and graphs.knn.symmetric == symmetric


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("symmetric", [True, False])
def test_knn_part_has_the_neighbours_of_knn_graph(metric, symmetric):
    X = _gaussian(300, 16, 3)  # continuous data: no near-ties among the k nearest
    graphs = nas_ext.neighbour_graphs(X, 0.3, 7, metric=metric, symmetric=symmetric)
    alone = nas_ext.knn_graph(X, 7, metric=metric, symmetric=symmetric)
    np.testing.assert_array_equal(graphs.knn.indptr, alone.indptr)
    np.testing.assert_array_equal(graphs.knn.indices, alone.indices)
    # knn_graph normalises in float32, the joint build on the float64-prepared rows: last-bit differences
    np.testing.assert_allclose(graphs.knn.dist, alone.dist, rtol=1e-6, atol=1e-6)
    D = dense_distances(X, metric)
    rows = np.repeat(np.arange(300), np.diff(graphs.knn.indptr))
    np.testing.assert_allclose(graphs.knn.dist, D[rows, graphs.knn.indices], rtol=1e-5, atol=1e-6)
    assert np.isclose(graphs.knn.meta["mean_pairwise_distance"], alone.meta["mean_pairwise_distance"], rtol=1e-6)


def test_tiny_graph_by_hand():
    # two near-identical rows and one orthogonal row: the pair is the only radius edge, each row's nearest
    X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=np.float32)
    graphs = nas_ext.neighbour_graphs(X, 0.05, 1, symmetric=False)
    assert graphs.radius.indices.tolist() == [0, 1, 0, 1, 2]
    assert graphs.knn.indices.tolist() == [1, 0, 1]


def test_memmap_input_gives_the_same_graphs(tmp_path):
    X = _gaussian(500, 8, 5)
    np.save(tmp_path / "X.npy", X)
    mapped = nas_ext.neighbour_graphs(np.load(tmp_path / "X.npy", mmap_mode="r"), 0.4, 5)
    plain = nas_ext.neighbour_graphs(X, 0.4, 5)
    for a, b in zip(mapped, plain):
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.dist, b.dist)


def test_edge_cap_stops_the_build_with_an_error_naming_max_edges():
    X = _gaussian(400, 4, 1)
    with pytest.raises(ValueError, match=r"'max_edges' parameter of neighbour_graphs.*smaller 'delta'"):
        nas_ext.neighbour_graphs(X, 1.5, 3, max_edges=2000)


@pytest.mark.parametrize("kwargs, argument, exc", [
    ({"delta": 0.0}, "delta", ValueError),
    ({"delta": float("nan")}, "delta", ValueError),
    ({"k": 0}, "k", ValueError),
    ({"k": 10}, "k", ValueError),
    ({"metric": "manhattan"}, "metric", ValueError),
    ({"symmetric": "yes"}, "symmetric", TypeError),
    ({"progress": 1}, "progress", TypeError),
    ({"max_edges": 0}, "max_edges", ValueError),
])
def test_bad_input_names_the_parameter(kwargs, argument, exc):
    args = {"delta": 0.5, "k": 2, **kwargs}
    with pytest.raises(exc, match=f"'{argument}' parameter of neighbour_graphs"):
        nas_ext.neighbour_graphs(_gaussian(10, 3, 0), args.pop("delta"), args.pop("k"), **args)


def test_non_finite_row_is_named():
    X = _gaussian(10, 3, 0)
    X[4, 1] = np.nan
    with pytest.raises(ValueError, match="row 4"):
        nas_ext.neighbour_graphs(X, 0.5, 2)


def test_docstring_example():
    assert doctest.testmod(joint).failed == 0
