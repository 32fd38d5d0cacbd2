"""ProbCover (Yehuda et al. 2022) and, through ``clean``/``noisy``/``noisy_weight``, the selection step of
NPC and Weighted NPC (seed 000 §3.2, Alg. 3).

Each sample covers its delta-ball; a greedy pick maximises the number of still-uncovered points in its
ball (self included). Labeled clean samples cover their balls; labeled noisy samples cover nothing and
are never picked, so a region whose representative came back mislabeled stays dense and is sampled
again. Weighted NPC lets points in the balls of noisy samples count ``noisy_weight`` (= 1 - q̂).
"""
from __future__ import annotations

import logging
import time
from typing import Dict, Optional

import numpy as np

import nas_ext
from nas_ext._validation import check_choice, check_float, check_int, param_error

from ._coverage import TIE_BREAKS, CoverageSession, Discount, KernelCoverage
from .base import Strategy
from .delta import PURITY_GRID_MAX, choose_delta_by_purity, choose_delta_max_degree, delta_grid

__all__ = ["ProbCover"]

logger = logging.getLogger(__name__)

DELTA_POLICIES = (None, "max_degree")
WEIGHT_MODES = ("once", "per_source")


class ProbCover(Strategy):
    """Greedy maximum coverage of delta-balls on a radius graph.

    Parameters
    ----------
    delta : float or None
        Ball radius (a point covers every y with dist(x, y) < delta, itself included). None chooses it
        with the ProbCover paper's purity heuristic on the first ``fit``: k-means with ``n_clusters``
        clusters, the largest delta of ``purity_grid`` whose balls are pure for at least ``purity`` of
        the points; one graph at the largest grid delta serves every candidate and the selection.
    metric : 'cosine' or 'euclidean'
        Cosine distance is 1 - <x, y> on L2-normalised rows.
    tie_break : 'random' (seeded uniform choice among maximal gains, as the reference code) or 'lowest'.
    delta_policy : None or 'max_degree'
        'max_degree' (seed 000 §3.2): when the maximal gain drops to <= 1 (only self-loops left), switch
        to the delta in (0, current delta) whose graph, after removing the labeled balls, has the
        largest maximal degree (ties: the smaller delta). Candidates are ``delta_resolution`` apart and
        come from the one graph already built. The new radius is kept in ``delta_`` for later calls.
        Without a policy an exhausted graph makes the remaining picks arbitrary; a warning is logged
        when that happens, once per graph (a new ``fit`` or delta logs again) rather than once per
        ``select``, since NAS calls ``select`` once per share.
    n_clusters : int, needed only when ``delta`` is None (NAS and ``make_selector`` pass the number of classes).
    purity : float in (0, 1], the purity threshold of the heuristic (0.95).
    purity_grid : 1-D array of candidate deltas for the heuristic; default 0.02..0.30 (cosine) or
        0.02..0.60 (euclidean) in steps of 0.02.
    purity_max_samples : int or None
        Above this pool size the heuristic runs on a seeded random subsample of this many rows (an
        optimistic purity estimate; the selection graph is then built separately at the chosen delta).
    delta_resolution : float, grid step of the 'max_degree' policy (0.02).
    max_edges : int or None, passed to ``nas_ext.radius_graph`` (a too-large delta is a clear error).
    device : 'cpu' or 'cuda', where the graph and the coverage state live.
    distributed : bool
        Run on every rank of a ``torch.distributed`` process group (started with ``torchrun``; joined on the
        first ``fit`` by :func:`nas.distributed.init_distributed`): each rank builds the radius graph of its
        block of rows (:func:`nas.distributed.sharded_radius_graph`) and the greedy runs as collectives
        (:class:`nas.distributed.DistributedCoverage`) with the picks of one process, ties included. Every
        rank must make the same calls with the same full ``X`` (a memmap is enough: only its block and the
        labeled rows are read by this strategy). Needs a float ``delta`` and ``delta_policy=None``; the
        graph and gains live on the CPU (``device`` must be 'cpu').
    random_state : None or int, seeds the heuristic's k-means and subsample (selection randomness comes
        from ``select``'s own ``random_state``).

    Fitted attributes: ``graph_`` (the radius graph built, at ``build_delta_``), ``delta_`` (the radius in
    use now), ``delta_history_`` (list of (n_labeled, old, new, curve) for each policy update),
    ``purity_`` (the heuristic's purity per grid delta, when it ran).

    Complexity: graph construction O(n²·d) tiled (see ``nas_ext.radius_graph``); the coverage state is
    built once per graph, O(n + E); a ``select`` brings it to a new partition with an O(n) copy of that
    pristine state plus the clean set's coverage, at most O(E) (O(changes) when the partition only grew,
    as with an ideal filter), plus the incremental greedy, O(E + budget·log n).

    >>> import numpy as np
    >>> from nas.strategies import ProbCover
    >>> X = np.array([[0, 0], [0, 0.1], [0.1, 0], [5, 5], [5, 5.1], [9, 0]], dtype=np.float32)
    >>> ProbCover(0.5, metric="euclidean", tie_break="lowest").select(X, 2).tolist()
    [0, 3]
    """

    supports_noise = True
    supports_weighting = True

    def __init__(self, delta: Optional[float] = None, *, metric: str = "cosine", tie_break: str = "random",
                 delta_policy: Optional[str] = None, n_clusters: Optional[int] = None, purity: float = 0.95,
                 purity_grid=None, purity_max_samples: Optional[int] = 100_000, delta_resolution: float = 0.02,
                 max_edges: Optional[int] = None, device: str = "cpu", random_state=None,
                 distributed: bool = False) -> None:
        super().__init__()
        name = "ProbCover"
        if not isinstance(distributed, (bool, np.bool_)):
            raise param_error(name, "distributed", "a bool", distributed, exc=TypeError)
        self.distributed = bool(distributed)
        if delta is not None:
            delta = check_float(delta, name, "delta", low=0.0, low_open=True, high_open=True)
        self.delta = delta
        self.metric = check_choice(metric, name, "metric", ("cosine", "euclidean"))
        self.tie_break = check_choice(tie_break, name, "tie_break", TIE_BREAKS)
        self.delta_policy = check_choice(delta_policy, name, "delta_policy", DELTA_POLICIES)
        self.n_clusters = None if n_clusters is None else check_int(n_clusters, name, "n_clusters", low=1)
        self.purity = check_float(purity, name, "purity", low=0.0, high=1.0, low_open=True)
        self.purity_grid = None if purity_grid is None else np.sort(np.asarray(purity_grid, dtype=np.float64))
        if self.purity_grid is not None and (self.purity_grid.ndim != 1 or self.purity_grid.size == 0
                                             or self.purity_grid[0] <= 0):
            raise param_error(name, "purity_grid", "a non-empty 1-D array of positive deltas", purity_grid)
        self.purity_max_samples = (None if purity_max_samples is None
                                   else check_int(purity_max_samples, name, "purity_max_samples", low=2))
        self.delta_resolution = check_float(delta_resolution, name, "delta_resolution", low=0.0, low_open=True,
                                            high_open=True)
        if self.distributed:
            if delta_policy is not None:
                raise param_error(name, "delta_policy", "None when distributed=True (the 'max_degree' policy is "
                                  "not distributed yet)", delta_policy)
            if device != "cpu":
                raise param_error(name, "device", "'cpu' when distributed=True (each rank's graph and gains live "
                                  "on its CPU; NCCL still carries the messages when the group uses it)", device)
        self.max_edges = max_edges
        self.device = device
        self._comm = None
        self.random_state = random_state
        self.graph_ = None
        self.build_delta_: Optional[float] = None
        self.delta_: Optional[float] = None
        self.delta_history_: list = []
        self.purity_: Optional[np.ndarray] = None
        self._active_graph = None
        self._session: Optional[CoverageSession] = None
        self._warned_exhausted = False

    def _params(self):
        params = {"delta": self.delta, "metric": self.metric, "tie_break": self.tie_break,
                  "delta_policy": self.delta_policy}
        if self.distributed:
            params["distributed"] = True
        return params

    # ------------------------------------------------------------------ fitting
    def fit(self, X, *, graph=None) -> "ProbCover":
        """Validate ``X`` and build the radius graph (or adopt ``graph``, a ``nas_ext.Graph`` over the rows of
        ``X`` built at radius >= delta with the same metric). Resets ``delta_`` to ``delta``."""
        timings: Dict[str, float] = {}
        self._fit_features(X, timings, graph=graph)
        self.last_timings_ = timings
        return self

    def _fit(self, X: np.ndarray, timings: Dict[str, float], graph=None) -> None:
        t0 = time.perf_counter()
        self.purity_ = None
        if self.distributed:
            self._fit_distributed(X, graph)
        elif graph is not None:
            self._adopt_graph(graph, X.shape[0])
        elif self.delta is None:
            self._fit_delta_heuristic(X)
        else:
            self.graph_ = nas_ext.radius_graph(X, self.delta, metric=self.metric, max_edges=self.max_edges,
                                               device=self.device)
            self.build_delta_ = self.delta_ = self.delta
        self.delta_history_ = []
        self._set_active_graph(self.delta_)
        timings["graph"] = time.perf_counter() - t0

    def _fit_distributed(self, X: np.ndarray, graph) -> None:
        from nas.distributed import ShardedGraph, init_distributed, shard_range, sharded_radius_graph

        if self.delta is None:
            raise param_error("ProbCover", "delta", "a float when distributed=True (the purity heuristic is not "
                              "distributed)", None)
        self._comm = init_distributed()
        if graph is not None:
            if not isinstance(graph, ShardedGraph) or graph.n != X.shape[0] or graph.metric != self.metric \
                    or graph.delta < self.delta:
                raise param_error("ProbCover.fit", "graph", f"a nas.distributed.ShardedGraph over the {X.shape[0]} "
                                  f"rows of X with metric {self.metric!r} built at a radius >= {self.delta:g}",
                                  graph, exc=TypeError)
            self.graph_ = graph
        else:
            start, stop = shard_range(X.shape[0], self._comm.rank, self._comm.world)
            self.graph_ = sharded_radius_graph(X[start:stop], self.delta, self._comm, metric=self.metric,
                                               max_edges=self.max_edges)
        self.build_delta_, self.delta_ = self.graph_.delta, self.delta

    def _adopt_graph(self, graph, n: int) -> None:
        if not isinstance(graph, nas_ext.Graph) or graph.n != n:
            raise param_error("ProbCover.fit", "graph", f"a nas_ext.Graph over the {n} rows of X", graph,
                              exc=TypeError)
        if graph.metric != self.metric or graph.delta is None:
            raise param_error("ProbCover.fit", "graph", f"a radius graph with metric {self.metric!r}",
                              f"metric {graph.metric!r}, delta {graph.delta!r}", describe=False)
        delta = self.delta if self.delta is not None else graph.delta
        if delta > graph.delta:
            raise param_error("ProbCover.fit", "graph", f"built at a radius >= delta={delta:g}",
                              f"a graph at delta={graph.delta:g}", describe=False)
        self.graph_, self.build_delta_, self.delta_ = graph, graph.delta, delta

    def _fit_delta_heuristic(self, X: np.ndarray) -> None:
        if self.n_clusters is None:
            raise param_error("ProbCover", "n_clusters", "an int >= 1 when delta is None (the purity heuristic "
                              "clusters the pool into n_clusters groups, normally the number of classes)", None)
        grid = self.purity_grid if self.purity_grid is not None else delta_grid(PURITY_GRID_MAX[self.metric])
        rng = np.random.default_rng(self.random_state)
        delta, graph, self.purity_ = choose_delta_by_purity(
            X, self.n_clusters, metric=self.metric, grid=grid, threshold=self.purity, random_state=rng,
            max_samples=self.purity_max_samples, max_edges=self.max_edges, device=self.device)
        if graph is None:
            graph = nas_ext.radius_graph(X, delta, metric=self.metric, max_edges=self.max_edges, device=self.device)
        self.graph_, self.build_delta_, self.delta_ = graph, graph.delta, delta

    def _set_active_graph(self, delta: float) -> None:
        self.delta_ = delta
        self._warned_exhausted = False
        self._active_graph = self.graph_ if delta == self.build_delta_ else self.graph_.restrict(delta)
        graph, device = self._active_graph, self.device
        if self.distributed:
            from nas.distributed import DistributedCoverage

            comm = self._comm
            self._session = CoverageSession(graph.n, lambda: DistributedCoverage(graph, comm))
            return
        self._session = CoverageSession(graph.n, lambda: KernelCoverage(graph, device=device))

    # ------------------------------------------------------------------ selection
    def select(self, X, budget: int, *, clean=(), noisy=(), random_state=None,
               noisy_weight: Optional[float] = None, weight_mode: str = "once") -> np.ndarray:
        """Pick ``budget`` samples (see ``Strategy.select``).

        ``noisy_weight`` (Weighted NPC): points inside the balls of ``noisy`` samples count this much in
        every gain instead of 1 (1 - q̂ in the paper); points covered by a clean sample still count 0.
        ``weight_mode='per_source'`` applies the factor once per covering noisy sample (the "factor"
        variant, weight^k for k noisy covers). Gains of the picks are left in ``last_gains_``.
        """
        discount = None
        if noisy_weight is not None:
            factor = check_float(noisy_weight, "ProbCover.select", "noisy_weight", low=0.0, high=1.0)
            mode = check_choice(weight_mode, "ProbCover.select", "weight_mode", WEIGHT_MODES)
            if factor < 1.0:
                discount = Discount(factor, mode == "per_source")
        return self._run_select(X, budget, clean, noisy, random_state, discount=discount)

    def _select(self, X, budget, clean, noisy, rng, timings, discount: Optional[Discount] = None):
        if self.distributed:
            from nas.distributed.coverage import check_same_call

            check_same_call(self._comm, budget, clean, noisy, discount)
        t0 = time.perf_counter()
        self._session.sync(clean, noisy, discount if noisy.size else None)
        timings["sync"] = time.perf_counter() - t0
        timings["delta_update"] = 0.0
        picks, gains = [], []
        remaining = budget
        while remaining:
            batch, batch_gains = self._session.pick(remaining, self.tie_break, rng)
            exhausted = np.flatnonzero(batch_gains <= 1.0)
            if exhausted.size and self.delta_policy == "max_degree":
                first = int(exhausted[0])
                kept = np.concatenate(picks + [batch[:first]])
                t1 = time.perf_counter()
                new_delta = self._update_delta(np.concatenate([clean, kept]), noisy, discount)
                timings["delta_update"] += time.perf_counter() - t1
                if new_delta is not None:
                    picks.append(batch[:first])
                    gains.append(batch_gains[:first])
                    remaining -= first
                    self._session.sync(np.concatenate([clean, kept]), noisy, discount if noisy.size else None)
                    continue
            if exhausted.size:
                self._warn_exhausted(budget - remaining + int(exhausted[0]), budget)
            picks.append(batch)
            gains.append(batch_gains)
            break
        self.last_gains_ = np.concatenate(gains)
        return np.concatenate(picks)

    def _update_delta(self, covering: np.ndarray, noisy: np.ndarray, discount: Optional[Discount]) -> Optional[float]:
        """Apply the 'max_degree' policy; switches the active graph and returns the new delta, or None."""
        n = self.graph_.n
        device = self.device

        def max_gain_at(graph) -> float:
            session = CoverageSession(n, lambda: KernelCoverage(graph, device=device))
            session.sync(covering, noisy, discount if noisy.size else None)
            return session.backend.peek("lowest", np.random.default_rng(0))[1]

        old = self.delta_
        new, curve = choose_delta_max_degree(self.graph_, old, self.delta_resolution, max_gain_at)
        if new is None:
            return None
        self.delta_history_.append((int(covering.size + noisy.size), old, new, curve))
        logger.info("ProbCover: graph exhausted at delta=%g with %d labeled; max_degree policy switches to "
                    "delta=%g (max degree %g)", old, covering.size + noisy.size, new, curve[new])
        self._set_active_graph(new)
        return new

    def _warn_exhausted(self, at: int, budget: int) -> None:
        if self._warned_exhausted:
            return
        self._warned_exhausted = True
        if self.delta_policy is None:
            advice = "Pass delta_policy='max_degree' to shrink delta when this happens."
        else:
            advice = "No smaller delta has a larger maximal degree either; try a different delta."
        logger.warning("ProbCover: the graph at delta=%g is exhausted after %d of %d picks (max gain <= 1: only "
                       "self-loops left), so the remaining picks are arbitrary among the uncovered points. %s",
                       self.delta_, at, budget, advice)
