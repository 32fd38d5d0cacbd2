"""k-nearest-neighbour graphs: tiled GEMM products, then a fused top-k selection per row (C++/OpenMP)."""
from __future__ import annotations

import numpy as np

from . import _C
from ._device import resolve_device
from ._gemm import dot_tile, normalize_rows, squared_norms
from ._validation import check_choice, check_features, check_float, check_int, param_error, to_numpy
from .graph import Graph

__all__ = ["knn_graph", "graph_from_neighbours"]

# Bytes of one tile of products (rows x n float32); the only O(n) x rows buffer of the build.
TILE_BYTES = 64 << 20
MIN_TILE_ROWS, MAX_TILE_ROWS = 16, 1024


def _tile_rows(n: int) -> int:
    return int(max(MIN_TILE_ROWS, min(MAX_TILE_ROWS, TILE_BYTES // (4 * n), n)))


def _candidates(k: int) -> int:
    """Approximate (GEMM) neighbours kept per row before the exact re-rank picks the k best."""
    return 2 * k + 4


def knn_graph(X, k, *, metric: str = "euclidean", symmetric: bool = True, device="cpu") -> Graph:
    """The k-nearest-neighbour graph of the rows of ``X`` (no self-loops), as CSR.

    Row ``i`` lists the ``k`` samples closest to sample ``i``, itself excluded (a duplicate of ``i`` at
    another index is a neighbour like any other). Ties go to the lowest index. With ``symmetric=True`` the
    graph is the union of the directed lists: edge x->y iff y is among the k nearest of x or x among the k
    nearest of y, so degrees are between k and n - 1 and the CSR is its own reverse index.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), float32/float64 (any order, memmaps) or a CPU torch tensor.
        At least 2 rows; NaN/inf are an error. Computed in float32.
    k : int in [1, n_samples - 1]
    metric : 'euclidean' (plain L2, not squared) or 'cosine' (1 - <x, y> after L2-normalising rows;
        an all-zero row is at distance 1 from everything).
    symmetric : union of the x->y and y->x lists (True) or the directed lists (False, exactly k per row).
    device : 'cpu' or 'cuda' ('cuda:N'): on the GPU (a CUDA build and a visible GPU, else RuntimeError; CUDA
        tensors accepted for X) the products come from TF32 tensor cores (csrc/cuda/knn_graph.cu), each half
        row keeps ``2k + 4`` candidates, and the exact re-rank is the same, so the graph is the CPU's; it is
        returned as torch tensors on the GPU. ``meta["mean_pairwise_distance"]`` is exact (closed form) for
        cosine and summed from the TF32 products for euclidean (relative error below 1e-3).

    Returns
    -------
    Graph with ``indptr`` int64 (n + 1), ``indices`` int32 sorted within each row, ``dist`` float32 (the
    distance of each edge, recomputed exactly for the chosen neighbours), ``k``, ``symmetric``, ``metric``,
    and ``meta["mean_pairwise_distance"]``: the mean distance over all ordered pairs i != j, accumulated
    from the same GEMM tiles (``gaussian_weights`` uses it for its default scale).

    Complexity: 2·n²·d flops for the GEMM tiles plus an O(n²) selection scan (a bounded heap of ``2k + 4``
    candidates per row, no sort of a row), then an exact re-rank of the candidates; the union is O(n·k).
    Memory: one tile of at most 64 MiB of products plus the output; never an n x n matrix.

    Examples
    --------
    >>> import numpy as np, nas_ext
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]], dtype=np.float32)
    >>> g = nas_ext.knn_graph(X, 1)
    >>> g.indptr.tolist(), g.indices.tolist(), g.dist.tolist()
    ([0, 1, 3, 5, 6], [1, 0, 2, 1, 3, 2], [1.0, 1.0, 2.0, 2.0, 4.0, 4.0])
    >>> nas_ext.knn_graph(X, 1, symmetric=False).indices.tolist()
    [1, 0, 1, 2]
    """
    function = "knn_graph"
    on_gpu = resolve_device(device, function) == "cuda"
    metric = check_choice(metric, function, "metric", ("euclidean", "cosine"))
    if not isinstance(symmetric, (bool, np.bool_)):
        raise param_error(function, "symmetric", "a bool", symmetric, exc=TypeError)
    if on_gpu:
        from ._cuda_graphs import knn_graph as knn_graph_cuda

        return knn_graph_cuda(X, k, metric=metric, symmetric=bool(symmetric), candidates=_candidates, device=device)
    X = check_features(X, function, "X", min_rows=2)
    n = X.shape[0]
    if n > np.iinfo(np.int32).max:
        raise param_error(function, "X", "at most 2**31 - 1 rows (neighbour indices are int32)", X)
    k = check_int(k, function, "k", low=1, high=n - 1)

    if metric == "cosine":
        points, sq = normalize_rows(X), np.empty(0, dtype=np.float32)
    else:
        points, sq = X, squared_norms(X)
    lists = KnnLists(n, k, metric)
    rows = _tile_rows(n)
    tile = np.empty((rows, n), dtype=np.float32)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        lists.add_tile(dot_tile(points[start:stop], points, out=tile[: stop - start]), points, sq, start)
    return lists.graph(bool(symmetric))


class KnnLists:
    """The (n, k) neighbour lists of a kNN build, filled one full-row tile of products at a time.

    ``add_tile(products, points, sq, start)``: rows start:start + len(products) against every row of
    ``points`` (``sq``: float32 squared norms for euclidean, empty for cosine), the k best of
    ``_candidates(k)`` GEMM candidates re-ranked exactly. ``graph(symmetric)`` assembles the CSR.
    """

    def __init__(self, n: int, k: int, metric: str):
        self.k, self.metric = k, metric
        self.neighbours = np.empty((n, k), dtype=np.int32)
        self.dist = np.empty((n, k), dtype=np.float32)
        self.pair_sums = np.empty(n, dtype=np.float64)

    def add_tile(self, products: np.ndarray, points: np.ndarray, sq: np.ndarray, start: int) -> None:
        stop = start + products.shape[0]
        _C.knn_select_tile(products, points, sq, start, self.k, _candidates(self.k), self.metric,
                           self.neighbours[start:stop], self.dist[start:stop], self.pair_sums[start:stop])

    def graph(self, symmetric: bool) -> Graph:
        n = self.neighbours.shape[0]
        meta = {"mean_pairwise_distance": float(self.pair_sums.sum() / (n * (n - 1.0)))}
        return _assemble(self.neighbours, self.dist, self.metric, symmetric, meta)


def _assemble(neighbours: np.ndarray, dist: np.ndarray, metric: str, symmetric: bool, meta: dict) -> Graph:
    """Graph from (n, k) lists sorted by index within each row: as they are, or their symmetric union."""
    n, k = neighbours.shape
    if symmetric:
        indptr, indices, edge_dist = _C.knn_symmetrize(neighbours, dist)
    else:
        indptr = np.arange(0, n * k + 1, k, dtype=np.int64)
        indices, edge_dist = neighbours.reshape(-1), dist.reshape(-1)
    return Graph(indptr, indices, edge_dist, metric=metric, k=k, symmetric=symmetric, meta=meta)


def graph_from_neighbours(neighbours, dist, *, metric: str = "euclidean", symmetric: bool = True,
                          mean_pairwise_distance=None) -> Graph:
    """A kNN Graph from neighbour lists computed elsewhere (an approximate index, scipy's cKDTree, faiss).

    Parameters
    ----------
    neighbours : int array of shape (n, k): row i lists k distinct samples other than i, in any order.
    dist : array of shape (n, k), the matching finite, non-negative distances.
    metric : the metric the distances are in ('euclidean' or 'cosine'); recorded on the graph.
    symmetric : union of the x->y and y->x lists (True) or the directed lists (False).
    mean_pairwise_distance : optional float, stored in ``meta`` for ``gaussian_weights``' default scale.

    Returns
    -------
    Graph as ``knn_graph`` builds it (rows sorted by index). O(n·k·log k) time, O(n·k) memory.

    Examples
    --------
    >>> import numpy as np, nas_ext
    >>> g = nas_ext.graph_from_neighbours(np.array([[1], [0], [1]]), np.array([[1.0], [1.0], [2.0]]))
    >>> g.indptr.tolist(), g.indices.tolist()
    ([0, 1, 3, 4], [1, 0, 2, 1])
    """
    function = "graph_from_neighbours"
    metric = check_choice(metric, function, "metric", ("euclidean", "cosine"))
    nbrs = to_numpy(neighbours)
    if nbrs.ndim != 2 or nbrs.shape[0] < 2 or not 1 <= nbrs.shape[1] < nbrs.shape[0]:
        raise param_error(function, "neighbours", "a 2-D array of shape (n, k) with n >= 2 and 1 <= k < n", nbrs)
    if not np.issubdtype(nbrs.dtype, np.integer):
        raise param_error(function, "neighbours", "an integer array", nbrs, exc=TypeError)
    n, k = nbrs.shape
    if nbrs.min() < 0 or nbrs.max() >= n:
        raise param_error(function, "neighbours", f"indices in [0, {n})",
                          f"index {int(nbrs.min() if nbrs.min() < 0 else nbrs.max())}", describe=False)
    order = np.argsort(nbrs, axis=1, kind="stable")
    nbrs = np.ascontiguousarray(np.take_along_axis(nbrs, order, axis=1), dtype=np.int32)
    self_rows = np.flatnonzero((nbrs == np.arange(n)[:, None]).any(axis=1))
    if self_rows.size:
        raise param_error(function, "neighbours", "free of self-loops (row i must not list i)",
                          f"row {int(self_rows[0])} listing itself", describe=False)
    repeat_rows = np.flatnonzero((np.diff(nbrs, axis=1) == 0).any(axis=1))
    if repeat_rows.size:
        raise param_error(function, "neighbours", "k distinct samples per row",
                          f"row {int(repeat_rows[0])} listing a sample twice", describe=False)
    d = to_numpy(dist)
    if d.shape != (n, k) or not np.issubdtype(d.dtype, np.number):
        raise param_error(function, "dist", f"a real array of shape ({n}, {k})", d)
    d = np.ascontiguousarray(np.take_along_axis(np.asarray(d, dtype=np.float32), order, axis=1))
    if not np.isfinite(d).all() or d.min() < 0:
        raise param_error(function, "dist", "finite and non-negative", "a negative or non-finite value",
                          describe=False)
    if not isinstance(symmetric, (bool, np.bool_)):
        raise param_error(function, "symmetric", "a bool", symmetric, exc=TypeError)
    meta = {}
    if mean_pairwise_distance is not None:
        meta["mean_pairwise_distance"] = check_float(mean_pairwise_distance, function, "mean_pairwise_distance",
                                                     low=0.0)
    return _assemble(nbrs, d, metric, bool(symmetric), meta)
