"""Greedy coverage state kept in step with a labeled partition across select calls.

ProbCover, NPC, Weighted NPC and MaxHerding all maximise a coverage objective greedily: the state
knows which nodes are covered (by labeled clean samples and by earlier picks), which nodes can no
longer be picked (every labeled sample; a predicted-noisy one is excluded without covering anything —
for selection that is all "blocking" it means), and answers "best next pick".

NAS calls a strategy once per share with a partition that usually *extends* the previous one (the new
picks are now labeled; with an ideal filter nothing else changes). ``CoverageSession`` then applies
only the difference to the existing state — new clean samples cover, new noisy ones are excluded,
a noisy sample now predicted clean covers. Only a covered sample now predicted noisy (coverage cannot
be taken back) or a new Weighted-NPC weight starts a fresh state, which costs O(E) and copies no graph.

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
    """What a session needs from a coverage state (nas_ext.CoverageState or the dense MaxHerding one).

    ``peek`` returns the best node that can still be picked and its gain, changing nothing."""

    def cover(self, nodes: np.ndarray) -> None: ...

    def exclude(self, nodes: np.ndarray) -> None: ...

    def discount(self, nodes: np.ndarray, factor: float, per_source: bool) -> None: ...

    def pick(self, k: int, tie_break: str, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]: ...

    def peek(self, tie_break: str, rng: np.random.Generator) -> Tuple[int, float]: ...


def draw_seed(rng: np.random.Generator) -> int:
    """A seed for a compiled kernel, drawn from the caller's generator."""
    return int(rng.integers(0, 2**31 - 1))


def argmax_tie(values: np.ndarray, tie_break: str, rng: np.random.Generator, tolerance: float = 0.0) -> int:
    """Index of the maximum. Values within ``tolerance * max(1, |max|)`` of it are ties, which go to the
    lowest index or to a seeded uniform choice."""
    best = int(np.argmax(values))
    top = values[best]
    if tolerance and np.isfinite(top):
        maxima = np.flatnonzero(values >= top - tolerance * max(1.0, abs(top)))
    elif tie_break == "lowest":
        return best
    else:
        maxima = np.flatnonzero(values == top)
    if tie_break == "lowest" or maxima.size == 1:
        return int(maxima[0])
    return int(rng.choice(maxima))


class KernelCoverage:
    """``nas_ext.CoverageState`` behind the backend interface. ``peek`` follows the kernel's tie rule:
    exact comparisons while the gains are integers (unit weights, no discount), the kernel's relative
    tie tolerance otherwise."""

    def __init__(self, graph, weights: Optional[np.ndarray] = None, device: str = "cpu") -> None:
        import nas_ext

        self.state = nas_ext.CoverageState(graph, weights=weights, device=device)
        self.tolerance = 0.0 if weights is None else self._kernel_tolerance()
        self._excluded = [np.empty(0, dtype=np.int64)]  # excluded and picked nodes, in batches

    @staticmethod
    def _kernel_tolerance() -> float:
        from nas_ext.coverage import TIE_TOLERANCE

        return TIE_TOLERANCE

    def cover(self, nodes):
        self.state.cover(nodes)

    def exclude(self, nodes):
        self.state.exclude(nodes)
        self._excluded.append(np.asarray(nodes, dtype=np.int64))

    def discount(self, nodes, factor, per_source):
        self.state.discount(nodes, factor, per_source=per_source)
        self.tolerance = self._kernel_tolerance()

    def pick(self, k, tie_break, rng):
        picks, gains = self.state.pick(k, tie_break=tie_break, seed=draw_seed(rng))
        picks = np.asarray(picks, dtype=np.int64)
        self._excluded.append(picks)
        return picks, np.asarray(gains, dtype=np.float64)

    def peek(self, tie_break, rng):
        """O(n) for the argmax plus O(#excluded) to mask them (an index list, not an n-sized mask)."""
        if len(self._excluded) > 1:
            self._excluded = [np.concatenate(self._excluded)]
        gains = self.state.gains()
        gains[self._excluded[0]] = -np.inf
        best = argmax_tie(gains, tie_break, rng, self.tolerance)
        return best, float(gains[best])


