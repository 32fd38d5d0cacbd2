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
from ._validation import check_choice, check_features, check_float, check_int, param_error
from .graph import Graph

__all__ = ["radius_graph", "default_max_edges", "BYTES_PER_EDGE"]

logger = logging.getLogger(__name__)

FUNCTION = "radius_graph"
METRICS = ("cosine", "euclidean")
#: Peak bytes per directed edge while building: 12-byte compact pair records (one per undirected pair,
#: i.e. 6 per directed edge) plus the 8-byte CSR entry (int32 index + float32 distance).
BYTES_PER_EDGE = 14
DEFAULT_TILE_ROWS = 2048
DEFAULT_TILE_COLS = 2048  # 2048 x 2048 float32 tiles (16 MiB): the fastest shape measured, cache-sized
_PREP_ROWS = 2048  # rows per chunk when normalising / centring (bounds the float64 temporaries)
_MAX_SQ_NORM = 1e37  # euclidean: keeps |x|^2 + |y|^2 - 2<x, y> finite in float32


def _available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo where there is one, else the free physical pages."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def default_max_edges() -> int:
    """The default edge cap of :func:`radius_graph`: half the available memory at call time / 14 B per edge."""
    return max(1, _available_memory_bytes() // (2 * BYTES_PER_EDGE))


def _prepared_rows(X: np.ndarray, metric: str):
    """The float32 rows the kernel works on, and their squared norms (euclidean only).

    cosine: rows divided by their L2 norm (computed in float64); all-zero rows stay zero.
    euclidean: rows minus the column mean (computed in float64), which leaves distances unchanged and
    shrinks the norms, hence the rounding error of |x|^2 + |y|^2 - 2<x, y>. Rows whose squared norm would
    overflow float32 products are an error.
    """
    n = X.shape[0]
    out = np.empty(X.shape, dtype=np.float32)
    if metric == "cosine":
        for start in range(0, n, _PREP_ROWS):
            block = X[start:start + _PREP_ROWS].astype(np.float64)
            norms = np.sqrt(np.einsum("ij,ij->i", block, block))
            norms[norms == 0] = 1.0
            out[start:start + _PREP_ROWS] = block / norms[:, None]
        return out, None
    mean = X.mean(axis=0, dtype=np.float64)
    sq_norms = np.empty(n, dtype=np.float64)
    for start in range(0, n, _PREP_ROWS):
        with np.errstate(over="ignore"):  # a row beyond float32 range shows up as an infinite norm
            centred = (X[start:start + _PREP_ROWS].astype(np.float64) - mean).astype(np.float32)
        out[start:start + _PREP_ROWS] = centred
        wide = centred.astype(np.float64)
        sq_norms[start:start + _PREP_ROWS] = np.einsum("ij,ij->i", wide, wide)
    if not sq_norms.max() < _MAX_SQ_NORM:
        raise param_error(FUNCTION, "X", "small enough for float32 products (centred squared row norms "
                          f"below {_MAX_SQ_NORM:g})", f"a largest squared norm of {sq_norms.max():g}",
                          describe=False)
    return out, sq_norms.astype(np.float32)


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


def _edge_cap_error(max_edges: int, delta: float, edges: int, done: float) -> ValueError:
    expected = (f"at least the number of directed edges of the graph at delta={delta:g} (already {edges:,} "
                f"after {100 * done:.0f}% of the distance tiles); pass a smaller 'delta' or a larger "
                f"'max_edges' (default: {BYTES_PER_EDGE} bytes per edge in half the available memory)")
    return param_error(FUNCTION, "max_edges", expected, max_edges)


def radius_graph(X: Any, delta: float, *, metric: str = "cosine", max_edges: Optional[int] = None,
                 device: str = "cpu", tile_rows: Optional[int] = None, progress: bool = False) -> Graph:
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
        half the available memory divided by ``BYTES_PER_EDGE`` (14). Exceeding it raises a ValueError
        naming ``max_edges`` and ``delta`` as soon as the running count passes it, before the CSR exists.
    device : {'cpu', 'cuda'}
        Where to compute; 'cuda' (or 'cuda:N') needs a CUDA build of nas_ext and a visible GPU (else
        RuntimeError), accepts CUDA tensors for ``X`` and returns a Graph of torch tensors on the GPU with
        the same edges (see Notes). There, ``max_edges`` defaults to half the free GPU memory / 48 bytes.
    tile_rows : int, optional
        Rows per distance tile (default 2048; tiles are tile_rows x max(tile_rows, 2048)). Smaller tiles
        use less memory, larger ones amortise the GEMM better.
    progress : bool
        Show a tqdm bar over the distance tiles (for million-row builds).

    Returns
    -------
    Graph
        CSR with ``indptr`` int64 (n + 1), ``indices`` int32 sorted ascending within each row, ``dist``
        float32 (self-loops at 0), ``metric``, ``delta``, ``symmetric=True``: the CSR is its own reverse
        index.

    Notes
    -----
    Only the tiles on or above the diagonal are computed (half of the 2 n^2 d flops of a full product),
    each by torch's float32 GEMM; a fused C++/OpenMP pass flags candidate pairs with a test widened by the
    GEMM's rounding-error bound and re-computes each candidate's distance exactly (float64 accumulation
    over the float32 rows). The edge set and the stored distances therefore do not depend on the BLAS or
    the tiling, duplicates are at distance exactly 0, and ``radius_graph(X, a).restrict(b)`` equals
    ``radius_graph(X, b)`` for every b <= a.

    With ``device="cuda"`` the same rule runs in two passes over 128 x 128 tiles on or above the diagonal
    (csrc/cuda/radius_graph.cu): TF32 tensor-core products, a candidate test widened by the proven TF32
    error bound, the same exact float64 re-check, edge counts (then the ``max_edges`` check and the CSR
    allocation), then the fill pass; rows are sorted by torch.

    Time: n^2 d flops of GEMM plus O(n^2) for the threshold scan plus O(E d) for the re-check.
    Memory: a float32 working copy of X (n d 4 bytes), one tile (tile_rows x 2048 x 4 bytes, 16 MiB by
    default), and at the peak ``BYTES_PER_EDGE`` = 14 bytes per directed edge (12-byte records of the
    pairs i < j, then the 8-byte CSR entries) plus 24 bytes per row (36 for euclidean). The edge cap is
    checked after every tile, so a too-large delta stops within one tile of passing ``max_edges``.

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
    if max_edges is not None:
        max_edges = check_int(max_edges, FUNCTION, "max_edges", low=1)
    if tile_rows is not None:
        tile_rows = check_int(tile_rows, FUNCTION, "tile_rows", low=1)
    if not isinstance(progress, (bool, np.bool_)):
        raise param_error(FUNCTION, "progress", "a bool", progress, exc=TypeError)
    if resolve_device(device, FUNCTION) == "cuda":
        if tile_rows is not None:
            warnings.warn("radius_graph: 'tile_rows' is ignored with device='cuda' (the GPU tiles are 128 x 128).",
                          UserWarning, stacklevel=2)
        from ._cuda_graphs import radius_graph as radius_graph_cuda

        return radius_graph_cuda(X, delta, metric=metric, max_edges=max_edges, device=device, progress=progress)
    X = check_features(X, FUNCTION, dtype=None)  # no float32 copy here: _prepared_rows makes the one we need
    n = X.shape[0]
    if n > np.iinfo(np.int32).max:
        raise param_error(FUNCTION, "X", "at most 2^31 - 1 rows (int32 neighbour indices)", X)
    if max_edges is None:
        max_edges = default_max_edges()
    if n > max_edges:
        raise _edge_cap_error(max_edges, delta, n, 0.0)

    rows, sq_norms = _prepared_rows(X, metric)
    builder = _C.RadiusGraphBuilder(rows, sq_norms, metric, delta)
    tile_rows = tile_rows or DEFAULT_TILE_ROWS
    tile_cols = max(tile_rows, DEFAULT_TILE_COLS)
    _scan_tiles(builder, rows, tile_rows, tile_cols, max_edges, delta, progress)
    indptr, indices, dist = builder.assemble()
    logger.debug("radius_graph: n=%d, delta=%g, %s, %d edges", n, delta, metric, indices.shape[0])
    return Graph(indptr, indices, dist, metric=metric, delta=float(delta), symmetric=True)


def _scan_tiles(builder, rows: np.ndarray, tile_rows: int, tile_cols: int, max_edges: int, delta: float,
                progress: bool) -> None:
    """Feed the builder every tile on or above the diagonal; stop as soon as the edge cap is passed."""
    from tqdm.auto import tqdm

    n = rows.shape[0]
    tiles = [(r0, c0) for r0 in range(0, n, tile_rows) for c0 in range(r0, n, tile_cols)]
    flops = [min(tile_rows, n - r0) * min(tile_cols, n - c0) for r0, c0 in tiles]
    total_flops, done_flops = float(sum(flops)), 0.0
    buffer = np.empty(min(tile_rows, n) * min(tile_cols, n), dtype=np.float32)
    with _ieee_fp32_matmul(), tqdm(total=len(tiles), desc=FUNCTION, unit="tile", disable=not progress) as bar:
        for (r0, c0), tile_flops in zip(tiles, flops):
            a, b = rows[r0:r0 + tile_rows], rows[c0:c0 + tile_cols]
            dots = buffer[:a.shape[0] * b.shape[0]].reshape(a.shape[0], b.shape[0])
            dot_tile(a, b, out=dots)
            edges = n + 2 * builder.add_tile(dots, r0, c0)
            done_flops += tile_flops
            if edges > max_edges:
                raise _edge_cap_error(max_edges, delta, edges, done_flops / total_flops)
            bar.update(1)
