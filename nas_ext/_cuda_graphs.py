"""radius_graph and knn_graph on the GPU (``device="cuda"``): the CPU graphs' rules, CSR of torch tensors.

radius_graph: count pass, exact edge count (one host sync), ``max_edges`` guard, CSR allocation, fill
pass, per-row sort. knn_graph: candidate pass, exact distances, ranking and the symmetric union with torch.
The kernels (csrc/cuda/radius_graph.cu, knn_graph.cu) fuse the TF32 tile products with the threshold or
the top-k selection, and decide every edge from an exact float64 distance, as the CPU does.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from . import _C
from ._cuda import address, features, launch_ranges, normalize_rows, pad_features, stream_handle, target_device
from ._validation import check_int, param_error
from .graph import Graph

__all__ = ["radius_graph", "knn_graph", "default_max_edges", "GPU_BYTES_PER_EDGE"]

#: Peak GPU bytes per directed edge while building: the CSR entry (8) plus the per-row sort (key, order
#: and gathered copies, 40).
GPU_BYTES_PER_EDGE = 48
TILE = 128                 # rows and columns of a kernel tile (csrc/cuda/tile_gemm.cuh)
TILE_PAIRS_PER_LAUNCH = 1 << 16
PANELS_PER_LAUNCH = 256
_PREP_ROWS = 8192          # rows per chunk when normalising / centring in float64
_INT32_MAX = 2**31 - 1


def default_max_edges(device: torch.device) -> int:
    """The GPU default of ``max_edges``: half the free GPU memory at call time / GPU_BYTES_PER_EDGE."""
    free, _ = torch.cuda.mem_get_info(device)
    return max(1, free // (2 * GPU_BYTES_PER_EDGE))


def _edge_cap_error(max_edges: int, delta: float, edges: int) -> ValueError:
    expected = (f"at least the number of directed edges of the graph at delta={delta:g} ({edges:,}); pass a "
                f"smaller 'delta' or a larger 'max_edges' (default on the GPU: {GPU_BYTES_PER_EDGE} bytes per "
                f"edge in half the free GPU memory)")
    return param_error("radius_graph", "max_edges", expected, max_edges)


def _prepared_rows(X: torch.Tensor, metric: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """The float32 rows the kernel works on (as ``nas_ext.radius._prepared_rows`` makes them) and their
    scale: row norms (cosine: rows divided by their float64 L2 norm) or squared norms (euclidean: rows
    minus the float64 column mean)."""
    n = X.shape[0]
    rows = torch.empty_like(X)
    scale = torch.empty(n, dtype=torch.float32, device=X.device)
    mean = None if metric == "cosine" else X.sum(dim=0, dtype=torch.float64) / n
    for start in range(0, n, _PREP_ROWS):
        block = X[start:start + _PREP_ROWS].double()
        if mean is None:
            norms = torch.linalg.vector_norm(block, dim=1)
            norms[norms == 0] = 1.0
            rows[start:start + _PREP_ROWS] = block / norms[:, None]
        else:
            rows[start:start + _PREP_ROWS] = block - mean
        wide = rows[start:start + _PREP_ROWS].double()
        sq = (wide * wide).sum(dim=1)
        scale[start:start + _PREP_ROWS] = sq.sqrt() if mean is None else sq
    return rows, scale


def _sort_rows(indptr: torch.Tensor, indices: torch.Tensor, dist: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Each CSR row's (index, dist) entries in ascending index order."""
    n = indptr.shape[0] - 1
    rows = torch.repeat_interleave(torch.arange(n, device=indptr.device), indptr.diff(), output_size=indices.shape[0])
    order = torch.argsort(rows * n + indices.to(torch.int64))
    return indices[order], dist[order]


def _wait_if(progress: bool, device: torch.device) -> None:
    """Launches return at once; a progress bar only means something if each launch is waited for."""
    if progress:
        torch.cuda.current_stream(device).synchronize()


