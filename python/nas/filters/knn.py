"""KNN: noisy when the majority label among a sample's k nearest labeled neighbours differs from its own
(seed 000 appendix G; close to TopoFilter). k = |L|/C."""
from __future__ import annotations

import logging

import numpy as np
from sklearn.neighbors import NearestNeighbors

from nas_ext._validation import check_choice

from .base import NoiseFilter

__all__ = ["KNN"]

logger = logging.getLogger(__name__)


def _label_counts(neighbour_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, n_classes) counts of each label among every row's neighbours."""
    n, k = neighbour_labels.shape
    counts = np.zeros((n, n_classes), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(n), k), neighbour_labels.ravel()), 1)
    return counts


def _first_majority(neighbour_labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Most frequent neighbour label per row; ties go to the label met first in distance order."""
    row_max = counts.max(axis=1, keepdims=True)
    is_top = np.take_along_axis(counts, neighbour_labels, axis=1) == row_max
    return neighbour_labels[np.arange(len(neighbour_labels)), is_top.argmax(axis=1)]


class KNN(NoiseFilter):
    """k-nearest-neighbour vote on the labeled set (Euclidean), k = floor(|L| / C).

    Parameters
    ----------
    mode : {"paper", "reference"}, default "paper"
        "paper": k = max(1, floor(|L|/C)), capped at |L| − 1; the sample does not vote on itself
        (its *neighbours* decide) and a tie between its own label and another counts as agreement.
        "reference": the research code — the sample is its own first neighbour, the majority breaks
        ties by first occurrence in distance order, and k < 3 disables the filter (all clean).
    noise_rate : float in [0, 1] or None
        Known-noise-rate prior: mark the round(q·|L|) lowest-scoring samples noisy.
    random_state : unused (the filter is deterministic); accepted for a uniform interface.

    C is ``n_classes`` when given to ``fit_predict`` (the dataset's class count, as in the paper),
    else max(y) + 1. ``scores_`` is the fraction of the k neighbours carrying the sample's label;
    ``k_`` is the k used.

    Cost: Θ(|L|²·d) brute-force distances (scikit-learn), memory Θ(|L|·k).

    Example
    -------
    >>> import numpy as np
    >>> from nas.filters import KNN
    >>> X = np.r_[0:0.5:0.1, 5:5.5:0.1][:, None]; y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    >>> KNN().fit_predict(X, y).tolist()  # k = 10 // 2 = 5; the sample at 0.4 sits among the 0s
    [True, True, True, True, False, True, True, True, True, True]
    """

    def __init__(self, *, mode: str = "paper", noise_rate=None, random_state=None):
        self.mode = mode
        self.noise_rate = noise_rate
        self.random_state = random_state

    def _check_params(self) -> None:
        check_choice(self.mode, type(self).__name__, "mode", ("paper", "reference"))

    def _score(self, X, y, *, pool, n_classes, indices, rng):
        n = X.shape[0]
        k = n // n_classes
        reference = self.mode == "reference"
        if reference and k < 3:
            self.k_ = k
            return np.ones(n), np.ones(n, dtype=bool)
        if not reference:
            k = min(max(k, 1), n - 1)
            if k == 0:
                self.k_ = 0
                return np.ones(n), np.ones(n, dtype=bool)
        self.k_ = k
        search = NearestNeighbors(n_neighbors=k).fit(X)
        neighbours = search.kneighbors(X if reference else None, return_distance=False)
        neighbour_labels = y[neighbours]
        counts = _label_counts(neighbour_labels, n_classes)
        own = counts[np.arange(n), y]
        if reference:
            is_clean = _first_majority(neighbour_labels, counts) == y
        else:
            is_clean = own == counts.max(axis=1)
        logger.debug("KNN: k=%d", k)
        return own / k, is_clean
