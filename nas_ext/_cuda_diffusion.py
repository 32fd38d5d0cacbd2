"""diffuse and gaussian_weights on the GPU (``device="cuda"`` or a Graph held on the GPU).

The kernel (csrc/cuda/diffusion.cu) runs every Euler step on torch's current stream without a host round
trip, with the CPU kernel's arithmetic; this module validates the arrays (the CPU path's errors, checked
with torch where the arrays live on the GPU) and prepares the buffers.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

import numpy as np
import torch

from . import _C
from ._cuda import address, indices, is_cuda_tensor, stream_handle, target_device
from ._validation import param_error
from .graph import Graph

__all__ = ["gaussian_weights", "diffuse"]

logger = logging.getLogger(__name__)

_REAL_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.uint8, torch.int8, torch.int16,
                torch.int32, torch.int64, torch.bool)


def graph_arrays(graph: Graph, device: torch.device):
    """The graph's indptr (int64), indices (int32) and dist (float32) as contiguous tensors on ``device``."""
    return (torch.as_tensor(graph.indptr).to(device=device, dtype=torch.int64).contiguous(),
            torch.as_tensor(graph.indices).to(device=device, dtype=torch.int32).contiguous(),
            torch.as_tensor(graph.dist).to(device=device, dtype=torch.float32).contiguous())


def gaussian_weights(graph: Graph, sigma: Optional[float], device: Any = "cuda") -> torch.Tensor:
    """``nas_ext.gaussian_weights`` on the GPU (sigma already validated, or None for the default scale)."""
    dev = target_device(device, graph.indptr)
    indptr, targets, dist = graph_arrays(graph, dev)
    if sigma is None:
        mean = graph.meta.get("mean_pairwise_distance")
        if mean is None:
            rows = torch.repeat_interleave(torch.arange(graph.n, device=dev), indptr.diff(),
                                           output_size=targets.shape[0])
            off_diagonal = targets.to(torch.int64) != rows
            count = int(off_diagonal.sum())
            logger.info("gaussian_weights: the graph carries no mean pairwise distance (not built by knn_graph); "
                        "sigma defaults to the squared mean distance of its %d edges instead.", count)
            mean = float(dist[off_diagonal].double().mean()) if count else 0.0
        sigma = float(mean) ** 2
    wide = dist.double()
    if sigma == 0.0:
        return (wide == 0.0).to(torch.float32)
    return torch.exp(-(wide * wide) / sigma).to(torch.float32)


def _values(values: Any, n: int, function: str, device: torch.device) -> torch.Tensor:
    if not is_cuda_tensor(values):
        from .diffusion import _check_values

        return torch.from_numpy(_check_values(values, n, function)).to(device)
    shown = f"a CUDA tensor of shape {tuple(values.shape)} and dtype {values.dtype}"
    if values.dtype not in _REAL_DTYPES:
        raise param_error(function, "values", f"a real-valued array of shape ({n},) or ({n}, m)", shown,
                          exc=TypeError, describe=False)
    if values.ndim not in (1, 2) or values.shape[0] != n:
        raise param_error(function, "values", f"an array of shape ({n},) or ({n}, m)", shown, describe=False)
    dtype = values.dtype if values.dtype in (torch.float32, torch.float64) else torch.float64
    out = values.to(device=device, dtype=dtype).contiguous()
    if not bool(torch.isfinite(out).all()):
        raise param_error(function, "values", "finite (no NaN or inf)", "a non-finite value", describe=False)
    return out


def _fixed_mask(fixed: Any, n: int, function: str, device: torch.device) -> Optional[torch.Tensor]:
    """uint8 mask of the fixed nodes (indices or a boolean mask, as on the CPU), or None."""
    if fixed is None:
        return None
    if (is_cuda_tensor(fixed) and fixed.dtype == torch.bool) or (isinstance(fixed, np.ndarray) and fixed.dtype == bool):
        if tuple(fixed.shape) != (n,):
            raise param_error(function, "fixed", f"indices or a boolean mask of shape ({n},)",
                              f"a mask of shape {tuple(fixed.shape)}", describe=False)
        return torch.as_tensor(fixed).to(device=device, dtype=torch.uint8)
    if isinstance(fixed, (list, tuple)) and fixed and all(isinstance(v, (bool, np.bool_)) for v in fixed):
        return _fixed_mask(np.asarray(fixed, dtype=bool), n, function, device)
    _, at = indices(fixed, n, function, "fixed", device)
    mask = torch.zeros(n, dtype=torch.uint8, device=device)
    mask[at] = 1
    return mask


