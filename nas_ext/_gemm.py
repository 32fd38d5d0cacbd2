"""Dense products for the tiled graph kernels, done by torch's CPU GEMM (MKL/OpenBLAS) on shared memory.

The compiled kernels never see an N x N matrix: callers ask for one tile of products at a time and
hand it to a fused C++ threshold/selection kernel.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch


def normalize_rows(X: np.ndarray) -> np.ndarray:
    """L2-normalised copy of ``X`` (float32); all-zero rows stay zero."""
    norms = np.linalg.norm(X, axis=1, keepdims=True).astype(np.float32)
    norms[norms == 0] = 1.0
    return (X / norms).astype(np.float32, copy=False)


def squared_norms(X: np.ndarray) -> np.ndarray:
    """Row-wise squared L2 norms (float32)."""
    return np.einsum("ij,ij->i", X, X, dtype=np.float32)


def dot_tile(A: np.ndarray, B: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``A @ B.T`` in float32 through torch's GEMM, written into ``out`` when given (no copies)."""
    with warnings.catch_warnings():
        # Read-only inputs (memmaps opened with mode "r") are only read by the GEMM.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        ta, tb = torch.from_numpy(A), torch.from_numpy(B)
    if out is None:
        out = np.empty((A.shape[0], B.shape[0]), dtype=np.float32)
    torch.matmul(ta, tb.T, out=torch.from_numpy(out))
    return out
