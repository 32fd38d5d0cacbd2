"""Weighted coverage greedy in plain numpy, every gain recomputed from scratch at each pick."""
from __future__ import annotations

import numpy as np

TIE_TOLERANCE = 1e-9


class CoverageOracle:
    """Same semantics as nas_ext.CoverageState (see its docstring), no incremental bookkeeping."""

    def __init__(self, indptr, indices, weights=None):
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.n = self.indptr.shape[0] - 1
        self.rows = np.repeat(np.arange(self.n), np.diff(self.indptr))
        self.weights = (np.ones(self.indices.shape[0]) if weights is None
                        else np.asarray(weights, dtype=np.float64))
        self.level = np.zeros(self.n)
        self.mult = np.ones(self.n)
        self.blocked = np.zeros(self.n, dtype=bool)
        self.pickable = np.ones(self.n, dtype=bool)

    def _ball(self, s):
        edges = slice(self.indptr[s], self.indptr[s + 1])
        return self.indices[edges], self.weights[edges]

    def gains(self):
        terms = self.mult[self.indices] * np.maximum(0.0, self.weights - self.level[self.indices])
        terms[self.blocked[self.rows]] = 0.0
        return np.bincount(self.rows, weights=terms, minlength=self.n).astype(np.float64)

    def cover(self, sources):
        for s in np.asarray(sources, dtype=np.int64):
            ys, ws = self._ball(s)
            for y, w in zip(ys, ws):
                self.level[y] = max(self.level[y], w)

    def discount(self, sources, factor, per_source=False):
        sources = np.unique(np.asarray(sources, dtype=np.int64))
        if per_source:
            for s in sources:
                for y in np.unique(self._ball(s)[0]):
                    self.mult[y] *= factor
        else:
            touched = np.unique(np.concatenate([self._ball(s)[0] for s in sources])) if sources.size else []
            for y in touched:
                self.mult[y] *= factor

    def block(self, nodes):
        nodes = np.asarray(nodes, dtype=np.int64)
        self.blocked[nodes] = True
        self.pickable[nodes] = False

    def exclude(self, nodes):
        self.pickable[np.asarray(nodes, dtype=np.int64)] = False

    def pick(self, k, keys=None):
        """k greedy picks; among gains within the tie tolerance of the best, the lowest key (default: index)."""
        keys = np.arange(self.n) if keys is None else np.asarray(keys)
        if k > self.pickable.sum():
            raise ValueError("not enough candidates")
        picks, gains = [], []
        for _ in range(k):
            g = self.gains()
            best = g[self.pickable].max()
            tied = self.pickable & (g >= best - TIE_TOLERANCE * max(1.0, abs(best)))
            candidates = np.flatnonzero(tied)
            x = int(candidates[np.argmin(keys[candidates])])
            picks.append(x)
            gains.append(g[x])
            self.pickable[x] = False
            self.cover([x])
        return np.array(picks, dtype=np.int64), np.array(gains, dtype=np.float64)
