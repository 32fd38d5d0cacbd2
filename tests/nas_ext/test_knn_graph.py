import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracles.graphs_knn import dense_distances, knn_lists, mean_pairwise_distance, symmetric_union

import nas_ext
from nas_ext import knn as knn_module


def _directed(graph):
    """(neighbours (n, k), dist (n, k)) of a directed kNN Graph."""
    return graph.indices.reshape(graph.n, graph.k), graph.dist.reshape(graph.n, graph.k)


def _assert_nearest(X, k, metric, neighbours, dist, tol=1e-5):
    """Each row holds k distinct non-self neighbours, none farther than the oracle's k-th (up to tol), with
    their exact distances; so the sets equal the oracle's except among near-ties."""
    D = dense_distances(X, metric)
    np.fill_diagonal(D, np.inf)
    kth = np.sort(D, axis=1)[:, k - 1]
    rows = np.arange(X.shape[0])[:, None]
    assert (neighbours != rows).all()
    assert (np.diff(neighbours, axis=1) > 0).all()
    assert (D[rows, neighbours] <= kth[:, None] + tol).all()
    np.testing.assert_allclose(dist, D[rows, neighbours], rtol=1e-5, atol=1e-6)


integer_points = st.integers(2, 40).flatmap(
    lambda n: st.tuples(st.integers(1, 5), st.integers(1, n - 1), st.integers(0, 2**31 - 1)).map(
        lambda t: (np.random.default_rng(t[2]).integers(-2, 3, size=(n, t[0])).astype(np.float32), t[1])))


@given(integer_points, st.booleans())
def test_euclidean_integer_points_equal_oracle_with_lowest_index_ties(data, symmetric):
    X, k = data  # small integer coordinates: exact arithmetic, many duplicates and ties
    graph = nas_ext.knn_graph(X, k, symmetric=symmetric)
    neighbours, dist = knn_lists(X, k)
    assert graph.k == k and graph.symmetric == symmetric and graph.metric == "euclidean"
    if symmetric:
        indptr, indices, edge_dist = symmetric_union(neighbours, dist)
        np.testing.assert_array_equal(graph.indptr, indptr)
        np.testing.assert_array_equal(graph.indices, indices)
        np.testing.assert_allclose(graph.dist, edge_dist, rtol=1e-6)
    else:
        got_neighbours, got_dist = _directed(graph)
        np.testing.assert_array_equal(got_neighbours, neighbours)
        np.testing.assert_allclose(got_dist, dist, rtol=1e-6)
    assert graph.meta["mean_pairwise_distance"] == pytest.approx(mean_pairwise_distance(X), rel=1e-6)


