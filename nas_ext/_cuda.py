"""Shared plumbing of the CUDA path of nas_ext: target device and stream, validated CUDA tensors, pointers.

The compiled CUDA kernels (csrc/cuda) take device addresses, sizes and a stream as integers and allocate
nothing: every buffer is a torch tensor allocated by the ``_cuda_*`` modules, so memory comes from torch's
caching allocator and all work runs, in order, on torch's current stream of the target device. Inputs may
be CUDA tensors (used in place when already float32 and contiguous) or anything the CPU path accepts
(validated on the host, then copied over). Outputs are torch tensors on the target device.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional, Tuple

import numpy as np
import torch

from ._validation import check_features, check_indices, param_error

__all__ = [
    "target_device",
    "stream_handle",
    "address",
    "is_cuda_tensor",
    "features",
    "indices",
    "normalize_rows",
    "pad_features",
    "ieee_fp32_matmul",
    "launch_ranges",
]

FEATURE_MULTIPLE = 32  # the tiled GEMM kernels stream features in chunks of 32 (csrc/cuda/tile_gemm.cuh)


def is_cuda_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.is_cuda


def target_device(device: Any, *inputs: Any) -> torch.device:
    """The CUDA device to run on: an explicit ``'cuda:N'``, else that of the first CUDA tensor among
    ``inputs``, else torch's current device."""
    requested = torch.device(device) if not isinstance(device, torch.device) else device
    if requested.index is not None:
        return requested
    for value in inputs:
        if is_cuda_tensor(value):
            return value.device
    return torch.device("cuda", torch.cuda.current_device())


def stream_handle(device: torch.device) -> int:
    """torch's current stream on ``device`` as the integer the kernels take."""
    return int(torch.cuda.current_stream(device).cuda_stream)


def address(tensor: Optional[torch.Tensor]) -> int:
    """Device address of a tensor's first element (0 for None)."""
    return 0 if tensor is None else int(tensor.data_ptr())


def _describe(tensor: torch.Tensor) -> str:
    return f"a CUDA tensor of shape {tuple(tensor.shape)} and dtype {tensor.dtype}"


def features(X: Any, function: str, device: torch.device, argument: str = "X", *, min_rows: int = 1) -> torch.Tensor:
    """A validated float32 C-contiguous (n_samples, n_features) CUDA tensor, with the CPU path's errors.

    CUDA tensors are checked on the GPU (dtype, shape, NaN/inf) and converted only when needed; anything
    else goes through the CPU path's ``check_features`` and is copied to ``device``.
    """
    if not is_cuda_tensor(X):
        return torch.from_numpy(check_features(X, function, argument, min_rows=min_rows)).to(device)
    if X.dtype == torch.bool or X.is_complex():
        raise param_error(function, argument, "a real-valued 2-D array of shape (n_samples, n_features)",
                          _describe(X), exc=TypeError, describe=False)
    if X.ndim != 2:
        raise param_error(function, argument, "a 2-D array of shape (n_samples, n_features)", _describe(X),
                          describe=False)
    if X.shape[0] < min_rows or X.shape[1] < 1:
        raise param_error(function, argument, f"a 2-D array with at least {min_rows} row(s) and 1 column",
                          _describe(X), describe=False)
    out = X.to(device=device, dtype=torch.float32).contiguous()
    finite_rows = torch.isfinite(out).all(dim=1)
    if not bool(finite_rows.all()):
        bad = int(torch.nonzero(~finite_rows)[0, 0])
        raise param_error(function, argument, "finite (no NaN or inf)", f"a non-finite value in row {bad}",
                          describe=False)
    return out


def indices(values: Any, n: int, function: str, argument: str, device: torch.device, *,
            allow_duplicates: bool = False) -> Tuple[np.ndarray, torch.Tensor]:
    """Validated sample indices (CPU rules; a CUDA tensor is brought to the host for the check): the int64
    numpy array and its copy on ``device``."""
    if is_cuda_tensor(values):
        values = values.cpu()
    checked = check_indices(values, n, function, argument, allow_duplicates=allow_duplicates)
    return checked, torch.from_numpy(checked).to(device)


def normalize_rows(X: torch.Tensor) -> torch.Tensor:
    """Rows divided by their float32 L2 norm, all-zero rows kept (``nas_ext._gemm.normalize_rows`` on the GPU)."""
    norms = torch.linalg.vector_norm(X, dim=1, keepdim=True)
    norms[norms == 0] = 1.0
    return X / norms


def pad_features(X: torch.Tensor) -> torch.Tensor:
    """``X`` with zero columns appended up to a multiple of 32 features (no copy when already one).

    Zero features change no dot product, norm or distance.
    """
    n, d = X.shape
    padded = -(-d // FEATURE_MULTIPLE) * FEATURE_MULTIPLE
    if padded == d:
        return X.contiguous()
    out = torch.zeros((n, padded), dtype=X.dtype, device=X.device)
    out[:, :d] = X
    return out


@contextlib.contextmanager
def ieee_fp32_matmul() -> Iterator[None]:
    """Run torch's CUDA matmuls in full float32 even if the caller allowed TF32 for float32 products."""
    previous = torch.get_float32_matmul_precision()
    if previous == "highest":
        yield
        return
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


def launch_ranges(total: int, per_launch: int, *, progress: bool = False, desc: str = "") -> Iterator[Tuple[int, int]]:
    """Consecutive [begin, end) ranges of at most ``per_launch`` work items covering ``total`` (a tqdm bar
    over them when ``progress``)."""
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit="tile", disable=not progress) as bar:
        for begin in range(0, total, per_launch):
            end = min(total, begin + per_launch)
            yield begin, end
            bar.update(end - begin)
