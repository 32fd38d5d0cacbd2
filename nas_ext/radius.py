"""Radius graphs: edge x -> y iff dist(x, y) < delta, built from GEMM tiles without an N x N matrix."""
from __future__ import annotations

import contextlib
import logging
import math
import os
import warnings
from typing import Any, Optional

import numpy as np
import torch

from . import _C
from ._device import resolve_device
from ._gemm import dot_tile
from ._rows import check_finite_rows, working_rows
from ._streaming import PageWindow, available_memory_bytes, is_file_backed, take_rows
from ._validation import check_choice, check_features, check_float, check_int, param_error
from .graph import Graph

__all__ = ["radius_graph", "default_max_edges", "estimate_radius_edges", "BYTES_PER_EDGE", "CELLS_MIN_ROWS"]

logger = logging.getLogger(__name__)

FUNCTION = "radius_graph"
METRICS = ("cosine", "euclidean")
#: Peak bytes per directed edge while building: 12-byte compact pair records (one per undirected pair,
#: i.e. 6 per directed edge) plus the 8-byte CSR entry (int32 index + float32 distance).
BYTES_PER_EDGE = 14
DEFAULT_TILE_ROWS = 2048
DEFAULT_TILE_COLS = 2048  # 2048 x 2048 float32 tiles (16 MiB): the fastest shape measured, cache-sized
METHODS = ("auto", "dense", "cells")
#: From this many rows on, method="auto" builds with the cell-pruned tiles (same edges, a fraction of the work).
CELLS_MIN_ROWS = 100_000
#: From this many rows on, progress=None shows the bars (stages of several seconds on 2 cores).
PROGRESS_MIN_ROWS = 200_000


def _available_memory_bytes() -> int:
    return available_memory_bytes()


def _prepared_rows(X: np.ndarray, metric: str):
    """The float32 rows the kernel works on and their squared norms (euclidean only); see nas_ext/_rows.py."""
    return working_rows(X, metric, FUNCTION)


