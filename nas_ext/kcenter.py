"""k-center greedy (the Coreset strategy's selection): farthest-point picks with incremental min-distances."""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _C
from ._device import resolve_device
from ._gemm import dot_tile, normalize_rows, squared_norms
from ._validation import check_choice, check_features, check_indices, check_int

__all__ = ["kcenter_greedy"]

_MIN_ROW_TILE = 1024
_CENTRE_TILE = 4096
_TILE_ELEMENTS = 1 << 22  # 16 MiB of float32 products per GEMM tile (few centres -> tall tiles)
_MEAN_CHUNK = 8192
_MEAN_TIE_TOLERANCE = 1e-9


def _nearest_centres(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Position in ``centers`` of every row's nearest centre (squared L2 from GEMM tiles; int32, shape (n,))."""
    norms = squared_norms(X)
    C = np.ascontiguousarray(X[centers])
    centre_norms = norms[centers]
    nearest = np.empty(X.shape[0], dtype=np.int32)
    row_tile = max(_MIN_ROW_TILE, _TILE_ELEMENTS // min(C.shape[0], _CENTRE_TILE))
    for r0 in range(0, X.shape[0], row_tile):
        rows = slice(r0, min(r0 + row_tile, X.shape[0]))
        best = np.full(rows.stop - r0, np.inf, dtype=np.float32)
        best_at = np.zeros(rows.stop - r0, dtype=np.int32)
        for c0 in range(0, C.shape[0], _CENTRE_TILE):
            cols = slice(c0, min(c0 + _CENTRE_TILE, C.shape[0]))
            sq = dot_tile(X[rows], C[cols])
            sq *= -2.0
            sq += norms[rows, None]
            sq += centre_norms[None, cols]
            at = sq.argmin(axis=1)
            value = sq[np.arange(sq.shape[0]), at]
            closer = value < best
            best[closer] = value[closer]
            best_at[closer] = at[closer] + c0
        nearest[rows] = best_at
    return nearest


def _farthest_from_mean(X: np.ndarray) -> int:
    """Index of the row farthest (L2, float64) from the mean row.

    Rows within a relative ``_MEAN_TIE_TOLERANCE`` of the farthest are ties (the lowest index wins), so
    symmetric layouts such as two points, equally far from their mean, start at the lower index.
    """
    mean = X.mean(axis=0, dtype=np.float64)
    far = np.empty(X.shape[0], dtype=np.float64)
    for r0 in range(0, X.shape[0], _MEAN_CHUNK):
        diff = X[r0:r0 + _MEAN_CHUNK] - mean
        far[r0:r0 + _MEAN_CHUNK] = np.einsum("ij,ij->i", diff, diff)
    return int(np.argmax(far >= far.max() * (1.0 - _MEAN_TIE_TOLERANCE)))


def kcenter_greedy(X: Any, budget: int, *, centers: Any = (), metric: str = "euclidean",
                   device: Any = "cpu") -> np.ndarray:
    """Greedy k-center (Coreset) picks: ``budget`` times, the point farthest from its nearest centre.

    The initial centres are ``centers`` (labeled samples). Each pick becomes a centre and the
    min-distances are updated by one pass over the rows (C++/OpenMP), so the whole selection is
    O((|centers| + budget) · N · d) in the worst case; rows whose nearest centre is provably closer than the
    new pick (triangle inequality with a margin far above float32 rounding) are skipped without changing
    the result, which makes later picks on clustered data much cheaper than a full pass.

    Parameters
    ----------
    X : array (n_samples, n_features), float32/float64 numpy or CPU torch tensor
    budget : int in [0, n_samples - len(centers)]
    centers : 1-D int array, optional
        Initial centres, distinct indices. With no centres the first pick is the point farthest (L2)
        from the mean of ``X`` (deterministic; distances within a relative 1e-9 of the largest are ties, the
        lowest index wins); the strategy layer decides whether to start at random instead.
    metric : 'euclidean' or 'cosine'
        'cosine' runs the Euclidean greedy on L2-normalised rows, which orders pairs exactly as the cosine
        distance ``1 - <x̂, ŷ>`` does (all-zero rows stay zero: at distance 1 from every unit vector).
    device : 'cpu' or 'cuda' ('cuda:N')
        On the GPU (a CUDA build and a visible GPU, else RuntimeError; X may be a CUDA tensor) each pick is
        one distance-update pass plus a parallel argmax (csrc/cuda/kcenter.cu) with the CPU's float32
        arithmetic, so the picks are the CPU's; they come back as an int64 tensor on the GPU.

    Returns
    -------
    int64 array (budget,): the picks in order; never a centre, never twice. Ties (equal float32 squared
    distances, e.g. duplicate points) go to the lowest index. Centres and picks are masked explicitly, so
    duplicates of a centre (distance 0) are picked only when nothing farther is left.

    Memory: the float32 copy of ``X`` (none when it already is float32 C-contiguous), O(n) state, and one
    16 MiB GEMM tile (plus its temporaries) for the initial nearest centres.

    Examples
    --------
    >>> import numpy as np
    >>> from nas_ext import kcenter_greedy
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 0.0], [5.0, 5.0], [0.0, 5.1]])
    >>> kcenter_greedy(X, 2, centers=[0]).tolist()
    [3, 4]
    >>> kcenter_greedy(X, 5).tolist()
    [3, 0, 4, 2, 1]
    """
    fn = "kcenter_greedy"
    metric = check_choice(metric, fn, "metric", ("euclidean", "cosine"))
    if resolve_device(device, fn) == "cuda":
        from ._cuda_coverage import kcenter_greedy as kcenter_greedy_cuda

        return kcenter_greedy_cuda(X, budget, centers=centers, metric=metric, device=device)
    X = check_features(X, fn)
    if metric == "cosine":
        X = normalize_rows(X)
    n = X.shape[0]
    centers = check_indices(centers, n, fn, "centers")
    budget = check_int(budget, fn, "budget", low=0, high=n - centers.shape[0])
    if budget == 0:
        return np.empty(0, dtype=np.int64)
    if centers.shape[0]:
        return _C.kcenter_greedy(X, centers, _nearest_centres(X, centers), -1, budget)
    return _C.kcenter_greedy(X, centers, None, _farthest_from_mean(X), budget)
