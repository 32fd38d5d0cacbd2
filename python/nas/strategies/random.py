"""Random sampling: the baseline every strategy is compared against."""
from __future__ import annotations

from typing import Dict

import numpy as np

from .base import Strategy

__all__ = ["Random"]


class Random(Strategy):
    """Uniformly random picks among the unlabeled samples (seeded by ``random_state``).

    Cannot be wrapped by NAS: it has no notion of coverage, so ``clean`` and ``noisy`` are both just
    "labeled" here.

    >>> import numpy as np
    >>> from nas.strategies import Random
    >>> Random().select(np.zeros((10, 2)), 3, clean=[0, 1], random_state=0).shape
    (3,)
    """

    supports_noise = False

    def _select(self, X, budget, clean, noisy, rng, timings: Dict[str, float]) -> np.ndarray:
        candidates = self._unlabeled(X.shape[0], clean, noisy)
        return rng.choice(candidates, size=budget, replace=False)