def default_max_edges() -> int:
    """The default edge cap of :func:`radius_graph`: half the available memory at call time / 14 B per edge."""
    return max(1, _available_memory_bytes() // (2 * BYTES_PER_EDGE))


@contextlib.contextmanager
def _ieee_fp32_matmul():
    """Run torch's CPU matmul in full float32 even if the user allowed bf16/tf32 for fp32 products.

    The kernel's candidate test assumes float32 rounding of the GEMM; reduced precision could drop edges.
    """
    matmul = getattr(getattr(torch.backends, "mkldnn", None), "matmul", None)
    previous = getattr(matmul, "fp32_precision", None)
    if previous is not None:
        if previous in ("ieee", "none"):
            yield
            return
        matmul.fp32_precision = "ieee"
        try:
            yield
        finally:
            matmul.fp32_precision = previous
        return
    legacy = torch.get_float32_matmul_precision()
    if legacy == "highest":
        yield
        return
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(legacy)


def _edge_cap_error(max_edges: int, delta: float, edges: int, done: float, function: str = FUNCTION) -> ValueError:
    expected = (f"at least the number of directed edges of the graph at delta={delta:g} (already {edges:,} "
                f"after {100 * done:.0f}% of the distance tiles); pass a smaller 'delta' or a larger "
                f"'max_edges' (default: {BYTES_PER_EDGE} bytes per edge in half the available memory)")
    return param_error(function, "max_edges", expected, max_edges)


def estimate_radius_edges(X: Any, delta: float, *, metric: str = "cosine", sample_rows: int = 256,
                          sample_cols: int = 65536, seed: int = 0) -> dict:
    """Estimate the directed edges of ``radius_graph(X, delta, metric=metric)`` from a random block of pairs.

    ``sample_rows`` random rows against ``sample_cols`` random rows (float32 GEMM, the kernel's prepared
    rows): the hit fraction times n^2, plus the n self-loops. Returns a dict with ``edges`` (the estimate),
    ``low`` / ``high`` (a ~3-sigma Poisson interval), ``mean_degree`` and ``peak_bytes`` (the build's
    peak for that many edges: BYTES_PER_EDGE each plus the float32 working copy of X). Cost: about
    2 sample_rows sample_cols d flops, rows read at random from X (memmaps welcome).
    """
    function = "estimate_radius_edges"
    metric = check_choice(metric, function, "metric", METRICS)
    delta = check_float(delta, function, "delta", low=0.0, high=math.inf, low_open=True, high_open=True)
    X = check_features(X, function, dtype=None, check_finite=False)
    n, d = X.shape
    rng = np.random.default_rng(seed)
    rows_idx = np.sort(rng.choice(n, size=min(n, sample_rows), replace=False))
    cols_idx = np.sort(rng.choice(n, size=min(n, sample_cols), replace=False))
    from ._rows import column_mean, prepare_block

    mean = column_mean(X) if metric == "euclidean" else None
    window = PageWindow(X)
    rows, rsq = prepare_block(take_rows(X, rows_idx, window), metric, mean)
    rows64 = rows.astype(np.float64)
    counts = np.zeros(rows.shape[0], dtype=np.float64)
    for start in range(0, cols_idx.shape[0], 4096):  # column chunks: a few MiB of temporaries
        part = cols_idx[start:start + 4096]
        cols, csq = prepare_block(take_rows(X, part, window), metric, mean)
        dots = rows64 @ cols.astype(np.float64).T
        if metric == "cosine":
            within = (1.0 - dots) < delta
        else:
            within = np.sqrt(np.maximum(0.0, rsq[:, None] + csq[None, :] - 2.0 * dots)) < delta
        within[rows_idx[:, None] == part[None, :]] = False  # self-loops are counted exactly below
        counts += within.sum(axis=1)
    window.release()
    # Per sampled row: its neighbours among the sampled columns, scaled to the n - 1 other rows. The
    # interval is 3 standard errors of that mean (row degrees vary a lot on clustered data) plus 3 hits.
    others = cols_idx.shape[0] - np.isin(rows_idx, cols_idx).astype(np.float64)
    degree = counts * (n - 1.0) / np.maximum(others, 1.0)
    spread = 3.0 * degree.std(ddof=1) / math.sqrt(degree.size) if degree.size > 1 else degree.mean()
    spread += 3.0 * (n - 1.0) / max(float(others.mean()), 1.0)
    mean = float(degree.mean())
    estimate = {"edges": n * (1.0 + mean), "low": n * (1.0 + max(0.0, mean - spread)), "high": n * (1.0 + mean + spread)}
    estimate["mean_degree"] = estimate["edges"] / n
    estimate["peak_bytes"] = estimate["edges"] * BYTES_PER_EDGE + 4.0 * n * d
    return estimate


def _cap_error_up_front(max_edges: int, delta: float, estimate: dict) -> ValueError:
    expected = (f"at least the estimated number of directed edges of the graph at delta={delta:g} (between "
                f"{estimate['low']:,.0f} and {estimate['high']:,.0f}, mean degree ~{estimate['mean_degree']:,.0f}, "
                f"~{estimate['peak_bytes'] / 2**30:.1f} GiB at the peak; estimated from a sample before building); "
                f"pass a smaller 'delta' or a larger 'max_edges' (default: {BYTES_PER_EDGE} bytes per edge in "
                "half the available memory)")
    return param_error(FUNCTION, "max_edges", expected, max_edges)


def radius_graph(X: Any, delta: float, *, metric: str = "cosine", max_edges: Optional[int] = None,
                 device: str = "cpu", tile_rows: Optional[int] = None, progress: Optional[bool] = None,
                 method: str = "auto", n_cells: Optional[int] = None, low_memory: Optional[bool] = None,
                 seed: int = 0) -> Graph:
    """The radius graph of the rows of ``X``: edge x -> y iff dist(x, y) < delta, self-loops included.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_features)
        float32/float64 numpy array (C- or F-ordered, memmaps welcome) or a CPU torch tensor; finite.
        Normalised (cosine) or centred (euclidean) in float64, then worked on in float32.
    delta : float in (0, inf)
        The radius; the comparison ``dist < delta`` is strict and done in float32 (``float32(dist) <
        float32(delta)``, the same test as :meth:`Graph.restrict`).
    metric : {'cosine', 'euclidean'}
        cosine: 1 - <x, y> on L2-normalised rows (an all-zero row is at distance 1 from every other row,
        other zero rows included, and 0 from itself). euclidean: the plain L2 distance (not squared).
    max_edges : int, optional
        Cap on the number of directed edges (self-loops included). Default: :func:`default_max_edges`,
        half the available memory divided by ``BYTES_PER_EDGE`` (14). From ``CELLS_MIN_ROWS`` rows on the
        edge count is first estimated from a sample (:func:`estimate_radius_edges`, logged at INFO) and a
        build that clearly will not fit is refused before any tile; in every case exceeding it raises a
        ValueError naming ``max_edges`` and ``delta`` as soon as the running count passes it.
    device : {'cpu', 'cuda'}
        Where to compute; 'cuda' (or 'cuda:N') needs a CUDA build of nas_ext and a visible GPU (else
        RuntimeError), accepts CUDA tensors for ``X`` and returns a Graph of torch tensors on the GPU with
        the same edges (see Notes). There, ``max_edges`` defaults to half the free GPU memory / 48 bytes.
    tile_rows : int, optional
        Rows per distance tile (default 2048; tiles are tile_rows x max(tile_rows, 2048)). Smaller tiles
        use less memory, larger ones amortise the GEMM better.
    progress : bool or None
        tqdm bars with ETA over the stages (cells, rows, tiles); None: shown from ``PROGRESS_MIN_ROWS``
        (200k) rows on.
    method : {'auto', 'dense', 'cells'}
        'dense': every tile on or above the diagonal (n^2 d flops). 'cells': only the tiles of the pairs
        of k-means Voronoi cells that can hold an edge (nas_ext/_cells.py; a proven bound, so the same edges
        and distances; on clustered embeddings a few percent of the work). 'auto': 'cells' from
        ``CELLS_MIN_ROWS`` (100k) rows on, else 'dense'. CPU only (the GPU build is dense).
    n_cells : int, optional
        Cells of the 'cells' method (default about sqrt(n), at most 4096).
    low_memory : bool or None
        Keep the float32 working copy of X in an unlinked temporary file and release the pages of X and of
        that copy as the tiles stream past, so the resident set stays at a few tiles plus the edges (for
        pools larger than RAM; needs n d 4 bytes of temporary disk). None: on when ``X`` is a file-backed
        memmap whose working copy would take more than a quarter of the available memory.
    seed : int
        Seeds the k-means sample of the 'cells' method and the edge estimate (the graph does not depend on it).

    Returns
    -------
    Graph
        CSR with ``indptr`` int64 (n + 1), ``indices`` int32 sorted ascending within each row, ``dist``
        float32 (self-loops at 0), ``metric``, ``delta``, ``symmetric=True``: the CSR is its own reverse
        index. ``meta`` holds ``method`` and, for 'cells', ``n_cells``, ``work_fraction`` (share of the
        dense row pairs computed) and the stage seconds.

    Notes
    -----
    Only the tiles on or above the diagonal are computed (half of the 2 n^2 d flops of a full product),
    each by torch's float32 GEMM; a fused C++/OpenMP pass flags candidate pairs with a test widened by the
    GEMM's rounding-error bound and re-computes each candidate's distance exactly (float64 accumulation
    over the float32 rows). The edge set and the stored distances therefore do not depend on the BLAS, the
    tiling or the method, duplicates are at distance exactly 0, and ``radius_graph(X, a).restrict(b)``
    equals ``radius_graph(X, b)`` for every b <= a.

    With ``device="cuda"`` the same rule runs in two passes over 128 x 128 tiles on or above the diagonal
    (csrc/cuda/radius_graph.cu): TF32 tensor-core products, a candidate test widened by the proven TF32
    error bound, the same exact float64 re-check, edge counts (then the ``max_edges`` check and the CSR
    allocation), then the fill pass; rows are sorted by torch.

    Time: dense, n^2 d flops of GEMM plus O(n^2) for the threshold scan plus O(E d) for the re-check;
    cells, n k d for the cell assignment plus the kept share of the dense work plus O(E) to restore the
    input order. Memory: a float32 working copy of X (n d 4 bytes; on disk with ``low_memory``), one tile
    (tile_rows x 2048 x 4 bytes, 16 MiB by default), and at the peak ``BYTES_PER_EDGE`` = 14 bytes per
    directed edge (12-byte records of the pairs i < j, then the 8-byte CSR entries; 'cells' holds a second
    CSR while restoring the order: 16 bytes per edge there) plus 24 bytes per row (36 for euclidean). The
    edge cap is checked after every tile, so a too-large delta stops within one tile of passing ``max_edges``.

    Examples
    --------
    >>> import numpy as np, nas_ext
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=np.float32)
    >>> g = nas_ext.radius_graph(X, 0.05, metric="cosine")
    >>> g.indptr.tolist(), g.indices.tolist()
    ([0, 2, 4, 5], [0, 1, 0, 1, 2])
    >>> g.restrict(0.001).nnz          # only the self-loops are closer than 0.001
    3
    """
    metric = check_choice(metric, FUNCTION, "metric", METRICS)
    delta = check_float(delta, FUNCTION, "delta", low=0.0, high=math.inf, low_open=True, high_open=True)
    method = check_choice(method, FUNCTION, "method", METHODS)
    if max_edges is not None:
        max_edges = check_int(max_edges, FUNCTION, "max_edges", low=1)
    if tile_rows is not None:
        tile_rows = check_int(tile_rows, FUNCTION, "tile_rows", low=1)
    if n_cells is not None:
        n_cells = check_int(n_cells, FUNCTION, "n_cells", low=1)
    seed = check_int(seed, FUNCTION, "seed", low=0)
    for name, value in (("progress", progress), ("low_memory", low_memory)):
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise param_error(FUNCTION, name, "a bool or None", value, exc=TypeError)
    if resolve_device(device, FUNCTION) == "cuda":
        if tile_rows is not None:
            warnings.warn("radius_graph: 'tile_rows' is ignored with device='cuda' (the GPU tiles are 128 x 128).",
                          UserWarning, stacklevel=2)
        from ._cuda_graphs import radius_graph as radius_graph_cuda

        return radius_graph_cuda(X, delta, metric=metric, max_edges=max_edges, device=device,
                                 progress=bool(progress))
    # No float32 copy and no whole-array temporaries here: the working rows are prepared chunk by chunk.
    X = check_features(X, FUNCTION, dtype=None, check_finite=False)
    check_finite_rows(X, FUNCTION)
    n, d = X.shape
    if n > np.iinfo(np.int32).max:
        raise param_error(FUNCTION, "X", "at most 2^31 - 1 rows (int32 neighbour indices)", X)
    if max_edges is None:
        max_edges = default_max_edges()
    if n > max_edges:
        raise _edge_cap_error(max_edges, delta, n, 0.0)
    if progress is None:
        progress = n >= PROGRESS_MIN_ROWS
    if low_memory is None:
        low_memory = is_file_backed(X) and 4.0 * n * d > available_memory_bytes() / 4
    if method == "auto":
        method = "cells" if n >= CELLS_MIN_ROWS else "dense"
    if n >= CELLS_MIN_ROWS:
        estimate = estimate_radius_edges(X, delta, metric=metric, seed=seed)
        logger.info("radius_graph: n=%d, delta=%g: about %.3g directed edges (%.3g to %.3g, mean degree %.1f), "
                    "%.2f GiB at the peak", n, delta, estimate["edges"], estimate["low"], estimate["high"],
                    estimate["mean_degree"], estimate["peak_bytes"] / 2**30)
        if estimate["low"] > max_edges:
            raise _cap_error_up_front(max_edges, delta, estimate)
    tile_rows = tile_rows or DEFAULT_TILE_ROWS
    tile_cols = max(tile_rows, DEFAULT_TILE_COLS)
    if method == "cells":
        return _radius_graph_cells(X, delta, metric, max_edges, tile_rows, tile_cols, n_cells, low_memory,
                                   seed, bool(progress))
    from tqdm.auto import tqdm

    with tqdm(total=n, desc="radius_graph: rows", unit="row", unit_scale=True, disable=not progress) as bar:
        rows, sq_norms = working_rows(X, metric, FUNCTION, low_memory=low_memory, progress=bar)
    builder = _C.RadiusGraphBuilder(rows, sq_norms, metric, delta)
    _scan_tiles(builder, rows, tile_rows, tile_cols, max_edges, delta, bool(progress))
    indptr, indices, dist = builder.assemble()
    logger.debug("radius_graph: n=%d, delta=%g, %s, %d edges", n, delta, metric, indices.shape[0])
    return Graph(indptr, indices, dist, metric=metric, delta=float(delta), symmetric=True,
                 meta={"method": "dense"})


def _radius_graph_cells(X, delta, metric, max_edges, tile_rows, tile_cols, n_cells, low_memory, seed,
                        progress) -> Graph:
    """method='cells': plan the cell pairs, prepare the rows in cell order, scan the kept tiles, restore the order."""
    import time

    from ._cells import build_from_plan, cell_working_rows, plan_cells, unpermute

    plan = plan_cells(X, metric, delta, n_cells=n_cells, seed=seed, progress=progress)
    t0 = time.perf_counter()
    rows, sq_norms = cell_working_rows(X, metric, FUNCTION, plan, low_memory, progress)
    t1 = time.perf_counter()
    builder = _C.RadiusGraphBuilder(rows, sq_norms, metric, delta)
    with _ieee_fp32_matmul():
        build_from_plan(builder, rows, plan, tile_rows=tile_rows, tile_cols=tile_cols, max_edges=max_edges,
                        on_cap=lambda edges, done: _edge_cap_error(max_edges, delta, edges, done), progress=progress)
    t2 = time.perf_counter()
    del rows
    indptr, indices, dist = builder.assemble()
    del builder
    indptr, indices, dist = unpermute(indptr, indices, dist, plan.order)
    t3 = time.perf_counter()
    meta = {"method": "cells", "n_cells": plan.n_cells, "cell_pairs": int(plan.pairs.shape[0]),
            "work_fraction": plan.work_fraction(X.shape[0]),
            "seconds": {"cells": plan.seconds, "rows": t1 - t0, "tiles": t2 - t1, "assemble": t3 - t2}}
    logger.info("radius_graph: %d edges by %d cell pairs (%.2f%% of the dense work): cells %.1f s, rows %.1f s, "
                "tiles %.1f s, assemble %.1f s", indices.shape[0], plan.pairs.shape[0], 100 * meta["work_fraction"],
                plan.seconds, t1 - t0, t2 - t1, t3 - t2)
    return Graph(indptr, indices, dist, metric=metric, delta=float(delta), symmetric=True, meta=meta)


def _scan_tiles(builder, rows: np.ndarray, tile_rows: int, tile_cols: int, max_edges: int, delta: float,
                progress: bool) -> None:
    """Feed the builder every tile on or above the diagonal; stop as soon as the edge cap is passed."""
    from tqdm.auto import tqdm

    n = rows.shape[0]
    tiles = [(r0, c0) for r0 in range(0, n, tile_rows) for c0 in range(r0, n, tile_cols)]
    flops = [min(tile_rows, n - r0) * min(tile_cols, n - c0) for r0, c0 in tiles]
    total_flops, done_flops = float(sum(flops)), 0.0
    buffer = np.empty(min(tile_rows, n) * min(tile_cols, n), dtype=np.float32)
    window = PageWindow(rows)  # low_memory: the working copy's pages come back from its file
    with _ieee_fp32_matmul(), tqdm(total=len(tiles), desc="radius_graph: tiles", unit="tile",
                                   disable=not progress) as bar:
        for (r0, c0), tile_flops in zip(tiles, flops):
            a, b = rows[r0:r0 + tile_rows], rows[c0:c0 + tile_cols]
            dots = buffer[:a.shape[0] * b.shape[0]].reshape(a.shape[0], b.shape[0])
            dot_tile(a, b, out=dots)
            edges = n + 2 * builder.add_tile(dots, r0, c0)
            done_flops += tile_flops
            if edges > max_edges:
                raise _edge_cap_error(max_edges, delta, edges, done_flops / total_flops)
            window.check()
            bar.update(1)
    window.release()
