"""One place for argument checks at the nas_ext boundary, with one error sentence shape.

Every message reads: "The '<argument>' parameter of <function> must be <expected>. Got <got> instead."
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional

import numpy as np

__all__ = [
    "param_error",
    "check_features",
    "check_indices",
    "check_float",
    "check_int",
    "check_choice",
    "check_vector",
    "to_numpy",
]


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def param_error(function: str, argument: str, expected: str, got: Any, *, exc=ValueError,
                describe: bool = True) -> Exception:
    """Build the standard error for a bad argument (the caller raises it)."""
    shown = _describe(got) if describe else str(got)
    return exc(f"The '{argument}' parameter of {function} must be {expected}. Got {shown} instead.")


def to_numpy(value: Any) -> np.ndarray:
    """Return a numpy view of ``value``; CPU torch tensors are shared without copying."""
    if isinstance(value, np.ndarray):
        return value
    module = type(value).__module__
    if module.startswith("torch"):
        if value.device.type != "cpu":
            raise TypeError("Expected a CPU tensor here; CUDA tensors are only accepted with device='cuda'.")
        return value.detach().numpy()
    return np.asarray(value)


def check_features(X: Any, function: str, argument: str = "X", *, min_rows: int = 1,
                   dtype=np.float32, check_finite: bool = True) -> np.ndarray:
    """Validate an (n_samples, n_features) matrix and return it as a C-contiguous ``dtype`` array.

    Accepts numpy arrays (any order, memmaps) and CPU torch tensors; copies only when the dtype or
    layout has to change. NaN/inf, a wrong ndim and too few rows are errors.
    """
    arr = to_numpy(X)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise param_error(function, argument, "a real-valued 2-D array of shape (n_samples, n_features)", arr,
                          exc=TypeError)
    if arr.ndim != 2:
        raise param_error(function, argument, "a 2-D array of shape (n_samples, n_features)", arr)
    if arr.shape[0] < min_rows or arr.shape[1] < 1:
        raise param_error(function, argument, f"a 2-D array with at least {min_rows} row(s) and 1 column", arr)
    out = np.ascontiguousarray(arr, dtype=dtype)
    if check_finite and not np.isfinite(out).all():
        bad = int(np.flatnonzero(~np.isfinite(out).all(axis=1))[0])
        raise param_error(function, argument, "finite (no NaN or inf)",
                          f"a non-finite value in row {bad}", describe=False)
    return out


def check_indices(indices: Any, n: int, function: str, argument: str, *, allow_duplicates: bool = False,
                  allow_none: bool = True) -> np.ndarray:
    """Validate a 1-D collection of sample indices in [0, n); returns int64. ``None`` means empty."""
    if indices is None:
        if allow_none:
            return np.empty(0, dtype=np.int64)
        raise param_error(function, argument, "a 1-D array of indices", None)
    arr = to_numpy(indices) if not isinstance(indices, (list, tuple, range)) else np.asarray(indices)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise param_error(function, argument, "a 1-D array of integer indices", arr, exc=TypeError)
    arr = np.asarray(arr, dtype=np.int64).reshape(-1) if arr.ndim <= 1 else arr
    if arr.ndim != 1:
        raise param_error(function, argument, "a 1-D array of integer indices", arr)
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= n:
        bad = lo if lo < 0 else hi
        raise param_error(function, argument, f"indices in [0, {n})", f"index {bad}", describe=False)
    if not allow_duplicates and np.unique(arr).size != arr.size:
        vals, counts = np.unique(arr, return_counts=True)
        raise param_error(function, argument, "free of duplicates",
                          f"index {int(vals[counts > 1][0])} more than once", describe=False)
    return arr


def check_float(value: Any, function: str, argument: str, *, low: float = -math.inf, high: float = math.inf,
                low_open: bool = False, high_open: bool = False) -> float:
    """Validate a finite real number in an interval; returns it as ``float``."""
    ok_type = isinstance(value, numbers.Real) and not isinstance(value, bool)
    lo_b, hi_b = ("(" if low_open else "["), (")" if high_open else "]")
    interval = f"{lo_b}{low:g}, {high:g}{hi_b}".replace("inf", "inf")
    expected = f"a float in {interval}"
    if not ok_type:
        raise param_error(function, argument, expected, value, exc=TypeError)
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not (math.isinf(high) and v == high and not high_open)):
        raise param_error(function, argument, expected, value)
    if v < low or (low_open and v == low) or v > high or (high_open and v == high):
        raise param_error(function, argument, expected, value)
    return v


def check_int(value: Any, function: str, argument: str, *, low: Optional[int] = None,
              high: Optional[int] = None) -> int:
    """Validate an integer in [low, high] (bounds optional); returns ``int``."""
    lo = "-inf" if low is None else str(low)
    hi = "inf" if high is None else str(high)
    expected = f"an int in [{lo}, {hi}]"
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise param_error(function, argument, expected, value, exc=TypeError)
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise param_error(function, argument, expected, value)
    return v


def check_choice(value: Any, function: str, argument: str, choices) -> str:
    """Validate that ``value`` is one of ``choices``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise param_error(function, argument, f"one of {{{options}}}", value)
    return value


def check_vector(values: Any, length: int, function: str, argument: str, *, dtype=np.float64,
                 nonnegative: bool = False) -> np.ndarray:
    """Validate a finite 1-D vector of a given length; returns a contiguous ``dtype`` array."""
    arr = to_numpy(values)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
                                   or arr.dtype == bool):
        raise param_error(function, argument, f"a real-valued 1-D array of length {length}", arr, exc=TypeError)
    if arr.ndim != 1 or arr.shape[0] != length:
        raise param_error(function, argument, f"a 1-D array of length {length}", arr)
    out = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(out).all():
        raise param_error(function, argument, "finite (no NaN or inf)", "a non-finite value", describe=False)
    if nonnegative and out.size and out.min() < 0:
        raise param_error(function, argument, "non-negative", f"the value {out.min():g}", describe=False)
    return out
