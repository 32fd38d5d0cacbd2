"""Class transition matrices for the DALC baseline (seed 003, Eq. 10): T[i, j] = P(observed j | true i).

Two estimates, following the paper's footnote 3 (T from the whole noisy set D in the first round, from the
re-labelled set S^t afterwards):

- :func:`anchor_transition` — Patrini et al.'s (2017) anchor points: the class-i anchor is the sample that a
  model trained on the noisy labels finds most typical of class i, and row i of T is that model's predicted
  distribution there (a sample of true class i with certainty has p(observed | x) = T[i, :]);
- :func:`count_transition` — the re-labelled samples' (true, observed) label pairs, counted and
  row-normalised, with pseudo-counts distributed as a prior matrix so sparse rows fall back to the prior.
"""
from __future__ import annotations

import numpy as np

from nas_ext._validation import check_features, check_float, param_error

from ..training._sgd import check_labels
from ..training.linear import check_transition

__all__ = ["anchor_transition", "count_transition", "realised_transition", "transition_error"]


def anchor_transition(probabilities, *, percentile: float = 97.0) -> np.ndarray:
    """T (C, C) from a noisy-label model's predicted distributions ``probabilities`` (n, C), rows summing to 1.

    For each class i the anchor is the sample of highest p(i|x) (``percentile=100``) or, by default, Patrini
    et al.'s outlier-robust choice for many classes: the highest p(i|x) strictly below its 97th percentile
    (numpy's 'higher' method, as their code does; the maximum when no value lies below it). Row i of T is the
    anchor's distribution, so every row is a distribution. O(n·C).

    >>> P = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.3, 0.7]])
    >>> anchor_transition(P, percentile=100).tolist()
    [[0.9, 0.1], [0.2, 0.8]]
    """
    owner = "anchor_transition"
    P = check_features(probabilities, owner, "probabilities", dtype=np.float64)
    if P.min() < 0 or np.abs(P.sum(axis=1) - 1.0).max() > 1e-4:
        raise param_error(owner, "probabilities", "rows of class probabilities (non-negative, summing to 1)",
                          "a row that is not a distribution", describe=False)
    if P.shape[1] < 2:
        raise param_error(owner, "probabilities", "an (n, C) array with C >= 2 classes", P)
    percentile = check_float(percentile, owner, "percentile", low=0.0, high=100.0, low_open=True)
    T = np.empty((P.shape[1], P.shape[1]))
    for i in range(P.shape[1]):
        column = P[:, i]
        if percentile < 100.0:
            below = np.where(column < np.percentile(column, percentile, method="higher"), column, -np.inf)
            column = below if np.isfinite(below).any() else column
        T[i] = P[int(np.argmax(column))]
    return T / T.sum(axis=1, keepdims=True)


def count_transition(observed, true, n_classes: int, *, prior, smoothing: float = 1.0) -> np.ndarray:
    """T (C, C) from (true, observed) label pairs of the re-labelled samples, smoothed towards ``prior``.

    Row i is (N_i + s·C·prior_i) / (n_i + s·C): N_i counts the samples of true class i by observed label,
    n_i = sum N_i, s = ``smoothing`` >= 0. With s = 1 that is add-one smoothing (one pseudo-count per class and
    row) with the pseudo-counts shared out as the prior's row instead of uniformly — uniform pseudo-counts would
    pull a sparse row towards "every label equally likely", which destroys forward correction, whereas the
    prior (DALC: the round-0 anchor estimate) is the best guess before any answers. A row without samples is
    the prior's row; s = 0 is the plain row-normalised count there is one.

    >>> count_transition([0, 1, 1, 1], [0, 0, 1, 1], 2, prior=np.eye(2), smoothing=0.0).tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    """
    owner = "count_transition"
    true, n_classes = check_labels(true, np.asarray(true).shape[0], n_classes, owner)
    observed, _ = check_labels(observed, true.shape[0], n_classes, owner)
    prior = check_transition(prior, n_classes, owner, "prior")
    smoothing = check_float(smoothing, owner, "smoothing", low=0.0)
    counts = np.zeros((n_classes, n_classes))
    np.add.at(counts, (true, observed), 1.0)
    pseudo = smoothing * n_classes * prior
    totals = counts.sum(axis=1, keepdims=True) + pseudo.sum(axis=1, keepdims=True)
    T = np.where(totals > 0, (counts + pseudo) / np.where(totals > 0, totals, 1.0), prior)
    return T / T.sum(axis=1, keepdims=True)


def realised_transition(observed, true, n_classes: int) -> np.ndarray:
    """The noise actually drawn: T[i, j] = share of true-class-i samples observed as j (identity rows for
    absent classes). For measuring an estimate in simulations."""
    return count_transition(observed, true, n_classes, prior=np.eye(n_classes), smoothing=0.0)


def transition_error(estimate, reference) -> float:
    """Mean total-variation distance between the rows of two (C, C) transition matrices, in [0, 1]."""
    return float(0.5 * np.abs(np.asarray(estimate) - np.asarray(reference)).sum(axis=1).mean())
