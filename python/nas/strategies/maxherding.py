"""MaxHerding (Bae et al. 2024) with the Gaussian kernel k(x, y) = exp(-||x - y||² / σ²), and through
``clean``/``noisy`` the selection step of MaxHerding + NAS.

The objective is kernel coverage: c(y) = max over selected s of k(s, y), and a pick maximises
gain(x) = Σ_y max(0, k(x, y) - c(y)) over every pool point y (labeled ones included) — MaxHerding's
mean gain times n. Clean labeled samples are centres; noisy ones are not, and are never picked.

Two exact-or-bounded modes, no candidate subsampling (the reference capped the pool at 35k):

* ``mode="dense"``: exact. Kernel rows are computed on demand (one GEMM per block of rows, never an
  n x n matrix) and the greedy is *lazy*: gains only shrink as coverage grows (the objective is
  submodular), so stale gains are upper bounds and only the best few are recomputed per pick.
  O(n²·d) once per pool for the initial bounds, then O(r·n·d) per pick for r recomputed rows.
* ``mode="sparse"``: the kernel truncated to 0 where it falls below ``eps``, i.e. a euclidean radius
  graph at r = σ·sqrt(-ln eps) with per-edge weights k(x, y), driven by ``nas_ext.CoverageState``.
  **Truncation error**: every dropped kernel value is < eps, so both k and c are off by less than eps
  per term and, for the same selected set, every candidate's gain is within n·eps of the exact gain
  (its mean gain within eps). The picks are the dense mode's whenever the best and second-best exact
  gains at each step differ by more than 2·n·eps. Truncation only sparsifies when σ is small against
  the spread of the data: on unit-norm features ||x - y||² <= 4, so with σ = 1 the kernel never drops
  below e^-4 ≈ 0.018 and the "sparse" graph is complete — use the dense mode (on a GPU for large n).
* ``mode="auto"``: dense up to ``dense_max_samples`` samples, sparse above.
"""
from __future__ import annotations

import math
import time
from typing import Dict, Optional

import numpy as np
import torch

import nas_ext
from nas_ext._device import resolve_device
from nas_ext._validation import check_choice, check_float, check_int

from ._coverage import TIE_BREAKS, CoverageSession, KernelCoverage, argmax_tie
from .base import Strategy

__all__ = ["MaxHerding"]

MODES = ("auto", "dense", "sparse")