def radius_graph(X, delta: float, *, metric: str, max_edges: Optional[int], device, progress: bool = False) -> Graph:
    """``nas_ext.radius_graph`` on the GPU; arguments other than X are validated by the caller."""
    dev = target_device(device, X)
    with torch.cuda.device(dev):
        X = features(X, "radius_graph", dev)
        n = X.shape[0]
        if n > _INT32_MAX:
            raise param_error("radius_graph", "X", "at most 2^31 - 1 rows (int32 neighbour indices)",
                              f"{n} rows", describe=False)
        if max_edges is None:
            max_edges = default_max_edges(dev)
        if n > max_edges:
            raise _edge_cap_error(max_edges, delta, n)
        rows, scale = _prepared_rows(X, metric)
        rows = pad_features(rows)
        spec = _C.CudaRadiusInput()
        spec.device, spec.X, spec.n, spec.d = dev.index, address(rows), n, rows.shape[1]
        spec.scale, spec.euclidean, spec.delta = address(scale), metric == "euclidean", float(delta)
        stream = stream_handle(dev)
        pairs = _C.cuda_radius_tile_pairs(n)

        counts = torch.zeros(n, dtype=torch.int32, device=dev)
        for begin, end in launch_ranges(pairs, TILE_PAIRS_PER_LAUNCH, progress=progress, desc="radius_graph count"):
            _C.cuda_radius_count(spec, begin, end, address(counts), stream)
            _wait_if(progress, dev)
        degrees = counts.to(torch.int64) + 1  # + the self-loop
        nnz = int(degrees.sum())
        if nnz > max_edges:
            raise _edge_cap_error(max_edges, delta, nnz)

        indptr = torch.zeros(n + 1, dtype=torch.int64, device=dev)
        torch.cumsum(degrees, dim=0, out=indptr[1:])
        indices = torch.empty(nnz, dtype=torch.int32, device=dev)
        dist = torch.empty(nnz, dtype=torch.float32, device=dev)
        starts = indptr[:-1]
        indices[starts] = torch.arange(n, dtype=torch.int32, device=dev)
        dist[starts] = 0.0
        cursor = starts + 1
        row_end = indptr[1:].contiguous()
        mismatch = torch.zeros(1, dtype=torch.int32, device=dev)
        for begin, end in launch_ranges(pairs, TILE_PAIRS_PER_LAUNCH, progress=progress, desc="radius_graph fill"):
            _C.cuda_radius_fill(spec, begin, end, address(cursor), address(row_end), address(indices), address(dist),
                                address(mismatch), stream)
            _wait_if(progress, dev)
        if int(mismatch) != 0 or not torch.equal(cursor, row_end):
            raise RuntimeError("radius_graph: the CUDA fill pass did not reproduce the edge counts of the count "
                               "pass (an internal error; please report it with the data shape and delta).")
        indices, dist = _sort_rows(indptr, indices, dist)
    return Graph(indptr, indices, dist, metric=metric, delta=float(delta), symmetric=True)


