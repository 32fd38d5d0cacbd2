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

A fresh state is a copy of a pristine one built once per session (for the compiled kernel an O(N)
copy that shares the graph), so starting over never rebuilds the graph's transpose.
"""
from __future__ import annotations

import copy
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

    ``peek`` returns the best node that can still be picked and its gain, changing nothing; ``copy``
    returns an independent backend in the same condition."""

    def cover(self, nodes: np.ndarray) -> None: ...

    def exclude(self, nodes: np.ndarray) -> None: ...

    def discount(self, nodes: np.ndarray, factor: float, per_source: bool) -> None: ...

    def pick(self, k: int, tie_break: str, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]: ...

    def peek(self, tie_break: str, rng: np.random.Generator) -> Tuple[int, float]: ...

    def copy(self) -> "CoverageBackend": ...


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
    tie tolerance otherwise; with lowest-index ties it is the kernel's own O(log n) ``peek``."""

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
        self._excluded.append(np.array(nodes, dtype=np.int64))

    def discount(self, nodes, factor, per_source):
        self.state.discount(nodes, factor, per_source=per_source)
        self.tolerance = self._kernel_tolerance()

    def pick(self, k, tie_break, rng):
        picks, gains = self.state.pick(k, tie_break=tie_break, seed=draw_seed(rng))
        picks = np.asarray(picks, dtype=np.int64)
        self._excluded.append(picks)
        return picks, np.asarray(gains, dtype=np.float64)

    def copy(self):
        clone = copy.copy(self)
        clone.state = self.state.copy()
        clone._excluded = list(self._excluded)
        return clone

    def peek(self, tie_break, rng):
        """Lowest-index ties: the kernel's peek. Random ties: O(n) for the argmax plus O(#excluded) to
        mask them (an index list, not an n-sized mask), then a seeded choice among the maxima."""
        if tie_break == "lowest":
            return self.state.peek()
        if len(self._excluded) > 1:
            self._excluded = [np.concatenate(self._excluded)]
        gains = self.state.gains()
        gains[self._excluded[0]] = -np.inf
        best = argmax_tie(gains, tie_break, rng, self.tolerance)
        return best, float(gains[best])


class CoverageSession:
    """One coverage backend kept in step with successive (clean, noisy, discount) partitions of a pool.

    ``make_backend()`` returns a fresh backend with nothing covered; it is called once and copied
    whenever the session starts over. ``sync`` brings the backend to a partition — in
    O(|clean| + |noisy| + changes) when the partition extends the previous one, else from a fresh
    copy — and ``pick`` makes greedy picks; ``reuses``/``rebuilds`` count how each ``sync`` was served.
    """

    def __init__(self, n: int, make_backend: Callable[[], CoverageBackend]) -> None:
        self.n = n
        self._make_backend = make_backend
        self._pristine: Optional[CoverageBackend] = None  # nothing covered or excluded; copied to start over
        self.backend: Optional[CoverageBackend] = None
        self._covered = np.zeros(n, dtype=bool)   # nodes whose coverage has been applied
        self._excluded = np.zeros(n, dtype=bool)  # nodes that can no longer be picked
        self._counts = [0, 0]                     # how many nodes are covered, excluded
        self._discount: Optional[Discount] = None
        self._noisy = np.empty(0, dtype=np.int64)  # the noisy set the discount was applied to
        self.reuses = 0
        self.rebuilds = 0

    def _extends(self, clean_covered: np.ndarray, labeled_excluded: int, noisy: np.ndarray,
                 discount: Optional[Discount]) -> bool:
        """Whether the state can be reused: same discount (and then the same noisy set, whose balls it
        weighs), every covered node still clean, every excluded node still labeled. Index arrays are
        duplicate-free, so counts decide inclusion: O(|clean| + |noisy|)."""
        covered, excluded = self._counts
        if self.backend is None or discount != self._discount:
            return False
        if discount is not None and not (noisy.size == self._noisy.size and np.isin(noisy, self._noisy).all()):
            return False
        return np.count_nonzero(clean_covered) == covered and labeled_excluded == excluded

    def sync(self, clean: np.ndarray, noisy: np.ndarray, discount: Optional[Discount] = None) -> bool:
        """Make the backend represent ``clean`` covering and every labeled sample unpickable; returns True
        when the state was reused. ``clean`` and ``noisy`` are disjoint, duplicate-free index arrays."""
        clean = np.asarray(clean, dtype=np.int64)
        noisy = np.asarray(noisy, dtype=np.int64)
        clean_covered = self._covered[clean]
        clean_excluded = self._excluded[clean]
        noisy_excluded = self._excluded[noisy]
        labeled_excluded = np.count_nonzero(clean_excluded) + np.count_nonzero(noisy_excluded)
        reusable = self._extends(clean_covered, labeled_excluded, noisy, discount)
        if reusable:
            self.reuses += 1
            new_clean = clean[~clean_covered]
            new_labeled = np.concatenate([clean[~clean_excluded], noisy[~noisy_excluded]])
        else:
            self._start_over(noisy, discount)
            new_clean = clean
            new_labeled = np.concatenate([clean, noisy])
        if new_clean.size:
            self.backend.cover(new_clean)
            self._record(new_clean, covered=True)
        if new_labeled.size:
            self.backend.exclude(new_labeled)
            self._record(new_labeled, excluded=True)
        return reusable

    def _start_over(self, noisy: np.ndarray, discount: Optional[Discount]) -> None:
        """A fresh copy of the pristine backend, with the discount of ``noisy`` applied."""
        self.rebuilds += 1
        if self._pristine is None:
            self._pristine = self._make_backend()
        self.backend = self._pristine.copy()
        self._covered[:] = False
        self._excluded[:] = False
        self._counts = [0, 0]
        self._discount = discount
        self._noisy = noisy
        if discount is not None and noisy.size:
            self.backend.discount(noisy, discount.factor, discount.per_source)

    def _record(self, nodes: np.ndarray, *, covered: bool = False, excluded: bool = False) -> None:
        """Mark nodes as covered and/or excluded; none of them may be marked so already."""
        if covered:
            self._covered[nodes] = True
            self._counts[0] += nodes.size
        if excluded:
            self._excluded[nodes] = True
            self._counts[1] += nodes.size

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
            self._record(picks[:head], covered=True, excluded=True)
        if defer_last:
            picks[-1], gains[-1] = self.backend.peek(tie_break, rng)
            self.backend.exclude(picks[-1:])
            self._record(picks[-1:], excluded=True)
        return picks, gains
