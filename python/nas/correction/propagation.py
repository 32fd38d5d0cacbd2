"""Batch selection by entropy propagation (seed 003, Eq. 8 and Algorithm 1, step 4).

Each pick takes the candidate with the highest entropy, pins its entropy to 0 and runs T_L explicit Euler steps
e <- e - delta_L·(I - D⁻¹A)e over the kNN graph, so the entropy of the pick's neighbours drops and the next
pick lands elsewhere. Two propagation modes:

- ``"global"`` (the paper's): the whole field is diffused T_L steps per pick, O(T_L·nnz) per pick. Exact; the
  whole batch (argmax, pin, steps) runs in one kernel call (``_C.propagate_select``: one thread team, the row
  sums once, the same arithmetic as a ``nas_ext.diffuse`` call per pick), and the graph is renumbered once by
  reverse Cuthill-McKee so that neighbours sit close together (the steps are bound by their gathers).
- ``"local"`` (incremental): a pick changes the field only through its pin. Diffusion is linear, so the field
  after the pick is M^T e (the pick-independent background smoothing) plus the pin's effect, which is exactly
  supported on the T_L-hop ball of the pick. This mode adds the pin's effect exactly and skips the background
  smoothing; its cost is O(T_L·nnz(ball)) per pick. It is an approximation of the paper's loop (the background
  smoothing of 10·Q steps per round flattens the field late in a batch) - measured, not assumed, equivalent.
"""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

import nas_ext
from nas_ext import _C
from nas_ext._validation import check_choice, check_float, check_int, param_error
from nas_ext.graph import Graph

__all__ = ["EntropyPropagation", "PROPAGATION_MODES", "CLAMP_MODES", "diffuse_scipy", "batch_redundancy"]

logger = logging.getLogger(__name__)

PROPAGATION_MODES = ("global", "local")
#: "pick": only the current pick is pinned during its T_L steps (Algorithm 1); "batch": every pick of the
#: batch so far stays pinned (spec 2.4(3)).
CLAMP_MODES = ("pick", "batch")


def diffuse_scipy(P: sp.csr_matrix, e: np.ndarray, fixed, *, step: float, n_steps: int) -> np.ndarray:
    """The same Euler loop written with scipy.sparse (the benchmark's baseline and the tests' oracle):
    ``n_steps`` times {e[fixed] = 0; e = e - step·(e - P e)}, then e[fixed] = 0. P = D⁻¹A (row-stochastic)."""
    e = np.array(e, dtype=np.float64)
    for _ in range(n_steps):
        e[fixed] = 0.0
        e = e - step * (e - P @ e)
    e[fixed] = 0.0
    return e


def batch_redundancy(graph: Graph, batch) -> float:
    """Fraction of the batch's members that have a kNN-graph neighbour in the batch (0 = spread out), NaN if
    the batch is empty."""
    batch = np.asarray(batch, dtype=np.int64)
    if batch.size == 0:
        return float("nan")
    member = np.zeros(graph.n, dtype=bool)
    member[batch] = True
    hits = 0
    for i in batch:
        nbrs = graph.indices[graph.indptr[i]:graph.indptr[i + 1]]
        hits += bool(member[nbrs[nbrs != i]].any())
    return hits / batch.size


