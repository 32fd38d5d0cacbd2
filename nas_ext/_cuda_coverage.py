"""CoverageState and kcenter_greedy on the GPU (``device="cuda"``), with the CPU kernels' picks.

``CoverageBackend`` holds the state as torch tensors and offers the methods of the compiled CPU state
(``_C.CoverageState``), so ``nas_ext.CoverageState`` validates arguments once and delegates to either.
The kernels are csrc/cuda/coverage.cu and csrc/cuda/kcenter.cu; a pick costs a few launches and no host
round trip, and each call synchronises once at the end to check that every pick found a candidate.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
import torch

from . import _C
from ._cuda import (address, features, ieee_fp32_matmul, indices, is_cuda_tensor, normalize_rows, stream_handle,
                    target_device)
from ._validation import check_choice, check_int, check_vector, param_error
from .graph import Graph

__all__ = ["CoverageBackend", "kcenter_greedy"]

_INT32_MAX = 2**31 - 1


def _graph_arrays(graph: Any, function: str) -> Tuple[Any, Any, int]:
    """indptr, indices and n of a Graph (numpy or torch arrays) or a square scipy sparse matrix."""
    if isinstance(graph, Graph):
        return graph.indptr, graph.indices, graph.n
    import scipy.sparse as sp

    if not sp.issparse(graph) or graph.ndim != 2 or graph.shape[0] != graph.shape[1]:
        raise param_error(function, "graph", "a nas_ext.graph.Graph or a square scipy sparse matrix", graph,
                          exc=TypeError)
    csr = graph.tocsr()
    return csr.indptr, csr.indices, csr.shape[0]


def _device_weights(weights: Any, nnz: int, function: str, device: torch.device) -> torch.Tensor:
    """Per-edge weights as float64 on ``device``, with the CPU path's checks (length, finite, >= 0)."""
    if not is_cuda_tensor(weights):
        return torch.from_numpy(check_vector(weights, nnz, function, "weights", nonnegative=True)).to(device)
    if weights.ndim != 1 or weights.shape[0] != nnz or weights.dtype == torch.bool or weights.is_complex():
        raise param_error(function, "weights", f"a real-valued 1-D array of length {nnz}",
                          f"a CUDA tensor of shape {tuple(weights.shape)} and dtype {weights.dtype}", describe=False)
    out = weights.to(device=device, dtype=torch.float64).contiguous()
    if not bool(torch.isfinite(out).all()):
        raise param_error(function, "weights", "finite (no NaN or inf)", "a non-finite value", describe=False)
    if out.numel() and float(out.min()) < 0:
        raise param_error(function, "weights", "non-negative", f"the value {float(out.min()):g}", describe=False)
    return out


