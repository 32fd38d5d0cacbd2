"""Embeddings with known labels for the filter evaluation, and the default asymmetric-noise transition.

- ``digits``: scikit-learn's bundled digits (1,797 samples, 10 classes, 64 pixel intensities in [0, 1]).
- ``blobs-easy``: one Gaussian cluster per class, 10 classes in 64-d, L2-normalised rows (SSL-like).
- ``blobs-hard``: three overlapping clusters per class (30 clusters, 10 classes) in 64-d, L2-normalised:
  no single linear direction per class, so a linear filter is at its limits.

:func:`nearest_class_transition` gives the pair-flip confusion of asymmetric noise when the data comes
without a confusion matrix: each class is mistaken for the class whose mean feature vector is nearest.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from nas_ext._validation import check_choice, check_int

__all__ = ["EMBEDDINGS", "load_embedding", "synthetic_embedding", "nearest_class_transition"]

#: name -> (clusters per class, within-cluster spread) of the synthetic embeddings; None for digits.
EMBEDDINGS = {"digits": None, "blobs-easy": (1, 1.0), "blobs-hard": (3, 1.0)}


def synthetic_embedding(n_samples: int = 3000, *, n_classes: int = 10, n_features: int = 64,
                        clusters_per_class: int = 1, spread: float = 1.0,
                        seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters around random unit centres, rows L2-normalised; returns (X float32 (n, d), y int64 (n,)).

    Cluster k belongs to class k mod n_classes; each sample picks a cluster uniformly. The per-feature
    standard deviation is spread/√d, so spread = 1 puts the within-cluster noise at the norm of a centre.
    """
    owner = "synthetic_embedding"
    n_samples = check_int(n_samples, owner, "n_samples", low=1)
    n_classes = check_int(n_classes, owner, "n_classes", low=1)
    n_features = check_int(n_features, owner, "n_features", low=1)
    clusters_per_class = check_int(clusters_per_class, owner, "clusters_per_class", low=1)
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes * clusters_per_class, n_features))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    cluster = rng.integers(0, centres.shape[0], n_samples)
    X = centres[cluster] + spread / np.sqrt(n_features) * rng.standard_normal((n_samples, n_features))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), (cluster % n_classes).astype(np.int64)


def load_embedding(name: str, *, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """(X, y) of a built-in embedding by name (see :data:`EMBEDDINGS`); digits uses all 1,797 samples."""
    check_choice(name, "load_embedding", "name", tuple(EMBEDDINGS))
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return (X / 16.0).astype(np.float32), y.astype(np.int64)
    clusters, spread = EMBEDDINGS[name]
    return synthetic_embedding(clusters_per_class=clusters, spread=spread, seed=seed)


def nearest_class_transition(X: np.ndarray, y: np.ndarray, n_classes: int, *, flip: float = 0.5) -> np.ndarray:
    """(C, C) row-stochastic pair-flip matrix: class c keeps 1 − ``flip`` and sends ``flip`` to its nearest class.

    "Nearest" compares the mean feature vectors of the classes (Euclidean); a class without samples
    flips to the next class index. With AsymmetricNoise only the off-diagonal shape matters (the rate
    sets how many samples flip), so every mistake of class c goes to the same confusable class.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    means = np.zeros((n_classes, X.shape[1]))
    present = np.bincount(y, minlength=n_classes) > 0
    for c in np.flatnonzero(present):
        means[c] = X[y == c].mean(axis=0)
    d2 = ((means[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    d2[~present[None, :].repeat(n_classes, axis=0)] = np.inf
    np.fill_diagonal(d2, np.inf)
    target = np.where(np.isfinite(d2.min(axis=1)), d2.argmin(axis=1), (np.arange(n_classes) + 1) % n_classes)
    T = (1.0 - flip) * np.eye(n_classes)
    T[np.arange(n_classes), target] += flip
    return T
