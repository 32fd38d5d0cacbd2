"""The float32 working rows of the radius kernels, prepared chunk by chunk (in memory or on disk).

cosine: rows divided by their L2 norm (computed in float64); all-zero rows stay zero.
euclidean: rows minus the column mean (float64), which leaves distances unchanged and shrinks the norms,
hence the rounding error of |x|^2 + |y|^2 - 2<x, y>.

Every row is prepared by the same float64 operations whichever chunk or order it is read in, so the
dense and the cell-pruned builds, in memory or streamed from a memmap, see bit-identical rows.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from ._streaming import PageWindow, chunk_rows, take_rows, working_array
from ._validation import param_error

__all__ = ["column_mean", "prepare_block", "working_rows", "MAX_SQ_NORM", "check_finite_rows"]

MAX_SQ_NORM = 1e37  # euclidean: keeps |x|^2 + |y|^2 - 2<x, y> finite in float32
_PREP_ROWS = 2048  # rows per float64 temporary


def check_finite_rows(X: np.ndarray, function: str) -> None:
    """Raise the usual error on the first row holding NaN/inf, reading ``X`` in chunks (memmaps: pages released)."""
    step = chunk_rows(X.shape[1], X.dtype.itemsize)
    window = PageWindow(X)
    for start in range(0, X.shape[0], step):
        finite = np.isfinite(X[start:start + step]).all(axis=1)
        if not finite.all():
            bad = start + int(np.flatnonzero(~finite)[0])
            raise param_error(function, "X", "finite (no NaN or inf)", f"a non-finite value in row {bad}",
                              describe=False)
        window.check()
    window.release()


def column_mean(X: np.ndarray) -> np.ndarray:
    """float64 column mean, summed in fixed chunks of 2048 rows (the same bits for any caller)."""
    total = np.zeros(X.shape[1], dtype=np.float64)
    window = PageWindow(X)
    for start in range(0, X.shape[0], _PREP_ROWS):
        total += X[start:start + _PREP_ROWS].sum(axis=0, dtype=np.float64)
        window.check()
    window.release()
    return total / X.shape[0]


def prepare_block(block: np.ndarray, metric: str, mean: Optional[np.ndarray]) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """float32 working rows of ``block`` (rows, d) and, for euclidean, their float64 squared norms."""
    out = np.empty(block.shape, dtype=np.float32)
    sq = None if metric == "cosine" else np.empty(block.shape[0], dtype=np.float64)
    for start in range(0, block.shape[0], _PREP_ROWS):
        part = block[start:start + _PREP_ROWS].astype(np.float64)
        if metric == "cosine":
            norms = np.sqrt(np.einsum("ij,ij->i", part, part))
            norms[norms == 0] = 1.0
            out[start:start + _PREP_ROWS] = part / norms[:, None]
        else:
            with np.errstate(over="ignore"):  # a row beyond float32 range shows up as an infinite norm
                centred = (part - mean).astype(np.float32)
            out[start:start + _PREP_ROWS] = centred
            wide = centred.astype(np.float64)
            sq[start:start + _PREP_ROWS] = np.einsum("ij,ij->i", wide, wide)
    return out, sq


def working_rows(X: np.ndarray, metric: str, function: str, *, order: Optional[np.ndarray] = None,
                 low_memory: bool = False, progress=None) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """The prepared rows of ``X`` (in ``order`` when given) and their squared norms (euclidean, float32).

    ``low_memory``: the (n, d) float32 result lives in an unlinked temporary file instead of memory and
    its pages, like those of a memmapped ``X``, are kept within a :class:`PageWindow`. Cost: one pass over X.
    """
    n, d = X.shape
    mean = column_mean(X) if metric == "euclidean" else None
    out = working_array((n, d), low_memory)
    sq_norms = None if metric == "cosine" else np.empty(n, dtype=np.float64)
    step = chunk_rows(d, X.dtype.itemsize)
    window = PageWindow(X, out)
    for start in range(0, n, step):
        stop = min(n, start + step)
        block = X[start:stop] if order is None else take_rows(X, order[start:stop], window)
        rows, sq = prepare_block(block, metric, mean)
        out[start:stop] = rows
        if sq is not None:
            sq_norms[start:stop] = sq
        window.check()
        if progress is not None:
            progress.update(stop - start)
    window.release()
    if sq_norms is None:
        return out, None
    if not sq_norms.max() < MAX_SQ_NORM:
        raise param_error(function, "X", "small enough for float32 products (centred squared row norms "
                          f"below {MAX_SQ_NORM:g})", f"a largest squared norm of {sq_norms.max():g}",
                          describe=False)
    return out, sq_norms.astype(np.float32)