@given(st.integers(2, 60), st.integers(1, 8), st.sampled_from(["euclidean", "cosine"]), st.integers(0, 2**31 - 1))
def test_random_points_match_oracle(n, d, metric, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    k = int(rng.integers(1, n))
    graph = nas_ext.knn_graph(X, k, metric=metric, symmetric=False)
    _assert_nearest(X, k, metric, *_directed(graph))
    assert graph.meta["mean_pairwise_distance"] == pytest.approx(mean_pairwise_distance(X, metric), rel=1e-4)


@given(st.integers(3, 50), st.integers(0, 2**31 - 1))
def test_symmetric_graph_is_the_union_and_its_own_reverse(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    k = int(rng.integers(1, n))
    directed = nas_ext.knn_graph(X, k, symmetric=False)
    graph = nas_ext.knn_graph(X, k)
    expected = directed.to_scipy().astype(bool) + directed.to_scipy().astype(bool).T
    np.testing.assert_array_equal((graph.to_scipy().astype(bool) != expected).nnz, 0)
    A = graph.to_scipy()
    assert abs(A - A.T).max() == 0.0
    degrees = graph.degrees()
    assert degrees.min() >= k and degrees.max() <= n - 1
    assert all((np.diff(graph.indices[graph.indptr[i]:graph.indptr[i + 1]]) > 0).all() for i in range(n))


def test_tiles_smaller_than_the_data_give_the_same_graph(monkeypatch, rng):
    X = rng.standard_normal((300, 7)).astype(np.float32)
    whole = nas_ext.knn_graph(X, 5)
    monkeypatch.setattr(knn_module, "TILE_BYTES", 4 * 300 * 20)
    monkeypatch.setattr(knn_module, "MIN_TILE_ROWS", 1)
    tiled = nas_ext.knn_graph(X, 5)
    assert knn_module._tile_rows(300) == 20
    np.testing.assert_array_equal(tiled.indices, whole.indices)
    np.testing.assert_array_equal(tiled.dist, whole.dist)
    assert tiled.meta["mean_pairwise_distance"] == pytest.approx(whole.meta["mean_pairwise_distance"], rel=1e-12)


def test_clustered_high_dimensional_data_match_oracle(rng):
    centres = rng.standard_normal((10, 64))
    X = (centres[rng.integers(0, 10, 500)] + 0.2 * rng.standard_normal((500, 64))).astype(np.float32)
    for metric in ("euclidean", "cosine"):
        graph = nas_ext.knn_graph(X, 10, metric=metric, symmetric=False)
        _assert_nearest(X, 10, metric, *_directed(graph))


def test_cosine_zero_rows_are_at_distance_one(rng):
    X = np.zeros((4, 3), dtype=np.float32)
    X[0] = [1, 0, 0]
    graph = nas_ext.knn_graph(X, 3, metric="cosine", symmetric=False)
    np.testing.assert_allclose(graph.dist, 1.0)


def test_duplicates_are_neighbours_at_distance_zero():
    X = np.array([[1.0, 2.0]] * 3 + [[5.0, 5.0]], dtype=np.float32)
    neighbours, dist = _directed(nas_ext.knn_graph(X, 2, symmetric=False))
    np.testing.assert_array_equal(neighbours[:3], [[1, 2], [0, 2], [0, 1]])
    np.testing.assert_array_equal(dist[:3], 0.0)
    np.testing.assert_array_equal(neighbours[3], [0, 1])


def test_input_layouts_and_types_give_the_same_graph(rng, tmp_path):
    X = rng.standard_normal((80, 5))
    reference = nas_ext.knn_graph(X.astype(np.float32), 4)
    path = tmp_path / "x.npy"
    np.save(path, X.astype(np.float32))
    for variant in (X, np.asfortranarray(X), torch.from_numpy(X.astype(np.float32)), np.load(path, mmap_mode="r")):
        graph = nas_ext.knn_graph(variant, 4)
        np.testing.assert_array_equal(graph.indices, reference.indices)
        np.testing.assert_array_equal(graph.dist, reference.dist)
    assert reference.indptr.dtype == np.int64 and reference.indices.dtype == np.int32
    assert reference.dist.dtype == np.float32


def test_two_points():
    graph = nas_ext.knn_graph(np.array([[0.0, 0.0], [3.0, 4.0]]), 1)
    assert graph.indices.tolist() == [1, 0] and graph.dist.tolist() == [5.0, 5.0]


@pytest.mark.parametrize("X, k, exc, argument", [
    (np.zeros((5, 2)), 5, ValueError, "'k'"),
    (np.zeros((5, 2)), 0, ValueError, "'k'"),
    (np.zeros((5, 2)), 1.5, TypeError, "'k'"),
    (np.zeros((5, 2)), True, TypeError, "'k'"),
    (np.zeros((1, 2)), 1, ValueError, "'X'"),
    (np.zeros((0, 2)), 1, ValueError, "'X'"),
    (np.zeros(5), 1, ValueError, "'X'"),
    (np.array([[0.0, np.nan], [1.0, 1.0]]), 1, ValueError, "'X'"),
    (np.array([[0.0, np.inf], [1.0, 1.0]]), 1, ValueError, "'X'"),
    (np.array([["a"], ["b"]]), 1, TypeError, "'X'"),
])
def test_bad_input_names_the_argument(X, k, exc, argument):
    with pytest.raises(exc, match=f"{argument} parameter of knn_graph"):
        nas_ext.knn_graph(X, k)


def test_bad_options_name_the_argument():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="'metric' parameter of knn_graph"):
        nas_ext.knn_graph(X, 1, metric="manhattan")
    with pytest.raises(TypeError, match="'symmetric' parameter of knn_graph"):
        nas_ext.knn_graph(X, 1, symmetric="yes")
    with pytest.raises(ValueError, match="'device' parameter of knn_graph"):
        nas_ext.knn_graph(X, 1, device="tpu")


@given(integer_points, st.booleans())
def test_graph_from_neighbours_equals_knn_graph_given_its_lists_in_any_order(data, symmetric):
    X, k = data
    neighbours, dist = knn_lists(X, k)
    shuffle = np.random.default_rng(k).permuted(np.tile(np.arange(k), (X.shape[0], 1)), axis=1)
    graph = nas_ext.graph_from_neighbours(np.take_along_axis(neighbours, shuffle, axis=1),
                                          np.take_along_axis(dist, shuffle, axis=1), symmetric=symmetric,
                                          mean_pairwise_distance=1.5)
    expected = nas_ext.knn_graph(X, k, symmetric=symmetric)
    np.testing.assert_array_equal(graph.indptr, expected.indptr)
    np.testing.assert_array_equal(graph.indices, expected.indices)
    np.testing.assert_allclose(graph.dist, expected.dist, rtol=1e-6)
    assert graph.meta == {"mean_pairwise_distance": 1.5} and graph.k == k


@pytest.mark.parametrize("neighbours, dist, exc, argument", [
    ([[1], [1], [0]], [[1.0], [1.0], [1.0]], ValueError, "'neighbours'"),       # row 1 lists itself
    ([[1, 1], [0, 2], [0, 1]], np.ones((3, 2)), ValueError, "'neighbours'"),    # a repeat
    ([[1], [3], [0]], [[1.0], [1.0], [1.0]], ValueError, "'neighbours'"),       # out of range
    ([[1.0], [0.0], [0.0]], [[1.0], [1.0], [1.0]], TypeError, "'neighbours'"),
    ([[1, 2, 0]], [[1.0, 1.0, 1.0]], ValueError, "'neighbours'"),               # k >= n
    ([[1], [0], [0]], [[1.0], [1.0]], ValueError, "'dist'"),
    ([[1], [0], [0]], [[1.0], [-1.0], [1.0]], ValueError, "'dist'"),
    ([[1], [0], [0]], [[1.0], [np.nan], [1.0]], ValueError, "'dist'"),
])
def test_graph_from_neighbours_bad_input(neighbours, dist, exc, argument):
    with pytest.raises(exc, match=f"{argument} parameter of graph_from_neighbours"):
        nas_ext.graph_from_neighbours(np.array(neighbours), np.array(dist))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_ties_between_duplicated_float_points_go_to_the_lowest_index(rng, metric):
    base = rng.standard_normal((30, 5)).astype(np.float32)
    X = np.concatenate([base, base])  # row i + 30 duplicates row i: every other neighbour comes as a tied pair
    neighbours, _ = _directed(nas_ext.knn_graph(X, 2, metric=metric, symmetric=False))
    D = dense_distances(base, metric)
    np.fill_diagonal(D, np.inf)
    nearest_other = np.argmin(D, axis=1)  # in base; its copy at +30 ties with it
    for i in range(30):
        np.testing.assert_array_equal(neighbours[i], sorted([nearest_other[i], i + 30]))
        np.testing.assert_array_equal(neighbours[i + 30], sorted([i, nearest_other[i]]))