class CoverageBackend:
    """The weighted coverage state of ``nas_ext.CoverageState(device="cuda")`` (same methods as the compiled
    CPU state; arrays in and out are torch tensors on the device, node lists numpy int64)."""

    def __init__(self, graph: Any, weights: Any, device: Any) -> None:
        fn = "CoverageState"
        indptr, targets, n = _graph_arrays(graph, fn)
        self.device = target_device(device, indptr, weights)
        dev = self.device
        with torch.cuda.device(dev):
            self._indptr = torch.as_tensor(indptr).to(device=dev, dtype=torch.int64).contiguous()
            self._indices = torch.as_tensor(targets).to(device=dev, dtype=torch.int32).contiguous()
            self._check_csr(n)
            nnz = self._indices.shape[0]
            self._weights = None if weights is None else _device_weights(weights, nnz, fn, dev)

            # The transpose: in-edges of each node, sources ascending (a stable sort by target).
            order = torch.argsort(self._indices, stable=True)
            sources = torch.repeat_interleave(torch.arange(n, device=dev), self._indptr.diff(), output_size=nnz)
            self._in_sources = sources[order].to(torch.int32)
            self._in_weights = None if self._weights is None else self._weights[order]
            self._in_indptr = torch.zeros(n + 1, dtype=torch.int64, device=dev)
            torch.cumsum(torch.bincount(self._indices, minlength=n), dim=0, out=self._in_indptr[1:])

            self._level = torch.zeros(n, dtype=torch.float64, device=dev)
            self._multiplier = torch.ones(n, dtype=torch.float64, device=dev)
            self._gain = torch.empty(n, dtype=torch.float64, device=dev)
            self._live = torch.empty(n, dtype=torch.int32, device=dev)
            self._blocked = torch.zeros(n, dtype=torch.uint8, device=dev)
            self._pickable = torch.ones(n, dtype=torch.uint8, device=dev)
            self._hits = torch.empty(n, dtype=torch.int32, device=dev)
            self._partials = _C.cuda_pick_partials(dev.index)
            self._partial_gain = torch.empty(self._partials, dtype=torch.float64, device=dev)
            self._partial_entry = torch.empty(self._partials, dtype=torch.int64, device=dev)
            self._status = torch.zeros(1, dtype=torch.int32, device=dev)

            spec = _C.CudaCoverageInput()
            spec.device, spec.n = dev.index, n
            spec.indptr, spec.indices = address(self._indptr), address(self._indices)
            spec.weights = address(self._weights)
            spec.in_indptr, spec.in_sources = address(self._in_indptr), address(self._in_sources)
            spec.in_weights = address(self._in_weights)
            spec.level, spec.multiplier = address(self._level), address(self._multiplier)
            spec.gain, spec.live = address(self._gain), address(self._live)
            spec.blocked, spec.pickable = address(self._blocked), address(self._pickable)
            self._spec = spec
            _C.cuda_coverage_init(spec, stream_handle(dev))

    def _check_csr(self, n: int) -> None:
        """The CPU state's checks of the CSR (offsets from 0, non-decreasing, ending at nnz; ids in range)."""
        fn = "CoverageState"
        indptr, targets = self._indptr, self._indices
        if n < 1 or n > _INT32_MAX:
            raise param_error(fn, "graph", "a graph with 1 to 2^31 - 1 nodes", f"{n} nodes", describe=False)
        if indptr.ndim != 1 or indptr.shape[0] != n + 1 or int(indptr[0]) != 0:
            raise param_error(fn, "indptr", "a CSR offset array of length n + 1 starting at 0", "another array",
                              describe=False)
        steps = indptr.diff()
        if bool((steps < 0).any()):
            row = int(torch.nonzero(steps < 0)[0, 0])
            raise param_error(fn, "indptr", "non-decreasing", f"a decreasing step at row {row}", describe=False)
        if int(indptr[-1]) != targets.shape[0]:
            raise param_error(fn, "indptr", f"ending at nnz = {targets.shape[0]}", f"last offset {int(indptr[-1])}",
                              describe=False)
        bad = (targets < 0) | (targets >= n)
        if bool(bad.any()):
            raise param_error(fn, "indices", f"node ids in [0, {n})", f"id {int(targets[bad][0])}", describe=False)

    def _on_device(self, nodes: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(nodes, dtype=np.int64)).to(self.device)

    @property
    def n(self) -> int:
        return int(self._level.shape[0])

    @property
    def nnz(self) -> int:
        return int(self._indices.shape[0])

    @property
    def n_candidates(self) -> int:
        return int(self._pickable.sum())

    def cover(self, sources: np.ndarray) -> None:
        nodes = self._on_device(sources)
        with torch.cuda.device(self.device):
            _C.cuda_coverage_cover(self._spec, address(nodes), nodes.shape[0], stream_handle(self.device))

    def discount(self, sources: np.ndarray, factor: float, per_source: bool) -> None:
        nodes = self._on_device(sources)
        with torch.cuda.device(self.device):
            _C.cuda_coverage_discount(self._spec, address(nodes), nodes.shape[0], factor, per_source,
                                      address(self._hits), stream_handle(self.device))

    def block(self, nodes: np.ndarray) -> None:
        at = self._on_device(nodes)
        self._blocked[at] = 1
        self._pickable[at] = 0
        self._gain[at] = 0.0
        self._live[at] = 0

    def exclude(self, nodes: np.ndarray) -> None:
        self._pickable[self._on_device(nodes)] = 0

    def pick(self, k: int, keys: Optional[np.ndarray]) -> Tuple[torch.Tensor, torch.Tensor]:
        dev = self.device
        picks = torch.empty(k, dtype=torch.int64, device=dev)
        gains = torch.empty(k, dtype=torch.float64, device=dev)
        if k == 0:
            return picks, gains
        key_tensor = None if keys is None else self._on_device(keys)
        self._status.zero_()
        with torch.cuda.device(dev):
            _C.cuda_coverage_pick(self._spec, k, address(key_tensor), address(picks), address(gains),
                                  address(self._partial_gain), address(self._partial_entry), self._partials,
                                  address(self._status), stream_handle(dev))
        if int(self._status) != 0:
            raise RuntimeError("CoverageState.pick: a CUDA pick found no candidate although enough were counted "
                               "(an internal error; please report it).")
        return picks, gains

    def gains(self) -> torch.Tensor:
        """Readable gains: 0 once no term of a node is left (and for blocked nodes), else max(0, sum)."""
        return torch.where(self._live == 0, torch.zeros_like(self._gain), self._gain.clamp_min(0.0))

    def coverage(self) -> torch.Tensor:
        return self._level.clone()

    def multipliers(self) -> torch.Tensor:
        return self._multiplier.clone()

    def pickable(self) -> torch.Tensor:
        return self._pickable.clone()


