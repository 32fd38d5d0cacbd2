"""Coreset (Sener & Savarese 2018): k-center greedy, and through ``clean``/``noisy`` the selection step of
Coreset + NAS. Only clean labeled samples are centres; noisy ones are never picked and centre nothing."""
from __future__ import annotations

from typing import Dict

import numpy as np

import nas_ext
from nas_ext._validation import check_choice

from .base import Strategy

__all__ = ["Coreset"]


class Coreset(Strategy):
    """Repeatedly pick the sample farthest from its nearest centre (k-center greedy).

    Centres are the ``clean`` labeled samples and the picks so far. With no clean labeled sample there
    is nothing to measure distances from, so the picks are uniformly random (as the reference's
    Coreset; its Coreset + NAS crashed instead). ``noisy`` samples are removed from the pool for the
    call (one O(n·d) copy of the remaining rows).

    Parameters
    ----------
    metric : 'euclidean' (the reference) or 'cosine'.
    device : 'cpu' or 'cuda', passed to ``nas_ext.kcenter_greedy``.

    Complexity: O((|clean| + budget)·n·d) time, O(n) extra memory (see ``nas_ext.kcenter_greedy``).

    >>> import numpy as np
    >>> from nas.strategies import Coreset
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0]], dtype=np.float32)
    >>> Coreset().select(X, 1, clean=[0]).tolist()
    [3]
    """

    supports_noise = True

    def __init__(self, *, metric: str = "euclidean", device: str = "cpu") -> None:
        super().__init__()
        self.metric = check_choice(metric, "Coreset", "metric", ("euclidean", "cosine"))
        self.device = device

    def _params(self):
        return {"metric": self.metric}

    def _select(self, X, budget, clean, noisy, rng, timings: Dict[str, float]) -> np.ndarray:
        if clean.size == 0:
            return rng.choice(self._unlabeled(X.shape[0], clean, noisy), size=budget, replace=False)
        if noisy.size == 0:
            return np.asarray(nas_ext.kcenter_greedy(X, budget, centers=clean, metric=self.metric,
                                                     device=self.device), dtype=np.int64)
        keep = np.ones(X.shape[0], dtype=bool)
        keep[noisy] = False
        rows = np.flatnonzero(keep)
        local = np.searchsorted(rows, clean)
        picks = nas_ext.kcenter_greedy(X[rows], budget, centers=local, metric=self.metric, device=self.device)
        return rows[np.asarray(picks, dtype=np.int64)]
