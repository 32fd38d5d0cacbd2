"""radius_graph(method='cells') and the streamed (memmap, low_memory) path: the dense build's exact graph."""
import logging

import numpy as np
import pytest
from oracles.graphs import pairwise_distances, separated_deltas

import nas_ext
from nas_ext import _streaming, radius
from nas_ext._cells import plan_cells


def clustered(n, d, n_clusters, spread, seed):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, d))
    X = centres[rng.integers(0, n_clusters, n)] + spread * rng.standard_normal((n, d))
    return X.astype(np.float32)


def assert_same_graph(a, b):
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.dist, b.dist)
    assert a.indptr.dtype == np.int64 and a.indices.dtype == np.int32 and a.dist.dtype == np.float32


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("n_cells", [1, 7, 40])
def test_cells_equals_dense_on_clustered_data(metric, n_cells):
    X = clustered(1500, 16, 12, 0.3, seed=n_cells)
    D = pairwise_distances(X[:200], metric)
    delta = float(np.quantile(D[D > 0], 0.05))
    dense = nas_ext.radius_graph(X, delta, metric=metric, method="dense")
    cells = nas_ext.radius_graph(X, delta, metric=metric, method="cells", n_cells=n_cells, tile_rows=64)
    assert_same_graph(cells, dense)
    assert cells.meta["method"] == "cells" and 0 < cells.meta["work_fraction"] <= 1
    assert dense.nnz > 2 * X.shape[0]  # a real graph, not only self-loops


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_cells_equals_oracle_on_hard_inputs(metric):
    # Uniform data (no cluster structure), duplicates, all-zero rows, a large delta: pruning must stay exact.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 6)).astype(np.float32)
    X[10:20] = X[0]
    X[30:33] = 0.0
    D = pairwise_distances(X, metric)
    deltas = separated_deltas(D)
    for q in (0.01, 0.2, 0.9):
        delta = float(deltas[int(q * (deltas.size - 1))])
        g = nas_ext.radius_graph(X, delta, metric=metric, method="cells", n_cells=25)
        A = np.zeros_like(D, dtype=bool)
        A[g.rows(), g.indices] = True
        np.testing.assert_array_equal(A, D < delta)
        assert_same_graph(g, nas_ext.radius_graph(X, delta, metric=metric, method="dense"))


def test_cell_plan_prunes_separated_clusters():
    X = clustered(3000, 32, 30, 0.05, seed=1)
    plan = plan_cells(X, "euclidean", 0.3, n_cells=30)
    assert plan.work_fraction(3000) < 0.2
    assert np.array_equal(np.sort(plan.order), np.arange(3000))
    assert plan.starts[-1] == 3000 and np.all(plan.pairs[:, 0] <= plan.pairs[:, 1])


@pytest.mark.parametrize("method", ["dense", "cells"])
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_memmap_low_memory_gives_the_in_memory_graph(tmp_path, method, metric):
    X = clustered(1200, 24, 8, 0.4, seed=5)
    path = tmp_path / "pool.npy"
    np.save(path, X)
    mm = np.load(path, mmap_mode="r")
    assert _streaming.is_file_backed(mm) and _streaming.is_file_backed(np.ascontiguousarray(mm))
    D = pairwise_distances(X[:300], metric)
    delta = float(np.quantile(D[D > 0], 0.03))
    ref = nas_ext.radius_graph(X, delta, metric=metric, method=method)
    streamed = nas_ext.radius_graph(mm, delta, metric=metric, method=method, low_memory=True, tile_rows=128)
    assert_same_graph(streamed, ref)


def test_working_array_on_disk_is_file_backed():
    arr = _streaming.working_array((100, 8), low_memory=True)
    arr[:] = 1.5
    _streaming.release_pages(arr)  # the data come back from the temporary file
    assert _streaming.is_file_backed(arr) and float(arr.sum()) == 1200.0


