"""radius_graph: same edge set and distances as the float64 oracle, exact restrict(), every input kind, bad input."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from oracles.graphs import pairwise_distances, separated_deltas

import nas_ext
from nas_ext import _C, radius
from nas_ext.graph import Graph

METRICS = ["cosine", "euclidean"]


def adjacency(g: Graph) -> np.ndarray:
    A = np.zeros((g.n, g.n), dtype=bool)
    A[g.rows(), g.indices] = True
    return A


def assert_matches_oracle(g: Graph, X, delta: float, metric: str) -> None:
    D = pairwise_distances(X, metric)
    n = D.shape[0]
    assert g.indptr.dtype == np.int64 and g.indices.dtype == np.int32 and g.dist.dtype == np.float32
    assert g.n == n and g.indptr[0] == 0 and g.indptr[-1] == g.nnz
    assert g.metric == metric and g.delta == delta and g.symmetric
    for i in range(n):
        row = g.indices[g.indptr[i]:g.indptr[i + 1]]
        assert np.all(np.diff(row) > 0), f"row {i} not strictly sorted"
    np.testing.assert_array_equal(adjacency(g), D < delta)
    np.testing.assert_allclose(g.dist, D[g.rows(), g.indices], rtol=1e-5, atol=1e-6)
    assert np.all(g.dist[g.rows() == g.indices] == 0.0)


@st.composite
def point_sets(draw, max_n=24, max_d=5):
    """Small point sets with duplicated rows, all-zero rows, integer grids and arbitrary floats."""
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, max_d))
    grid = st.integers(-2, 2).map(float)
    floats = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False, width=32)
    X = draw(arrays(np.float64, (n, d), elements=st.one_of(grid, floats)))
    for _ in range(draw(st.integers(0, n - 1))):
        src, dst = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        X[dst] = X[src]
    if draw(st.booleans()):
        X[draw(st.integers(0, n - 1))] = 0.0
    return X


@given(X=point_sets(), metric=st.sampled_from(METRICS), data=st.data(),
       tile_rows=st.sampled_from([1, 2, 3, 5, 2048]), tile_cols=st.sampled_from([1, 3, 4096]))
def test_same_edges_and_distances_as_oracle(X, metric, data, tile_rows, tile_cols):
    deltas = separated_deltas(pairwise_distances(X, metric))
    delta = float(data.draw(st.sampled_from(list(deltas))))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(radius, "DEFAULT_TILE_COLS", tile_cols)
        g = nas_ext.radius_graph(X, delta, metric=metric, tile_rows=tile_rows)
    assert_matches_oracle(g, X, delta, metric)


@given(X=point_sets(), metric=st.sampled_from(METRICS),
       small=st.floats(1e-3, 3.0), factor=st.floats(1.0, 4.0))
def test_restrict_equals_a_fresh_build_at_the_smaller_radius(X, metric, small, factor):
    big = nas_ext.radius_graph(X, small * factor, metric=metric)
    fresh = nas_ext.radius_graph(X, small, metric=metric)
    restricted = big.restrict(small)
    np.testing.assert_array_equal(restricted.indptr, fresh.indptr)
    np.testing.assert_array_equal(restricted.indices, fresh.indices)
    np.testing.assert_array_equal(restricted.dist, fresh.dist)


@given(X=point_sets(max_n=30), metric=st.sampled_from(METRICS), delta=st.floats(1e-3, 5.0))
def test_graph_does_not_depend_on_the_tiling(X, metric, delta):
    reference = nas_ext.radius_graph(X, delta, metric=metric)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(radius, "DEFAULT_TILE_COLS", 4)
        tiled = nas_ext.radius_graph(X, delta, metric=metric, tile_rows=3)
    np.testing.assert_array_equal(tiled.indptr, reference.indptr)
    np.testing.assert_array_equal(tiled.indices, reference.indices)
    np.testing.assert_array_equal(tiled.dist, reference.dist)


@pytest.mark.parametrize("metric", METRICS)
def test_clustered_data_with_many_tiles_matches_oracle(metric, rng, monkeypatch):
    centres = rng.standard_normal((8, 24))
    X = (centres[rng.integers(0, 8, 1500)] + 0.3 * rng.standard_normal((1500, 24))).astype(np.float32)
    X[700:720] = X[100:120]  # duplicates across tiles
    D = pairwise_distances(X, metric)
    deltas = separated_deltas(D, min_gap=1e-4)
    delta = float(deltas[np.searchsorted(deltas, np.quantile(D, 0.02))])
    monkeypatch.setattr(radius, "DEFAULT_TILE_COLS", 700)
    g = nas_ext.radius_graph(X, delta, metric=metric, tile_rows=256)
    assert_matches_oracle(g, X, delta, metric)
    assert g.nnz > 10 * g.n  # a real graph, not just self-loops


@pytest.mark.parametrize("metric", METRICS)
def test_duplicates_are_at_distance_zero(metric, rng):
    X = rng.standard_normal((50, 7)) * 10 + 100  # far from the origin: the GEMM cancellation is large
    X[25:] = X[:25]
    g = nas_ext.radius_graph(X, 1e-6, metric=metric)
    assert g.nnz == 100
    for i in range(50):
        np.testing.assert_array_equal(g.indices[g.indptr[i]:g.indptr[i + 1]], sorted({i, (i + 25) % 50}))
    assert np.all(g.dist <= (1e-7 if metric == "cosine" else 0.0))


@pytest.mark.parametrize("metric", METRICS)
def test_single_point_has_its_self_loop(metric):
    g = nas_ext.radius_graph(np.array([[0.5, -1.0, 2.0]]), 0.1, metric=metric)
    assert g.indptr.tolist() == [0, 1] and g.indices.tolist() == [0] and g.dist.tolist() == [0.0]


def test_far_apart_points_keep_only_self_loops():
    X = np.eye(6) * 5.0
    g = nas_ext.radius_graph(X, 1.0, metric="euclidean")
    assert g.indices.tolist() == list(range(6)) and g.degrees().tolist() == [1] * 6


def test_zero_rows_are_at_cosine_distance_one():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [-2.0, 0.0]])
    below = nas_ext.radius_graph(X, 1.0, metric="cosine")
    assert below.degrees().tolist() == [1, 1, 1, 1]
    above = nas_ext.radius_graph(X, 1.0 + 1e-6, metric="cosine")
    assert above.degrees().tolist() == [4, 3, 4, 3]  # zero rows reach everyone; [1,0] and [-2,0] are 2 apart
    np.testing.assert_array_equal(above.dist[above.rows() != above.indices], 1.0)


def test_graph_is_symmetric(rng):
    X = rng.standard_normal((200, 5))
    g = nas_ext.radius_graph(X, 1.5, metric="euclidean")
    S = g.to_scipy()
    assert (S != S.T).nnz == 0
    np.testing.assert_array_equal(np.sort(g.rows()), np.sort(g.indices.astype(np.int64)))


@pytest.mark.parametrize("metric", METRICS)
def test_every_input_kind_gives_the_same_graph(metric, rng, tmp_path):
    X = rng.standard_normal((120, 6)).astype(np.float32)
    reference = nas_ext.radius_graph(X, 0.8, metric=metric)
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=X.shape)
    mm[:] = X
    mm.flush()
    inputs = {
        "float64": X.astype(np.float64),
        "fortran": np.asfortranarray(X),
        "memmap": np.load(tmp_path / "x.npy", mmap_mode="r"),
        "torch": torch.from_numpy(X.copy()),
        "strided": np.repeat(X, 2, axis=1)[:, ::2],
    }
    for name, value in inputs.items():
        g = nas_ext.radius_graph(value, 0.8, metric=metric)
        np.testing.assert_array_equal(g.indptr, reference.indptr, err_msg=name)
        np.testing.assert_array_equal(g.indices, reference.indices, err_msg=name)
        np.testing.assert_array_equal(g.dist, reference.dist, err_msg=name)


def test_reduced_precision_matmul_setting_is_overridden(rng):
    X = rng.standard_normal((300, 48)).astype(np.float32)
    D = pairwise_distances(X, "cosine")
    delta = float(separated_deltas(D)[np.searchsorted(separated_deltas(D), np.quantile(D, 0.05))])
    matmul = torch.backends.mkldnn.matmul
    before = matmul.fp32_precision
    matmul.fp32_precision = "bf16"
    try:
        g = nas_ext.radius_graph(X, delta)
        assert matmul.fp32_precision == "bf16"
    finally:
        matmul.fp32_precision = before
    assert_matches_oracle(g, X, delta, "cosine")


def test_progress_bar_is_optional(rng, capsys):
    X = rng.standard_normal((40, 3))
    quiet = nas_ext.radius_graph(X, 0.5, metric="euclidean")
    assert capsys.readouterr().err == ""
    shown = nas_ext.radius_graph(X, 0.5, metric="euclidean", progress=True)
    assert "radius_graph" in capsys.readouterr().err
    np.testing.assert_array_equal(quiet.indices, shown.indices)


# ---- edge cap --------------------------------------------------------------------------------------------


def test_max_edges_allows_the_exact_count_and_refuses_one_less(rng):
    X = rng.standard_normal((300, 4))
    g = nas_ext.radius_graph(X, 1.0, metric="euclidean")
    assert nas_ext.radius_graph(X, 1.0, metric="euclidean", max_edges=g.nnz).nnz == g.nnz
    with pytest.raises(ValueError, match=r"'max_edges' parameter of radius_graph.*smaller 'delta'"):
        nas_ext.radius_graph(X, 1.0, metric="euclidean", max_edges=g.nnz - 1)


def test_max_edges_stops_early_on_a_huge_radius(rng):
    X = rng.standard_normal((3000, 8)).astype(np.float32)
    with pytest.raises(ValueError, match=r"max_edges.*delta=100.*% of the distance tiles") as info:
        nas_ext.radius_graph(X, 100.0, metric="euclidean", max_edges=50_000, tile_rows=256)
    assert "Got 50000 instead." in str(info.value)
    assert not str(info.value).count("after 100%")


def test_max_edges_below_the_self_loops():
    with pytest.raises(ValueError, match="'max_edges' parameter of radius_graph"):
        nas_ext.radius_graph(np.ones((10, 2)), 0.5, max_edges=9)


def test_default_edge_cap_follows_available_memory(monkeypatch):
    monkeypatch.setattr(radius, "_available_memory_bytes", lambda: 28 * 1000)
    assert radius.default_max_edges() == 1000
    with pytest.raises(ValueError, match="max_edges"):
        nas_ext.radius_graph(np.zeros((50, 2)), 0.5, metric="euclidean")  # 2500 edges > 1000


# ---- bad input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("X, exc, argument", [
    (np.array([[0.0, np.nan]]), ValueError, "'X'"),
    (np.array([[np.inf, 0.0], [0.0, 1.0]]), ValueError, "'X'"),
    (np.zeros(5), ValueError, "'X'"),
    (np.zeros((2, 2, 2)), ValueError, "'X'"),
    (np.zeros((0, 3)), ValueError, "'X'"),
    (np.zeros((3, 0)), ValueError, "'X'"),
    (np.array([["a", "b"]]), TypeError, "'X'"),
    (np.array([[None, 1.0]], dtype=object), TypeError, "'X'"),
])
def test_bad_features(X, exc, argument):
    with pytest.raises(exc, match=f"{argument} parameter of radius_graph"):
        nas_ext.radius_graph(X, 0.5)


@pytest.mark.parametrize("delta, exc", [
    (0.0, ValueError), (-0.1, ValueError), (math.nan, ValueError), (math.inf, ValueError),
    ("0.5", TypeError), (None, TypeError), (True, TypeError), (np.array([0.5]), TypeError),
])
def test_bad_delta(delta, exc):
    with pytest.raises(exc, match=r"'delta' parameter of radius_graph must be a float in \(0, inf\)"):
        nas_ext.radius_graph(np.ones((3, 2)), delta)


@pytest.mark.parametrize("kwargs, exc, argument", [
    ({"metric": "manhattan"}, ValueError, "metric"),
    ({"metric": None}, ValueError, "metric"),
    ({"max_edges": 0}, ValueError, "max_edges"),
    ({"max_edges": 2.5}, TypeError, "max_edges"),
    ({"max_edges": "many"}, TypeError, "max_edges"),
    ({"tile_rows": 0}, ValueError, "tile_rows"),
    ({"tile_rows": 1.0}, TypeError, "tile_rows"),
    ({"progress": "yes"}, TypeError, "progress"),
    ({"device": "tpu"}, ValueError, "device"),
])
def test_bad_options(kwargs, exc, argument):
    with pytest.raises(exc, match=f"'{argument}' parameter of radius_graph"):
        nas_ext.radius_graph(np.ones((3, 2)), 0.5, **kwargs)


@pytest.mark.skipif(nas_ext.build_info()["cuda"] and torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match="radius_graph.*cuda"):
        nas_ext.radius_graph(np.ones((3, 2)), 0.5, device="cuda")


def test_compiled_builder_rejects_misuse_without_crashing():
    X = np.ones((4, 3), dtype=np.float32)
    with pytest.raises(TypeError):
        _C.RadiusGraphBuilder(X.astype(np.float64), None, "cosine", 0.5)
    with pytest.raises(TypeError):
        _C.RadiusGraphBuilder(np.asfortranarray(np.ones((4, 3), dtype=np.float32)), None, "cosine", 0.5)
    with pytest.raises(ValueError, match="'metric'"):
        _C.RadiusGraphBuilder(X, None, "manhattan", 0.5)
    with pytest.raises(ValueError, match="'delta'"):
        _C.RadiusGraphBuilder(X, None, "cosine", -1.0)
    with pytest.raises(ValueError, match="'sq_norms'"):
        _C.RadiusGraphBuilder(X, None, "euclidean", 0.5)
    with pytest.raises(ValueError, match="'isa'"):
        _C.RadiusGraphBuilder(X, None, "cosine", 0.5, isa="neon9")
    with pytest.raises(ValueError, match="'sq_norms'"):
        _C.RadiusGraphBuilder(X, np.ones(3, dtype=np.float32), "euclidean", 0.5)
    builder = _C.RadiusGraphBuilder(X, None, "cosine", 0.5)
    with pytest.raises(ValueError, match="'row0'"):
        builder.add_tile(np.ones((2, 2), dtype=np.float32), 3, 0)
    with pytest.raises(ValueError, match="'col0'"):
        builder.add_tile(np.ones((2, 2), dtype=np.float32), 0, -1)
    with pytest.raises(ValueError, match="'dots'"):
        builder.add_tile(np.ones(4, dtype=np.float32), 0, 0)
    with pytest.raises(TypeError):
        builder.add_tile(np.ones((2, 2)), 0, 0)
    builder.add_tile(np.ones((4, 4), dtype=np.float32), 0, 0)
    indptr, indices, dist = builder.assemble()
    assert indptr.tolist() == [0, 4, 8, 12, 16] and indices.tolist() == [0, 1, 2, 3] * 4


@pytest.mark.parametrize("metric", METRICS)
def test_pairs_at_the_radius_are_decided_on_their_exact_distance(metric, rng):
    # delta equal to a pair's float32 distance, or one ulp above it: far inside the GEMM's rounding error
    # (d = 384), so the pair is found only because the candidate test is widened and then re-checked exactly.
    X = rng.standard_normal((400, 384)).astype(np.float32) + 0.5
    X[200:210] = X[:10] + 1e-3 * rng.standard_normal((10, 384)).astype(np.float32)
    rows, _ = radius._prepared_rows(X, metric)
    wide = rows.astype(np.float64)
    if metric == "cosine":
        exact = np.clip(1.0 - wide @ wide.T, 0.0, None)
    else:
        sq = (wide ** 2).sum(axis=1)
        exact = np.sqrt(np.clip(sq[:, None] + sq[None, :] - 2.0 * wide @ wide.T, 0.0, None))
    np.fill_diagonal(exact, 0.0)
    exact32 = exact.astype(np.float32)
    off = exact32[~np.eye(400, dtype=bool)]
    for value in (np.sort(off)[3], np.quantile(off, 0.01).astype(np.float32)):
        for delta in (value, np.nextafter(value, np.float32(np.inf))):
            g = nas_ext.radius_graph(X, float(delta), metric=metric)
            np.testing.assert_array_equal(adjacency(g), exact32 < delta)
            np.testing.assert_array_equal(g.dist, exact32[g.rows(), g.indices])


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("isa", _C.RadiusGraphBuilder.available_isas())
def test_every_instruction_set_gives_the_same_graph(metric, isa, rng):
    X = rng.standard_normal((333, 37)).astype(np.float32)
    X[300:] = X[:33]
    reference = nas_ext.radius_graph(X, 0.9 if metric == "cosine" else 8.0, metric=metric)
    rows, sq_norms = radius._prepared_rows(X, metric)
    builder = _C.RadiusGraphBuilder(rows, sq_norms, metric, reference.delta, isa=isa)
    assert builder.isa == isa
    radius._scan_tiles(builder, rows, 70, 100, max_edges=10**9, delta=reference.delta, progress=False)
    indptr, indices, dist = builder.assemble()
    np.testing.assert_array_equal(indptr, reference.indptr)
    np.testing.assert_array_equal(indices, reference.indices)
    np.testing.assert_allclose(dist, reference.dist, rtol=1e-6, atol=1e-7)
    assert reference.nnz > 3 * reference.n


def test_euclidean_values_too_large_for_float32_products():
    X = np.array([[3e19, 0.0], [-3e19, 1.0]])
    with pytest.raises(ValueError, match="'X' parameter of radius_graph must be small enough"):
        nas_ext.radius_graph(X, 1.0, metric="euclidean")
    assert nas_ext.radius_graph(X, 0.5, metric="cosine").nnz == 2