class CoverageSession:
    """One coverage backend kept in step with successive (clean, noisy, discount) partitions of a pool.

    ``make_backend()`` returns a fresh backend with nothing covered. ``sync`` brings the backend to a
    partition — in O(|clean| + |noisy| + changes) when the partition extends the previous one, else
    with a fresh backend — and ``pick`` makes greedy picks; ``reuses``/``rebuilds`` count how each
    ``sync`` was served.
    """

    def __init__(self, n: int, make_backend: Callable[[], CoverageBackend]) -> None:
        self.n = n
        self._make_backend = make_backend
        self.backend: Optional[CoverageBackend] = None
        self._covered = np.zeros(n, dtype=bool)   # nodes whose coverage has been applied
        self._excluded = np.zeros(n, dtype=bool)  # nodes that can no longer be picked
        self._counts = [0, 0]                     # how many nodes are covered, excluded
        self._discount: Optional[Discount] = None
        self._noisy = np.empty(0, dtype=np.int64)  # the noisy set the discount was applied to
        self.reuses = 0
        self.rebuilds = 0

    def _extends(self, clean: np.ndarray, noisy: np.ndarray, discount: Optional[Discount]) -> bool:
        """Whether the state can be reused: same discount (and then the same noisy set, whose balls it
        weighs), every covered node still clean, every excluded node still labeled. Index arrays are
        duplicate-free, so counts decide inclusion: O(|clean| + |noisy|)."""
        covered, excluded = self._counts
        if self.backend is None or discount != self._discount:
            return False
        if discount is not None and not (noisy.size == self._noisy.size and np.isin(noisy, self._noisy).all()):
            return False
        return (int(self._covered[clean].sum()) == covered
                and int(self._excluded[clean].sum()) + int(self._excluded[noisy].sum()) == excluded)

    def sync(self, clean: np.ndarray, noisy: np.ndarray, discount: Optional[Discount] = None) -> bool:
        """Make the backend represent ``clean`` covering and every labeled sample unpickable; returns True
        when the state was reused."""
        clean = np.asarray(clean, dtype=np.int64)
        noisy = np.asarray(noisy, dtype=np.int64)
        reusable = self._extends(clean, noisy, discount)
        if not reusable:
            self.rebuilds += 1
            self.backend = self._make_backend()
            self._covered[:] = False
            self._excluded[:] = False
            self._counts = [0, 0]
            self._discount = discount
            self._noisy = noisy
            if discount is not None and noisy.size:
                self.backend.discount(noisy, discount.factor, discount.per_source)
        else:
            self.reuses += 1
        new_clean = clean[~self._covered[clean]]
        if new_clean.size:
            self.backend.cover(new_clean)
            self._mark(new_clean, covered=True)
        for labeled in (clean, noisy):
            new = labeled[~self._excluded[labeled]]
            if new.size:
                self.backend.exclude(new)
                self._mark(new, excluded=True)
        return reusable

    def _mark(self, nodes: np.ndarray, *, covered: bool = False, excluded: bool = False) -> None:
        """Record nodes as covered and/or excluded (each node counted once per kind)."""
        for flag, mask, slot in ((covered, self._covered, 0), (excluded, self._excluded, 1)):
            if flag and nodes.size:
                fresh = nodes[~mask[nodes]]
                mask[fresh] = True
                self._counts[slot] += int(fresh.size)

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
            self._mark(picks[:head], covered=True, excluded=True)
        if defer_last:
            last, gain = self.backend.peek(tie_break, rng)
            self.backend.exclude(np.array([last], dtype=np.int64))
            self._mark(np.array([last], dtype=np.int64), excluded=True)
            picks[-1], gains[-1] = last, gain
        return picks, gains