def test_up_front_estimate_refuses_a_graph_that_cannot_fit(monkeypatch, caplog):
    monkeypatch.setattr(radius, "CELLS_MIN_ROWS", 500)
    X = clustered(2000, 8, 4, 1.0, seed=2)
    est = nas_ext.estimate_radius_edges(X, 0.5, metric="cosine")
    exact = nas_ext.radius_graph(X, 0.5, metric="cosine", method="dense").nnz
    assert est["low"] <= exact <= est["high"]
    with pytest.raises(ValueError, match="max_edges.*estimated number of directed edges"):
        nas_ext.radius_graph(X, 0.5, metric="cosine", max_edges=exact // 4)
    with caplog.at_level(logging.INFO, logger="nas_ext.radius"):
        g = nas_ext.radius_graph(X, 0.5, metric="cosine")
    assert g.nnz == exact and g.meta["method"] == "cells"
    assert "directed edges" in caplog.text


def test_cells_edge_cap_during_the_build():
    X = clustered(1500, 8, 3, 1.0, seed=4)
    with pytest.raises(ValueError, match="max_edges"):
        nas_ext.radius_graph(X, 0.5, metric="cosine", method="cells", max_edges=3000)


def test_bad_arguments():
    X = clustered(50, 4, 2, 1.0, seed=0)
    with pytest.raises(ValueError, match="'method' parameter"):
        nas_ext.radius_graph(X, 0.1, method="approximate")
    with pytest.raises(ValueError, match="'n_cells' parameter"):
        nas_ext.radius_graph(X, 0.1, method="cells", n_cells=0)
    with pytest.raises(TypeError, match="'low_memory' parameter"):
        nas_ext.radius_graph(X, 0.1, low_memory="yes")


def test_whole_cells_without_per_row_lists_give_the_same_graph(monkeypatch):
    """Past the per-row need budget the plan falls back to whole cells off the diagonal: the same edges."""
    import nas_ext._cells as cells

    X = clustered(1500, 16, 12, 0.3, seed=3)
    delta = float(np.quantile(pairwise_distances(X[:300], "euclidean"), 0.03))
    lists = nas_ext.radius_graph(X, delta, metric="euclidean", method="cells", n_cells=20)
    assert plan_cells(X, "euclidean", delta, n_cells=20).groups is not None
    monkeypatch.setattr(cells, "_MAX_NEEDS_PER_ROW", 0)
    assert plan_cells(X, "euclidean", delta, n_cells=20).groups is None
    whole = nas_ext.radius_graph(X, delta, metric="euclidean", method="cells", n_cells=20)
    assert_same_graph(whole, lists)
    assert_same_graph(whole, nas_ext.radius_graph(X, delta, metric="euclidean", method="dense"))


def test_need_groups_match_a_lexsort_oracle(monkeypatch):
    """The packed keys (a k + b) n + row group to the same positions as sorting (group, position)."""
    import nas_ext._cells as cells

    monkeypatch.setattr(cells, "_GROUP_CHUNK", 7)  # groups that straddle chunks
    rng = np.random.default_rng(4)
    n, k, m = 300, 6, 900
    assign = rng.integers(0, k, n)
    order = np.argsort(assign, kind="stable")
    rows, other = rng.integers(0, n, m), rng.integers(0, k, m)
    keep = other != assign[rows]
    rows, other = rows[keep], other[keep]
    pairs = np.unique(np.stack([rows, other], 1), axis=0)  # a row needs a cell at most once
    rows, other = pairs[:, 0], pairs[:, 1]
    groups = cells._need_groups((assign[rows] * k + other) * n + rows, order, n, k)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    for a in range(k):
        for b in range(k):
            hit = (assign[rows] == a) & (other == b)
            want = np.sort(position[rows[hit]])
            got = groups.members(a, b)
            assert (got is None and want.size == 0) or np.array_equal(got, want)
    assert groups.positions.dtype == np.int32
