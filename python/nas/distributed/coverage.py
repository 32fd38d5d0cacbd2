"""The coverage greedy over a row-sharded graph: the picks of one-process ``nas_ext.CoverageState``.

Each rank keeps the gains of its own rows in a compiled :class:`nas_ext.CoverageState` over a small local
graph: its rows (their real out-edges, columns renumbered to the local nodes they reach), the remote nodes
those edges reach (no out-edges) and one *proxy* per local node, a row with the single edge proxy(y) -> y.
Covering the proxies of a ball, in the ball's CSR order, raises exactly the levels that covering the ball's
source raises in one process and lowers the gains of the local in-neighbours with the same arithmetic in
the same order (the graph is symmetric, so a rank's rows are also the in-edges of the nodes they reach).
Remote nodes and proxies are never pickable.

A pick is a collective: every rank offers its best candidate (gain, index or random tie key), the winner
is the one-process rule applied to the offers — the lowest index (or smallest key of the seeded
permutation) among the gains within the kernel's tie tolerance of the global maximum — and its owner
sends the winner's ball; every rank then covers the ball's proxies it has. Per pick with lowest-index ties
and integer gains (ProbCover, NPC): one all_gather of (4 + max degree) float64 per rank carrying every
rank's offer and its ball (graphs of max degree above ``FUSED_BALL`` add a broadcast of the winner's ball);
with random ties or discounted gains (Weighted NPC) one all_reduce of the maximum comes first and the ranks
holding a maximal gain scan their n_local gains for the smallest tie key (O(n_local) per pick, the cost of
not changing the compiled kernel; with discounted gains every rank scans to find its maximum); then
O(in-degree) local updates.
"""
from __future__ import annotations

import copy
from typing import Optional, Tuple

import numpy as np

import nas_ext
from nas_ext.coverage import TIE_TOLERANCE

from ._comm import Comm
from .graph import ShardedGraph

__all__ = ["DistributedCoverage", "check_same_call", "FUSED_BALL"]

#: Largest ball sent inside the per-pick all_gather instead of a separate broadcast.
FUSED_BALL = 1024


def check_same_call(comm: Comm, budget: int, clean: np.ndarray, noisy: np.ndarray, discount) -> None:
    """Raise on every rank unless all ranks were asked the same selection (budget, labeled partition and
    discount): ranks that disagree would otherwise pair up unrelated collectives."""
    import hashlib

    digest = hashlib.sha256()
    for part in (np.array([budget], dtype=np.int64), np.asarray(clean, dtype=np.int64),
                 np.asarray(noisy, dtype=np.int64)):
        digest.update(part.tobytes())
        digest.update(b"|")
    digest.update(repr(discount).encode())
    mine = np.frombuffer(digest.digest()[:8], dtype=np.uint8).astype(np.float64)
    everyone = comm.all_gather(mine)
    if not (everyone == everyone[0]).all():
        differ = [r for r in range(comm.world) if not (everyone[r] == everyone[0]).all()]
        raise RuntimeError(f"distributed selection: ranks {differ} were asked a different selection (budget, "
                           "clean/noisy partition or weighting) than rank 0; every rank must run the same calls "
                           "on the same data and labels with the same seeds.")