def _weights(weights: Any, graph: Graph, nnz: int, function: str, device: torch.device) -> torch.Tensor:
    if weights is None:
        return gaussian_weights(graph, None, device)
    if not is_cuda_tensor(weights):
        from .diffusion import _check_weights

        return torch.from_numpy(_check_weights(weights, graph, function)).to(device)
    if weights.ndim != 1 or weights.shape[0] != nnz or weights.dtype == torch.bool or weights.is_complex():
        raise param_error(function, "weights", f"a 1-D array of length {nnz} (one weight per edge)",
                          f"a CUDA tensor of shape {tuple(weights.shape)} and dtype {weights.dtype}", describe=False)
    return weights.to(device=device, dtype=torch.float32).contiguous()


def _check_graph_and_weights(indptr: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, n: int,
                             function: str) -> None:
    """The checks the CPU kernel makes while summing the rows, with its messages."""
    nnz = targets.shape[0]
    steps = indptr.diff()
    bad_rows = (steps < 0) | (indptr[1:] > nnz) | (indptr[:-1] < 0)
    if int(indptr[0]) != 0 or int(indptr[-1]) != nnz:
        raise param_error(function, "graph", "a CSR graph with indptr[0] == 0 and indptr[-1] == nnz",
                          f"indptr from {int(indptr[0])} to {int(indptr[-1])}", describe=False)
    if bool(bad_rows.any()):
        row = int(torch.nonzero(bad_rows)[-1, 0])
        raise param_error(function, "graph", "a CSR graph with non-decreasing indptr in [0, nnz]",
                          f"a decreasing indptr at row {row}", describe=False)
    bad_index = (targets < 0) | (targets >= n)
    if bool(bad_index.any()):
        edge = int(torch.nonzero(bad_index)[-1, 0])
        raise param_error(function, "graph", f"a CSR graph with indices in [0, {n})",
                          f"index {int(targets[edge])} at edge {edge}", describe=False)
    bad_weight = ~torch.isfinite(weights) | (weights < 0)
    if bool(bad_weight.any()):
        edge = int(torch.nonzero(bad_weight)[-1, 0])
        raise param_error(function, "weights", "finite and non-negative",
                          f"the value {float(weights[edge]):g} at edge {edge}", describe=False)


def diffuse(graph: Graph, values: Any, *, weights: Any, step: float, n_steps: int, fixed: Any, fixed_value: float,
            device: Any) -> torch.Tensor:
    """``nas_ext.diffuse`` on the GPU; the scalars are validated by the caller. Returns a new tensor of the
    shape and dtype of ``values`` on the device."""
    function = "diffuse"
    dev = target_device(device, values, graph.indptr)
    with torch.cuda.device(dev):
        n = graph.n
        values = _values(values, n, function, dev)
        fixed_mask = _fixed_mask(fixed, n, function, dev)
        indptr, targets, _ = graph_arrays(graph, dev)
        edge_weights = _weights(weights, graph, targets.shape[0], function, dev)
        _check_graph_and_weights(indptr, targets, edge_weights, n, function)
        if values.numel() == 0:
            return values.clone()

        out = torch.empty_like(values)
        scratch = torch.empty_like(values) if n_steps > 0 else out
        # Step s reads buffer s % 2: start where the last step lands in `out`.
        first, second = (out, scratch) if n_steps % 2 == 0 else (scratch, out)
        first.copy_(values)
        if fixed_mask is not None:
            first[fixed_mask.bool()] = fixed_value
        coef = torch.empty(n, dtype=values.dtype, device=dev)

        spec = _C.CudaDiffusionInput()
        spec.device, spec.n, spec.m = dev.index, n, (values.shape[1] if values.ndim == 2 else 1)
        spec.indptr, spec.indices, spec.weights = address(indptr), address(targets), address(edge_weights)
        spec.coef, spec.fixed, spec.fixed_value = address(coef), address(fixed_mask), float(fixed_value)
        spec.step, spec.n_steps = float(step), int(n_steps)
        spec.first, spec.second, spec.is_double = address(first), address(second), values.dtype == torch.float64
        _C.cuda_diffuse(spec, stream_handle(dev))
    return out