def _rank_candidates(index: torch.Tensor, exact: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per row, the k candidates of smallest (exact distance, index), listed by ascending index.

    index: (n, slots) int32 with -1 for an empty slot (whose exact distance is +inf).
    """
    by_index, order = torch.sort(index.to(torch.int64), dim=1)
    exact = exact.gather(1, order)
    exact, order = torch.sort(exact, dim=1, stable=True)
    by_index = by_index.gather(1, order)
    top_index, order = torch.sort(by_index[:, :k], dim=1)
    top_dist = exact[:, :k].gather(1, order)
    return top_index.to(torch.int32), top_dist.to(torch.float32)


def _symmetrize(neighbours: torch.Tensor, dist: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CSR of the union of the directed kNN lists (edge x->y iff y in list(x) or x in list(y)), rows sorted."""
    n, k = neighbours.shape
    device = neighbours.device
    rows = torch.arange(n, device=device).repeat_interleave(k)
    cols = neighbours.reshape(-1).to(torch.int64)
    flat = dist.reshape(-1)
    keys = torch.cat([rows * n + cols, cols * n + rows])
    values = torch.cat([flat, flat])  # the exact distance is the same both ways
    keys, order = torch.sort(keys)
    first = torch.ones_like(keys, dtype=torch.bool)
    first[1:] = keys[1:] != keys[:-1]
    keys, values = keys[first], values[order][first]
    indptr = torch.zeros(n + 1, dtype=torch.int64, device=device)
    torch.cumsum(torch.bincount(keys // n, minlength=n), dim=0, out=indptr[1:])
    return indptr, (keys % n).to(torch.int32), values


def _cosine_distance_total(unit_rows: torch.Tensor) -> float:
    """Sum over ordered pairs i != j of 1 - <x_i, x_j>, exactly in closed form (float64):
    n (n - 1) - (|sum_i x_i|^2 - sum_i |x_i|^2)."""
    n = unit_rows.shape[0]
    total = unit_rows.sum(dim=0, dtype=torch.float64)
    squares = sum(float((unit_rows[s:s + _PREP_ROWS].double() ** 2).sum()) for s in range(0, n, _PREP_ROWS))
    return n * (n - 1.0) - (float(total @ total) - squares)


def knn_graph(X, k, *, metric: str, symmetric: bool, candidates, device) -> Graph:
    """``nas_ext.knn_graph`` on the GPU. ``candidates(k)``: approximate neighbours kept per row before the
    exact re-rank (the CPU's rule); metric and symmetric are validated by the caller."""
    function = "knn_graph"
    dev = target_device(device, X)
    with torch.cuda.device(dev):
        X = features(X, function, dev, min_rows=2)
        n = X.shape[0]
        k = check_int(k, function, "k", low=1, high=n - 1)
        if n > _INT32_MAX:
            raise param_error(function, "X", "at most 2^31 - 1 rows (int32 neighbour indices)", f"{n} rows",
                              describe=False)
        euclidean = metric == "euclidean"
        points = X if euclidean else normalize_rows(X)
        sq = (points * points).sum(dim=1) if euclidean else None
        points = pad_features(points)
        spec = _C.CudaKnnInput()
        spec.device, spec.X, spec.n, spec.d = dev.index, address(points), n, points.shape[1]
        spec.sq, spec.euclidean = address(sq), euclidean
        stream = stream_handle(dev)

        capacity = min(max(candidates(k), k), n - 1)
        slots = 2 * capacity  # two half-rows per row, each with its own heap
        heap_key = torch.empty(n * slots, dtype=torch.float32, device=dev)
        heap_index = torch.empty(n * slots, dtype=torch.int32, device=dev)
        pair_sums = torch.empty(n, dtype=torch.float64, device=dev)
        panels = -(-n // TILE)
        for begin, end in launch_ranges(panels, PANELS_PER_LAUNCH):
            _C.cuda_knn_candidates(spec, begin, end, capacity, address(heap_key), address(heap_index),
                                   address(pair_sums), stream)
        exact = torch.empty(n * slots, dtype=torch.float64, device=dev)
        _C.cuda_knn_exact(spec, address(heap_index), slots, address(exact), stream)
        neighbours, dist = _rank_candidates(heap_index.view(n, slots), exact.view(n, slots), k)
        pair_total = float(pair_sums.sum()) if euclidean else _cosine_distance_total(points)
        meta = {"mean_pairwise_distance": pair_total / (n * (n - 1.0))}
        if symmetric:
            indptr, indices, edge_dist = _symmetrize(neighbours, dist)
        else:
            indptr = torch.arange(0, n * k + 1, k, dtype=torch.int64, device=dev)
            indices, edge_dist = neighbours.reshape(-1), dist.reshape(-1)
    return Graph(indptr, indices, edge_dist, metric=metric, k=k, symmetric=bool(symmetric), meta=meta)
