"""Greedy coverage state kept in step with a labeled partition across select calls.

ProbCover, NPC, Weighted NPC and MaxHerding all maximise a coverage objective greedily: the state
knows which nodes are covered (by labeled clean samples and by earlier picks), which labeled samples
are blocked (predicted noisy: cover nothing, never picked), and answers "best next pick".

NAS calls a strategy once per share with a partition that usually *extends* the previous one (the new
picks are now labeled; with an ideal filter nothing else changes). ``CoverageSession`` then applies
only the difference to the existing state; any other partition (a sample flipped between clean and
noisy, a new noise-rate weight) starts a fresh state, which costs O(E) and copies no graph.

The last pick of every call is chosen without applying its coverage ("deferred"): its label is not
known yet, and if it comes back noisy it must cover nothing. Deferring keeps the state reusable in
that case, so an ideal-filter NPC round (one pick per share) costs O(E) in total instead of
O(E) per pick. The picks are exactly those of the plain greedy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Protocol, Tuple

import numpy as np

__all__ = ["Discount", "CoverageBackend", "KernelCoverage", "CoverageSession", "draw_seed", "argmax_tie"]

TIE_BREAKS = ("lowest", "random")


@dataclass(frozen=True)
class Discount:
    """Weighted NPC: nodes in the balls of noisy samples count ``factor`` (= 1 - q̂); ``per_source`` applies
    it once per covering noisy sample (the "factor" variant) instead of once per node."""

    factor: float
    per_source: bool = False


class CoverageBackend(Protocol):
    """What a session needs from a coverage state (nas_ext.CoverageState or the dense MaxHerding one)."""

    def cover(self, nodes: np.ndarray) -> None: ...

    def block(self, nodes: np.ndarray) -> None: ...

    def exclude(self, nodes: np.ndarray) -> None: ...

    def discount(self, nodes: np.ndarray, factor: float, per_source: bool) -> None: ...

    def pick(self, k: int, tie_break: str, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]: ...

    def peek(self, available: np.ndarray, tie_break: str, rng: np.random.Generator) -> Tuple[int, float]: ...


def draw_seed(rng: np.random.Generator) -> int:
    """A seed for a compiled kernel, drawn from the caller's generator."""
    return int(rng.integers(0, 2**31 - 1))


def argmax_tie(values: np.ndarray, tie_break: str, rng: np.random.Generator) -> int:
    """Index of the maximum; ties go to the lowest index or to a seeded uniform choice among exact maxima."""
    best = int(np.argmax(values))
    if tie_break == "lowest":
        return best
    maxima = np.flatnonzero(values == values[best])
    return int(maxima[0] if maxima.size == 1 else rng.choice(maxima))


class KernelCoverage:
    """``nas_ext.CoverageState`` behind the backend interface."""

    def __init__(self, graph, weights: Optional[np.ndarray] = None, device: str = "cpu") -> None:
        import nas_ext

        self.state = nas_ext.CoverageState(graph, weights=weights, device=device)

    def cover(self, nodes):
        self.state.cover(nodes)

    def block(self, nodes):
        self.state.block(nodes)

    def exclude(self, nodes):
        self.state.exclude(nodes)

    def discount(self, nodes, factor, per_source):
        self.state.discount(nodes, factor, per_source=per_source)

    def pick(self, k, tie_break, rng):
        picks, gains = self.state.pick(k, tie_break=tie_break, seed=draw_seed(rng))
        return np.asarray(picks, dtype=np.int64), np.asarray(gains, dtype=np.float64)

    def peek(self, available, tie_break, rng):
        gains = np.where(available, self.state.gains(), -np.inf)
        best = argmax_tie(gains, tie_break, rng)
        return best, float(gains[best])


class CoverageSession:
    """One coverage backend kept in step with successive (clean, noisy, discount) partitions of a pool.

    ``make_backend()`` returns a fresh backend with nothing covered. ``sync`` brings the backend to a
    partition (incrementally when possible), ``pick`` makes greedy picks; ``reuses``/``rebuilds``
    count how each ``sync`` was served.
    """

    def __init__(self, n: int, make_backend: Callable[[], CoverageBackend]) -> None:
        self.n = n
        self._make_backend = make_backend
        self.backend: Optional[CoverageBackend] = None
        self._covered = np.zeros(n, dtype=bool)   # nodes whose coverage has been applied
        self._blocked = np.zeros(n, dtype=bool)   # nodes blocked (noisy)
        self._excluded = np.zeros(n, dtype=bool)  # nodes that can no longer be picked
        self._discount: Optional[Discount] = None
        self.reuses = 0
        self.rebuilds = 0

    def sync(self, clean: np.ndarray, noisy: np.ndarray, discount: Optional[Discount] = None) -> bool:
        """Make the backend represent ``clean`` covering, ``noisy`` blocked; returns True when reused."""
        clean_mask = np.zeros(self.n, dtype=bool)
        clean_mask[clean] = True
        noisy_mask = np.zeros(self.n, dtype=bool)
        noisy_mask[noisy] = True
        labeled = clean_mask | noisy_mask
        reusable = (
            self.backend is not None
            and discount == self._discount
            and (discount is None or np.array_equal(noisy_mask, self._blocked))
            and not (self._covered & ~clean_mask).any()
            and not (self._blocked & ~noisy_mask).any()
            and not (self._excluded & ~labeled).any()
        )
        if reusable:
            self.reuses += 1
            new_clean = np.flatnonzero(clean_mask & ~self._covered)
            new_noisy = np.flatnonzero(noisy_mask & ~self._blocked)
            new_excluded = np.flatnonzero(clean_mask & ~self._excluded)
        else:
            self.rebuilds += 1
            self.backend = self._make_backend()
            self._covered[:] = False
            self._blocked[:] = False
            self._excluded[:] = False
            self._discount = discount
            new_clean, new_noisy = np.flatnonzero(clean_mask), np.flatnonzero(noisy_mask)
            new_excluded = new_clean
        if new_clean.size:
            self.backend.cover(new_clean)
        if new_excluded.size:
            self.backend.exclude(new_excluded)
        if new_noisy.size:
            self.backend.block(new_noisy)
        if not reusable and discount is not None and new_noisy.size:
            self.backend.discount(new_noisy, discount.factor, discount.per_source)
        self._covered |= clean_mask
        self._blocked |= noisy_mask
        self._excluded |= labeled
        return reusable

    def pick(self, k: int, tie_break: str, rng: np.random.Generator, *,
             defer_last: bool = True) -> Tuple[np.ndarray, np.ndarray]:
        """``k`` greedy picks and the gain of each at the time it was picked.

        Each pick but the last covers its ball immediately; the last one's coverage is deferred to the
        next ``sync`` (``defer_last=False`` applies it now).
        """
        picks = np.empty(k, dtype=np.int64)
        gains = np.empty(k, dtype=np.float64)
        head = k - 1 if defer_last else k
        if head > 0:
            picks[:head], gains[:head] = self.backend.pick(head, tie_break, rng)
            self._covered[picks[:head]] = True
            self._excluded[picks[:head]] = True
        if defer_last:
            last, gain = self.backend.peek(~(self._excluded | self._blocked), tie_break, rng)
            self.backend.exclude(np.array([last], dtype=np.int64))
            self._excluded[last] = True
            picks[-1], gains[-1] = last, gain
        return picks, gains