class EntropyPropagation:
    """Entropy-propagation batch selector over a fixed kNN graph (built once per pool).

    Parameters
    ----------
    graph : nas_ext.Graph, usually ``nas_ext.knn_graph(X, 10)`` (symmetric, on the CPU).
    weights : per-edge weights (nnz,), default ``nas_ext.gaussian_weights(graph)`` (sigma_L = squared mean
        pairwise distance).
    step : delta_L in (0, 1] (default 0.1). n_steps : T_L >= 0 per pick (default 10).
    mode : 'global' (the paper's loop) or 'local' (the pin's exact effect only, see the module docstring).
    clamp : 'pick' (Algorithm 1) or 'batch' (earlier picks of the batch stay pinned at 0).
    reorder : renumber nodes by reverse Cuthill-McKee for the global kernel (same picks; faster gathers).

    Memory: the graph (plus a renumbered copy with ``reorder``) and a few (n,) float64 arrays.
    """

    def __init__(self, graph: Graph, *, weights=None, step: float = 0.1, n_steps: int = 10, mode: str = "global",
                 clamp: str = "pick", reorder: bool = True):
        owner = "EntropyPropagation"
        if not isinstance(graph, Graph):
            raise param_error(owner, "graph", "a nas_ext.Graph (e.g. nas_ext.knn_graph(X, 10))", graph,
                              exc=TypeError)
        graph = graph.cpu()
        self.step = check_float(step, owner, "step", low=0.0, high=1.0, low_open=True)
        self.n_steps = check_int(n_steps, owner, "n_steps", low=0)
        self.mode = check_choice(mode, owner, "mode", PROPAGATION_MODES)
        self.clamp = check_choice(clamp, owner, "clamp", CLAMP_MODES)
        w = nas_ext.gaussian_weights(graph) if weights is None else np.asarray(weights, dtype=np.float32)
        if w.shape != (graph.nnz,) or not np.isfinite(w).all() or (w < 0).any():
            raise param_error(owner, "weights", f"finite non-negative weights of shape ({graph.nnz},)", w)
        self.graph, self.n = graph, graph.n
        self.adjacency = sp.csr_matrix((w, graph.indices, graph.indptr), shape=(graph.n, graph.n))
        self.degree = np.asarray(self.adjacency.sum(axis=1), dtype=np.float64).ravel()
        if bool(reorder) and self.mode == "global" and graph.n > 1:
            perm = reverse_cuthill_mckee(self.adjacency, symmetric_mode=True).astype(np.int64)
        else:
            perm = np.arange(graph.n, dtype=np.int64)
        self.perm = perm                                   # new position -> original index
        self.rank = np.empty_like(perm)
        self.rank[perm] = np.arange(graph.n)               # original index -> new position
        permuted = self.adjacency[perm][:, perm].tocsr()
        permuted.sort_indices()
        self._indptr = permuted.indptr.astype(np.int64)
        self._indices = permuted.indices.astype(np.int32)
        self._weights = np.ascontiguousarray(permuted.data, dtype=np.float32)
        self.ball_sizes_: list = []

    # ---- one pick's propagation ------------------------------------------------------------------------
    def _ball(self, centre: int) -> np.ndarray:
        """Sorted original indices within n_steps hops of ``centre``."""
        seen = np.zeros(self.n, dtype=bool)
        seen[centre] = True
        frontier = np.array([centre], dtype=np.int64)
        indptr, indices = self.graph.indptr, self.graph.indices
        for _ in range(self.n_steps):
            if frontier.size == 0:
                break
            starts, ends = indptr[frontier], indptr[frontier + 1]
            nbrs = indices[np.concatenate([np.arange(s, t) for s, t in zip(starts, ends)])] if frontier.size \
                else np.empty(0, dtype=np.int32)
            nbrs = np.unique(nbrs)
            frontier = nbrs[~seen[nbrs]].astype(np.int64)
            seen[frontier] = True
        return np.flatnonzero(seen)

    def _local(self, e: np.ndarray, centre: int, pinned_before: np.ndarray) -> None:
        """Add the exact effect of pinning ``centre`` (original index) to ``e`` (original order) in place."""
        ball = self._ball(centre)
        self.ball_sizes_.append(ball.size)
        sub = self.adjacency[ball][:, ball].tocsr()
        # Boundary rows miss their edges out of the ball: a ghost node pinned at 0 carries the missing weight,
        # so every row keeps its full degree D_j (the pin's effect stays exact).
        missing = self.degree[ball] - np.asarray(sub.sum(axis=1), dtype=np.float64).ravel()
        missing[missing <= 1e-12 * np.maximum(self.degree[ball], 1e-300)] = 0.0
        m = ball.size
        ghost = sp.csr_matrix((missing, (np.arange(m), np.full(m, m))), shape=(m + 1, m + 1))
        full = (sp.bmat([[sub, None], [None, sp.csr_matrix((1, 1))]], format="csr") + ghost).tocsr()
        full.sort_indices()
        full.eliminate_zeros()
        indptr, indices = full.indptr.astype(np.int64), full.indices.astype(np.int32)
        weights = np.ascontiguousarray(full.data, dtype=np.float32)
        local = np.append(e[ball], 0.0)
        inside = np.flatnonzero(np.isin(ball, pinned_before))
        base_fixed = np.append(inside, m).astype(np.int64)
        with_pin = np.sort(np.append(base_fixed, np.searchsorted(ball, centre))).astype(np.int64)
        free, pinned = np.empty_like(local), np.empty_like(local)
        _C.diffuse(indptr, indices, weights, local, free, base_fixed, 0.0, self.step, self.n_steps)
        _C.diffuse(indptr, indices, weights, local, pinned, with_pin, 0.0, self.step, self.n_steps)
        e[ball] += (pinned - free)[:m]
        e[centre] = 0.0

    # ---- the batch ------------------------------------------------------------------------------------
    def select(self, entropy, n_picks: int, *, order, candidate_size: int, progress=None) -> tuple:
        """Pick ``n_picks`` samples by entropy propagation.

        entropy : float64 (n,), the field e (not modified).
        order : int64, the pickable samples (the unrelabelled pool U) ranked by candidacy, e.g. by increasing
            alpha (the paper ranks p_S ∝ 1 - alpha). The candidate set C is the first ``candidate_size``
            not-yet-picked members of ``order``; a pick leaves C and the next member of ``order`` enters.
        candidate_size : int in [1, len(order)]; len(order) makes C = U.
        Returns (picks int64 (n_picks,), final field float64 (n,)). Ties go to the lowest sample index.
        Cost per pick: one T_L-step diffusion (see the class) plus an O(n) masked argmax.
        """
        owner = "EntropyPropagation.select"
        n = self.n
        e = np.asarray(entropy, dtype=np.float64)
        if e.shape != (n,) or not np.isfinite(e).all():
            raise param_error(owner, "entropy", f"a finite array of shape ({n},)", e)
        order = np.asarray(order, dtype=np.int64)
        if order.ndim != 1 or (order.size and (order.min() < 0 or order.max() >= n)) \
                or np.unique(order).size != order.size:
            raise param_error(owner, "order", f"distinct sample indices in [0, {n})", order)
        n_picks = check_int(n_picks, owner, "n_picks", low=0, high=order.size)
        size = check_int(candidate_size, owner, "candidate_size", low=min(1, order.size), high=order.size)
        if self.mode == "global":
            return self._select_global(e, n_picks, order, size, progress)
        return self._select_local(e, n_picks, order, size, progress)

    def _select_global(self, e, n_picks: int, order, size: int, progress) -> tuple:
        """The paper's loop in the ``_C.propagate_select`` kernel on the renumbered graph. With a progress bar
        the batch runs in 20 chunks, each one call continuing the last: the candidates are the rest of the order
        without the picks so far (C keeps ``size`` members), and with clamp="batch" those picks stay pinned."""
        field = np.ascontiguousarray(e[self.perm])
        ranked = self.rank[order]                         # candidacy order, in field positions
        chunk = n_picks if progress is None else max(1, -(-n_picks // 20))
        pin_batch = self.clamp == "batch"
        picks = np.empty(0, dtype=np.int64)
        while picks.size < n_picks:
            take = min(chunk, n_picks - picks.size)
            remaining = ranked[~np.isin(ranked, picks)] if picks.size else ranked
            pinned = np.sort(picks) if pin_batch else np.empty(0, dtype=np.int64)
            new = _C.propagate_select(self._indptr, self._indices, self._weights, field, remaining,
                                      min(size, remaining.size), self.perm, take, pinned, self.step, self.n_steps,
                                      pin_batch)
            picks = np.concatenate([picks, new])
            if progress is not None:
                progress.update(take)
        out = np.empty(self.n, dtype=np.float64)
        out[self.perm] = field
        return self.perm[picks], out

    def _select_local(self, e, n_picks: int, order, size: int, progress) -> tuple:
        """The incremental mode: the argmax in numpy, the pin's effect on its ball per pick."""
        ranked = np.asarray(order, dtype=np.int64)
        cur = e.copy()
        active = np.zeros(self.n, dtype=bool)
        active[ranked[:size]] = True
        upcoming = size
        picks = np.empty(n_picks, dtype=np.int64)
        for b in range(n_picks):
            masked = np.where(active, cur, -np.inf)
            pick = int(np.argmax(masked))                 # the first maximum: the lowest index
            picks[b] = pick
            active[pick] = False
            if upcoming < ranked.size:
                active[ranked[upcoming]] = True
                upcoming += 1
            self._local(cur, pick, picks[:b] if self.clamp == "batch" else np.empty(0, np.int64))
            if progress is not None:
                progress.update(1)
        return picks, cur