class _DenseKernel:
    """The pool on a torch device plus the kernel row computations shared by every dense state."""

    def __init__(self, X: np.ndarray, sigma: float, device: str, block_bytes: int = 1 << 27) -> None:
        self.n = X.shape[0]
        self.device = torch.device(device)
        self.X = torch.from_numpy(X).to(self.device)
        self.sq = (self.X * self.X).sum(dim=1)
        self.inv_sigma2 = 1.0 / (sigma * sigma)
        self.block = max(1, min(4096, block_bytes // (4 * max(self.n, 1))))
        self.base_gains = self.gains(np.arange(self.n), torch.zeros(self.n, device=self.device))

    def rows(self, index: np.ndarray) -> torch.Tensor:
        """k(X[index], X) as a float32 (len(index), n) tensor."""
        idx = torch.from_numpy(np.ascontiguousarray(index, dtype=np.int64)).to(self.device)
        d2 = self.sq[idx, None] + self.sq[None, :] - 2.0 * (self.X[idx] @ self.X.T)
        return torch.exp(d2.clamp_(min=0.0).mul_(-self.inv_sigma2))

    def gains(self, index: np.ndarray, coverage: torch.Tensor) -> np.ndarray:
        """Σ_y max(0, k(x, y) - coverage(y)) for each x in ``index`` (float64)."""
        out = np.empty(len(index), dtype=np.float64)
        for start in range(0, len(index), self.block):
            part = index[start:start + self.block]
            excess = (self.rows(part) - coverage[None, :]).clamp_(min=0.0)
            out[start:start + len(part)] = excess.sum(dim=1, dtype=torch.float64).cpu().numpy()
        return out

    def raise_coverage(self, coverage: torch.Tensor, nodes: np.ndarray) -> None:
        for start in range(0, len(nodes), self.block):
            torch.maximum(coverage, self.rows(nodes[start:start + self.block]).max(dim=0).values, out=coverage)


class _DenseHerding:
    """Exact MaxHerding coverage state (the dense backend of a CoverageSession): lazy greedy over exact
    gains, with the coverage-free gains of the pool as the initial upper bounds."""

    def __init__(self, kernel: _DenseKernel, refresh: int = 64) -> None:
        self.kernel = kernel
        self.coverage = torch.zeros(kernel.n, device=kernel.device)
        self.bound = kernel.base_gains.copy()
        self.fresh = np.zeros(kernel.n, dtype=bool)
        self.available = np.ones(kernel.n, dtype=bool)
        self.refresh = refresh

    def cover(self, nodes):
        self.kernel.raise_coverage(self.coverage, np.asarray(nodes, dtype=np.int64))
        self.fresh[:] = False

    def exclude(self, nodes):
        self.available[nodes] = False

    def discount(self, nodes, factor, per_source):
        raise ValueError("MaxHerding does not support noisy_weight (Weighted NPC is defined for ProbCover).")

    def peek(self, tie_break, rng):
        candidates = self.available
        while True:
            bounds = np.where(candidates, self.bound, -np.inf)
            best = argmax_tie(bounds, "lowest", rng)
            top = bounds[best]
            contenders = np.flatnonzero(bounds == top) if tie_break == "random" else np.array([best])
            stale_contenders = contenders[~self.fresh[contenders]]
            if stale_contenders.size == 0:
                choice = best if tie_break == "lowest" else int(rng.choice(contenders))
                return choice, float(self.bound[choice])
            stale = np.flatnonzero(candidates & ~self.fresh)
            if stale.size > self.refresh:
                stale = stale[np.argpartition(-self.bound[stale], self.refresh - 1)[:self.refresh]]
            stale = np.union1d(stale, stale_contenders)
            self.bound[stale] = self.kernel.gains(stale, self.coverage)
            self.fresh[stale] = True

    def pick(self, k, tie_break, rng):
        picks = np.empty(k, dtype=np.int64)
        gains = np.empty(k, dtype=np.float64)
        for i in range(k):
            picks[i], gains[i] = self.peek(tie_break, rng)
            self.available[picks[i]] = False
            self.cover(picks[i:i + 1])
        return picks, gains


class MaxHerding(Strategy):
    """Greedy kernel herding with a Gaussian kernel exp(-||x - y||² / σ²) (no factor 2, as the reference).

    Parameters
    ----------
    sigma : float, kernel length-scale (1.0 as in the MaxHerding paper, on unit-norm features).
    mode : 'auto', 'dense' or 'sparse' (see the module docstring for exactness and cost).
    eps : float in (0, 1), the sparse mode's kernel truncation level (error bound: n·eps per gain).
    dense_max_samples : int, the largest pool 'auto' runs densely (20000).
    tie_break : 'lowest' (the reference's first maximal index) or 'random' (seeded).
    max_edges : int or None, a guard on the sparse graph's size (a clear error instead of running out of memory).
    device : 'cpu' or 'cuda'.

    Fitted attributes: ``mode_`` (the mode in use), ``graph_`` (sparse mode), ``radius_`` (sparse truncation
    radius). ``last_gains_`` holds Σ_y gains of the picks (n × MaxHerding's mean gain).

    >>> import numpy as np
    >>> from nas.strategies import MaxHerding
    >>> X = np.array([[0, 0], [0, 0.1], [0.1, 0], [3, 3], [3, 3.1]], dtype=np.float32)
    >>> MaxHerding(sigma=1.0, mode="dense").select(X, 2).tolist()
    [0, 3]
    """

    supports_noise = True

    def __init__(self, sigma: float = 1.0, *, mode: str = "auto", eps: float = 1e-4,
                 dense_max_samples: int = 20_000, tie_break: str = "lowest", max_edges: Optional[int] = None,
                 device: str = "cpu") -> None:
        super().__init__()
        self.sigma = check_float(sigma, "MaxHerding", "sigma", low=0.0, low_open=True, high_open=True)
        self.mode = check_choice(mode, "MaxHerding", "mode", MODES)
        self.eps = check_float(eps, "MaxHerding", "eps", low=0.0, high=1.0, low_open=True, high_open=True)
        self.dense_max_samples = check_int(dense_max_samples, "MaxHerding", "dense_max_samples", low=1)
        self.tie_break = check_choice(tie_break, "MaxHerding", "tie_break", TIE_BREAKS)
        self.max_edges = max_edges
        self.device = device
        self.mode_: Optional[str] = None
        self.graph_ = None
        self.radius_: Optional[float] = None
        self._session: Optional[CoverageSession] = None

    def _params(self):
        return {"sigma": self.sigma, "mode": self.mode}

    def _fit(self, X: np.ndarray, timings: Dict[str, float]) -> None:
        t0 = time.perf_counter()
        n = X.shape[0]
        mode = self.mode if self.mode != "auto" else ("dense" if n <= self.dense_max_samples else "sparse")
        self.mode_ = mode
        if mode == "dense":
            device = resolve_device(self.device, "MaxHerding")
            kernel = _DenseKernel(X, self.sigma, device)
            self.graph_, self.radius_ = None, None
            self._session = CoverageSession(n, lambda: _DenseHerding(kernel))
            timings["kernel_sums"] = time.perf_counter() - t0
            return
        self.radius_ = self.sigma * math.sqrt(-math.log(self.eps))
        try:
            self.graph_ = nas_ext.radius_graph(X, self.radius_, metric="euclidean", max_edges=self.max_edges,
                                               device=self.device)
        except ValueError as exc:
            if "max_edges" not in str(exc):
                raise
            raise ValueError(f"MaxHerding(mode='sparse'): the truncated kernel's graph (radius sigma*sqrt(-ln eps) "
                             f"= {self.radius_:.4g}) is too large for this pool; use mode='dense', a larger eps "
                             f"or a smaller sigma. ({exc})") from exc
        dist = self.graph_.dist.astype(np.float64)
        weights = np.exp(-(dist * dist) / (self.sigma * self.sigma))
        graph, device = self.graph_, self.device
        self._session = CoverageSession(n, lambda: KernelCoverage(graph, weights=weights, device=device))
        timings["graph"] = time.perf_counter() - t0

    def _select(self, X, budget, clean, noisy, rng, timings: Dict[str, float]) -> np.ndarray:
        t0 = time.perf_counter()
        self._session.sync(clean, noisy)
        timings["sync"] = time.perf_counter() - t0
        picks, gains = self._session.pick(budget, self.tie_break, rng)
        self.last_gains_ = gains
        return picks