class DistributedCoverage:
    """A coverage backend (``nas.strategies._coverage.CoverageBackend``) over a :class:`ShardedGraph`.

    Every method is collective: all ranks call it in the same order with the same arguments (global node
    ids), and all get the same answer — the one ``KernelCoverage`` gives on the gathered graph, ties
    included (``tie_break='lowest'`` and seeded ``'random'``, whose permutation every rank draws from the
    same seed). Unit edge weights only (ProbCover, NPC, Weighted NPC).

    Cost: building the local state O(n_local + E_local); memory per rank 2 · (local + reached nodes) node
    states plus the local edges once more; :meth:`copy` is O(local nodes).
    """

    def __init__(self, graph: ShardedGraph, comm: Comm) -> None:
        self.graph = graph
        self.comm = comm
        self.n = graph.n
        rows = np.arange(graph.start, graph.stop, dtype=np.int64)
        self.nodes = np.union1d(graph.indices.astype(np.int64), rows)  # local node id -> global id
        m = self.nodes.size
        self.lo = int(np.searchsorted(self.nodes, graph.start))
        counts = np.zeros(2 * m, dtype=np.int64)
        counts[self.lo:self.lo + graph.n_local] = np.diff(graph.indptr)
        counts[m:] = 1
        indptr = np.zeros(2 * m + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        indices = np.concatenate([np.searchsorted(self.nodes, graph.indices), np.arange(m)]).astype(np.int32)
        local = nas_ext.Graph(indptr, indices, np.zeros(indices.size, dtype=np.float32), symmetric=False)
        self.state = nas_ext.CoverageState(local)
        self.state.exclude(np.concatenate([np.arange(self.lo), np.arange(self.lo + graph.n_local, 2 * m)]))
        self.m = m
        self.pickable = np.ones(graph.n_local, dtype=bool)  # of the local rows
        self.integer = True  # no discount yet: gains are exact integers
        degrees = np.diff(graph.indptr)
        self.max_degree = int(comm.all_reduce_max(float(degrees.max()) if degrees.size else 0.0))
        # Balls up to FUSED_BALL entries ride in the offers' all_gather (one collective per pick);
        # larger ones are broadcast by the winner's rank after it.
        self.fused = self.max_degree <= FUSED_BALL
        self.tolerance = 0.0  # KernelCoverage's peek tolerance

    # ------------------------------------------------------------------ helpers
    def _proxies(self, balls: np.ndarray) -> np.ndarray:
        """Local proxy ids of the globally-numbered ball members this rank has, in the given order."""
        pos = np.searchsorted(self.nodes, balls)
        pos = np.minimum(pos, self.m - 1)
        here = self.nodes[pos] == balls
        return pos[here] + self.m

    def _balls(self, sources: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """The balls of ``sources`` (global ids) concatenated in the order of ``sources``, and their sizes."""
        g = self.graph
        owner = self.comm.ranks_of(sources, g.offsets)
        mine = sources[owner == self.comm.rank] - g.start
        sizes = g.indptr[mine + 1] - g.indptr[mine]
        parts = [g.indices[g.indptr[i]:g.indptr[i + 1]] for i in mine]
        flat = np.concatenate(parts).astype(np.int32) if parts else np.empty(0, dtype=np.int32)
        all_sizes = self.comm.all_gather_varying(sizes.astype(np.int64))
        all_flat = self.comm.all_gather_varying(flat)
        # Reassemble in source order: each rank's balls come in the order its sources appear.
        size_of = np.empty(sources.size, dtype=np.int64)
        start_of = np.empty(sources.size, dtype=np.int64)
        base = 0
        for r in range(self.comm.world):
            where = np.flatnonzero(owner == r)
            size_of[where] = all_sizes[r]
            start_of[where] = base + np.cumsum(all_sizes[r]) - all_sizes[r]
            base += int(all_sizes[r].sum())
        flat_all = np.concatenate(all_flat).astype(np.int64) if all_flat else np.empty(0, np.int64)
        if sources.size == 0:
            return np.empty(0, np.int64), size_of
        first = np.zeros(sources.size + 1, dtype=np.int64)
        np.cumsum(size_of, out=first[1:])
        which = np.repeat(np.arange(sources.size), size_of)
        take = start_of[which] + (np.arange(int(first[-1])) - first[which])
        return flat_all[take], size_of

    def _local_rows(self, nodes: np.ndarray) -> np.ndarray:
        g = self.graph
        return nodes[(nodes >= g.start) & (nodes < g.stop)] - g.start

    def _local_gains(self) -> np.ndarray:
        gains = np.asarray(self.state.gains())[self.lo:self.lo + self.graph.n_local].copy()
        gains[~self.pickable] = -np.inf
        return gains

    # ------------------------------------------------------------------ backend interface
    def cover(self, nodes) -> None:
        nodes = np.asarray(nodes, dtype=np.int64)
        balls, _ = self._balls(nodes)
        proxies = self._proxies(balls)
        if self.integer:  # integer gains: the order of the updates cannot matter
            proxies = np.unique(proxies)
        if proxies.size:
            self.state.cover(proxies)

    def exclude(self, nodes) -> None:
        local = self._local_rows(np.asarray(nodes, dtype=np.int64))
        if local.size:
            self.state.exclude(local + self.lo)
            self.pickable[local] = False

    def discount(self, nodes, factor: float, per_source: bool) -> None:
        """Multiply the multiplier of every node in the balls of ``nodes`` by ``factor`` (``per_source``:
        once per distinct source whose ball holds it). Meant for a fresh state, as NAS uses it: the levels
        and multipliers then equal one process's bit for bit; the gains equal them up to the order of the
        float64 updates (the tie tolerance absorbs that)."""
        sources = np.unique(np.asarray(nodes, dtype=np.int64))
        balls, _ = self._balls(sources)
        members, hits = np.unique(balls, return_counts=True)
        if not per_source:
            hits[:] = 1
        self.integer = False
        self.tolerance = TIE_TOLERANCE
        for k in np.unique(hits):
            f = 1.0
            for _ in range(int(k)):
                f *= factor
            proxies = self._proxies(members[hits == k])
            if proxies.size:
                self.state.discount(proxies, f, per_source=False)

    def _ball_slot(self, offer: np.ndarray, local_row: int) -> None:
        """Write the degree and (when fused) the ball of a local row into ``offer[3:]``."""
        g = self.graph
        ball = g.indices[g.indptr[local_row]:g.indptr[local_row + 1]]
        offer[3] = ball.size
        if self.fused:
            offer[4:4 + ball.size] = ball

    def _step(self, tie_break: str, keys: Optional[np.ndarray]) -> Tuple[int, float, np.ndarray]:
        """One global pick, not applied: the winner, its gain and its ball (the one-process rule)."""
        comm, g = self.comm, self.graph
        offer = np.zeros(4 + (self.max_degree if self.fused else 0))  # (tie key, node, gain, degree, ball...)
        offer[:3] = np.inf, -1.0, -np.inf
        if tie_break == "lowest" and self.integer:
            # Integer gains: the local peek (lowest index of the local maximum) is this rank's only candidate,
            # and the winner is the lowest index among the ranks offering the global maximum.
            if self.pickable.any():
                node, gain = self.state.peek()
                offer[:3] = float(self.nodes[node]), float(self.nodes[node]), gain
                self._ball_slot(offer, int(self.nodes[node]) - g.start)
            offers = comm.all_gather(offer)
            best = offers[:, 2].max()
            ok = np.flatnonzero(offers[:, 2] >= best - TIE_TOLERANCE * max(1.0, abs(best)))
            r = int(ok[np.argmin(offers[ok, 0])])
        else:
            gains = None
            if self.integer:  # the local maximum from the O(log n) peek; scan only if it can win
                top = self.state.peek()[1] if self.pickable.any() else -np.inf
            else:
                gains = self._local_gains()
                top = float(gains.max()) if gains.size else -np.inf
            best = comm.all_reduce_max(top)
            floor = best - TIE_TOLERANCE * max(1.0, abs(best))
            ok = np.empty(0, dtype=np.int64)
            if top >= floor:
                gains = self._local_gains() if gains is None else gains
                ok = np.flatnonzero(gains >= floor)
            if ok.size:
                i = 0 if keys is None else int(np.argmin(keys[g.start + ok]))
                node = g.start + int(ok[i])
                offer[:3] = float(node if keys is None else keys[node]), float(node), gains[ok[i]]
                self._ball_slot(offer, int(ok[i]))
            offers = comm.all_gather(offer)
            r = int(np.argmin(offers[:, 0]))
        node, gain, degree = int(offers[r, 1]), float(offers[r, 2]), int(offers[r, 3])
        if self.fused:
            return node, gain, offers[r, 4:4 + degree].astype(np.int64)
        ball = np.empty(degree, dtype=np.int32)
        if node >= g.start and node < g.stop:
            ball[:] = g.row(node)
        return node, gain, self.comm.broadcast(ball, src=r).astype(np.int64)

    def _apply(self, node: int, ball: np.ndarray) -> None:
        """Exclude ``node`` and cover its ball, as one process's pick does."""
        self.exclude(np.array([node]))
        proxies = self._proxies(ball)
        if proxies.size:
            self.state.cover(proxies)

    def pick(self, k: int, tie_break: str, rng: np.random.Generator):
        from nas.strategies._coverage import draw_seed

        seed = draw_seed(rng)  # drawn as KernelCoverage draws it, so the caller's generator stays in step
        keys = np.random.default_rng(seed).permutation(self.n).astype(np.int64) if tie_break == "random" else None
        picks = np.empty(k, dtype=np.int64)
        gains = np.empty(k, dtype=np.float64)
        for i in range(k):
            node, gains[i], ball = self._step(tie_break, keys)
            picks[i] = node
            self._apply(node, ball)
        return picks, gains

    def peek(self, tie_break: str, rng: np.random.Generator) -> Tuple[int, float]:
        """The pick ``pick(1)`` would make with lowest-index ties; with random ties a seeded uniform choice
        among the maxima, drawn from ``rng`` exactly as ``KernelCoverage.peek`` draws it."""
        if tie_break == "lowest":
            node, gain, _ = self._step("lowest", None)
            return node, gain
        gains = self._local_gains()
        best = self.comm.all_reduce_max(float(gains.max()) if gains.size else -np.inf)
        if self.tolerance and np.isfinite(best):
            maxima = np.flatnonzero(gains >= best - self.tolerance * max(1.0, abs(best)))
        else:
            maxima = np.flatnonzero(gains == best)
        counts = self.comm.all_gather(np.array([maxima.size], dtype=np.int64))[:, 0]
        total = int(counts.sum())
        i = 0 if total == 1 else int(rng.integers(0, total))  # Generator.choice(a) draws integers(0, len(a))
        owner = int(np.searchsorted(np.cumsum(counts), i, side="right"))
        found = np.zeros(2, dtype=np.float64)
        if owner == self.comm.rank:
            j = maxima[i - int(counts[:owner].sum())]
            found[:] = self.graph.start + j, gains[j]
        found = self.comm.broadcast(found, src=owner)
        return int(found[0]), float(found[1])

    def copy(self) -> "DistributedCoverage":
        clone = copy.copy(self)
        clone.state = self.state.copy()
        clone.pickable = self.pickable.copy()
        return clone
