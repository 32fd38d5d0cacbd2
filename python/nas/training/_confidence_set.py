"""The two per-epoch set operations of MTaDCS (seed 002), on plain arrays: confidence-set selection and
self-ensemble label correction. Kept apart from the training loop so they can be tested on hand-made data.

Selection (Eqs. 2-3, spec §1.1 step 2b-2d): a sample outside the confidence set G joins it when (1) the model's
prediction agrees with its label and (2) its local outlier factor (our ``local_outlier_factor``, scikit-learn's
neighbour search inside) among the agreeing samples of its class is low. A member of G whose prediction disagrees
with its label leaves G (sample removal).

Label correction (Eq. 7 with the spec's resolution §1.5(4)): the printed equation blends the soft label with the
one-hot of the label itself and can never flip it; we blend with the one-hot of the model's prediction (SELC).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..filters.lof import local_outlier_factor

__all__ = ["Selection", "select_confidence_set", "correct_labels", "auto_correction_alpha", "REFERENCES"]

REFERENCES = ("candidates", "G_c+P_c")


@dataclass
class Selection:
    """What one selection step decided, all (n,) arrays: ``added`` (Q), ``removed`` (T), ``agrees`` (P~ over all
    classes: outside G and prediction == label) and ``lof`` (the LOF of each agreeing candidate, NaN elsewhere)."""

    added: np.ndarray
    removed: np.ndarray
    agrees: np.ndarray
    lof: np.ndarray


def select_confidence_set(z: np.ndarray, labels: np.ndarray, predictions: np.ndarray, in_set: np.ndarray, *,
                          n_neighbors: int = 10, threshold: float = 1.5, quantile: Optional[float] = None,
                          reference: str = "candidates") -> Selection:
    """One MTaDCS selection step (no side effects: the caller applies ``added`` then ``removed``).

    Parameters
    ----------
    z : (n, d) float — the representation LOF is measured in (the L2-normalised projection).
    labels, predictions : (n,) int — current labels and the model's argmax predictions.
    in_set : (n,) bool — the current confidence set G.
    n_neighbors : LOF neighbourhood m, capped at |P~_c| − 1 per class.
    threshold : a candidate joins when its LOF ≤ threshold (used when ``quantile`` is None).
    quantile : instead of the threshold, keep the lowest-LOF fraction ``quantile`` of each class' candidates
        (at least one).
    reference : ``"candidates"`` — LOF among P~_c only (the paper's "applying LOF locally");
        ``"G_c+P_c"`` — LOF computed over D_c ∪ P~_c (the class' members of G as extra reference points).

    Cost: per class a kNN search among its candidates, Θ(|P~_c|²·d) brute force.
    """
    z = np.asarray(z, dtype=np.float64)
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    in_set = np.asarray(in_set, dtype=bool)
    agrees = ~in_set & (predictions == labels)
    lof = np.full(labels.shape[0], np.nan)
    added = np.zeros(labels.shape[0], dtype=bool)
    for c in np.unique(labels[agrees]):
        candidates = np.flatnonzero(agrees & (labels == c))
        if candidates.size < 2:
            continue
        if reference == "candidates":
            scores = local_outlier_factor(z[candidates], n_neighbors)
        else:
            members = np.flatnonzero(in_set & (labels == c))
            pooled = np.concatenate([candidates, members])
            scores = local_outlier_factor(z[pooled], n_neighbors)[:candidates.size]
        lof[candidates] = scores
        if quantile is None:
            keep = scores <= threshold
        else:
            n_keep = max(1, int(np.floor(quantile * candidates.size)))
            keep = np.zeros(candidates.size, dtype=bool)
            keep[np.argsort(scores, kind="stable")[:n_keep]] = True
        added[candidates[keep]] = True
    removed = in_set & (predictions != labels)
    return Selection(added=added, removed=removed, agrees=agrees, lof=lof)


def correct_labels(soft_labels: np.ndarray, labels: np.ndarray, target: np.ndarray, *, alpha: float,
                   gamma: float) -> tuple:
    """Self-ensemble label correction, once per epoch on every sample.

    P ← (1 − alpha)·P + alpha·target, where ``target`` (n, K) is the one-hot of the model's prediction (or its
    softmax); then a sample flips to argmax_c P[c] when max_{c ≠ y} P[c] > gamma.
    Returns (new soft labels (n, K) float32, new labels (n,) int64, flipped (n,) bool). Inputs are not modified.
    """
    P = ((1.0 - alpha) * np.asarray(soft_labels, dtype=np.float64)
         + alpha * np.asarray(target, dtype=np.float64)).astype(np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    others = P.copy()
    others[np.arange(labels.size), labels] = -np.inf
    flipped = others.max(axis=1) > gamma if labels.size else np.zeros(0, dtype=bool)
    new_labels = labels.copy()
    new_labels[flipped] = others[flipped].argmax(axis=1)
    return P, new_labels, flipped


def auto_correction_alpha(gamma: float, post_warmup_epochs: int) -> float:
    """The spec's rescaled momentum for short runs (§1.5(5)): alpha = 1 − (1 − gamma)^(1/E), E = 2/3 of the
    post-warm-up epochs (at least 1), so that a sample predicted as one class from the first post-warm-up epoch on
    crosses gamma after E epochs. The paper's alpha = 0.01 needs 161 epochs to reach gamma = 0.8."""
    latency = max(1, int(round(2.0 * post_warmup_epochs / 3.0)))
    # Slightly above the exact root so that P reaches gamma at epoch E despite float rounding.
    return float(min(1.0, (1.0 - (1.0 - gamma) ** (1.0 / latency)) * (1.0 + 1e-6)))