_ROW_TILE = 4096
_CENTRE_TILE = 4096
_MEAN_TIE_TOLERANCE = 1e-9  # as nas_ext.kcenter


def _nearest_centres(X: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Position in ``centres`` of every row's nearest centre (squared L2 from float32 GEMM tiles, first on
    ties, as the CPU path computes it); int32, shape (n,)."""
    norms = (X * X).sum(dim=1)
    C = X[centres]
    centre_norms = norms[centres]
    nearest = torch.empty(X.shape[0], dtype=torch.int32, device=X.device)
    with ieee_fp32_matmul():
        for r0 in range(0, X.shape[0], _ROW_TILE):
            rows = slice(r0, min(r0 + _ROW_TILE, X.shape[0]))
            best = torch.full((rows.stop - r0,), float("inf"), device=X.device)
            best_at = torch.zeros(rows.stop - r0, dtype=torch.int32, device=X.device)
            for c0 in range(0, C.shape[0], _CENTRE_TILE):
                cols = slice(c0, min(c0 + _CENTRE_TILE, C.shape[0]))
                sq = X[rows] @ C[cols].T
                sq *= -2.0
                sq += norms[rows, None]
                sq += centre_norms[None, cols]
                value, at = sq.min(dim=1)
                closer = value < best
                best[closer] = value[closer]
                best_at[closer] = (at[closer] + c0).to(torch.int32)
            nearest[rows] = best_at
    return nearest


def _farthest_from_mean(X: torch.Tensor) -> int:
    """Index of the row farthest (L2, float64) from the mean row; relative ties of 1e-9 to the lowest index."""
    mean = X.sum(dim=0, dtype=torch.float64) / X.shape[0]
    far = torch.empty(X.shape[0], dtype=torch.float64, device=X.device)
    for r0 in range(0, X.shape[0], _ROW_TILE):
        diff = X[r0:r0 + _ROW_TILE].double() - mean
        far[r0:r0 + _ROW_TILE] = (diff * diff).sum(dim=1)
    return int(torch.nonzero(far >= far.max() * (1.0 - _MEAN_TIE_TOLERANCE))[0, 0])


def kcenter_greedy(X: Any, budget: int, *, centers: Any, metric: str, device: Any) -> torch.Tensor:
    """``nas_ext.kcenter_greedy`` on the GPU: int64 picks on the device (same picks as the CPU)."""
    fn = "kcenter_greedy"
    metric = check_choice(metric, fn, "metric", ("euclidean", "cosine"))
    dev = target_device(device, X)
    with torch.cuda.device(dev):
        X = features(X, fn, dev)
        if metric == "cosine":
            X = normalize_rows(X)
        n = X.shape[0]
        centre_list, centres = indices(centers, n, fn, "centers", dev)
        budget = check_int(budget, fn, "budget", low=0, high=n - centre_list.shape[0])
        picks = torch.empty(budget, dtype=torch.int64, device=dev)
        if budget == 0:
            return picks
        taken = torch.zeros(n, dtype=torch.uint8, device=dev)
        assign = None
        if centre_list.shape[0]:
            taken[centres] = 1
            assign = _nearest_centres(X, centres)
        else:
            first = _farthest_from_mean(X)
            picks[0] = first
            taken[first] = 1
        partials = _C.cuda_pick_partials(dev.index)
        partial_distance = torch.empty(partials, dtype=torch.float32, device=dev)
        partial_index = torch.empty(partials, dtype=torch.int64, device=dev)
        status = torch.zeros(1, dtype=torch.int32, device=dev)
        nearest_sq = torch.empty(n, dtype=torch.float32, device=dev)
        spec = _C.CudaKcenterInput()
        spec.device, spec.X, spec.n, spec.d = dev.index, address(X), n, X.shape[1]
        spec.taken, spec.nearest_sq = address(taken), address(nearest_sq)
        spec.centres, spec.n_centres, spec.assign = address(centres), centre_list.shape[0], address(assign)
        _C.cuda_kcenter_greedy(spec, budget, assign is None, address(picks), address(partial_distance),
                               address(partial_index), partials, address(status), stream_handle(dev))
        if int(status) != 0:
            raise RuntimeError("kcenter_greedy: a CUDA pick found no open point although enough were counted "
                               "(an internal error; please report it).")
    return picks
