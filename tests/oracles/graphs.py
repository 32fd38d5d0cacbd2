"""Plain-numpy float64 oracles for the graph kernels: dense distance matrices and radius-graph edge sets."""
from __future__ import annotations

import numpy as np


def pairwise_distances(X, metric: str) -> np.ndarray:
    """Dense (n, n) float64 distances with a zero diagonal.

    cosine: 1 - <x, y> / (|x| |y|), clipped at 0; an all-zero row is at distance 1 from every other row.
    euclidean: |x - y| from the differences themselves (no |x|^2 + |y|^2 - 2<x, y> cancellation).
    """
    X = np.asarray(X, dtype=np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(X, axis=1)
        norms[norms == 0] = 1.0
        unit = X / norms[:, None]
        D = np.clip(1.0 - unit @ unit.T, 0.0, None)
    elif metric == "euclidean":
        D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))
    else:
        raise ValueError(metric)
    np.fill_diagonal(D, 0.0)
    return D


def radius_adjacency(X, delta: float, metric: str) -> np.ndarray:
    """Boolean (n, n) adjacency of the radius graph: dist < delta (strict), self-loops included."""
    return pairwise_distances(X, metric) < delta


def separated_deltas(D: np.ndarray, min_gap: float = 1e-4) -> np.ndarray:
    """Radii that no distance in ``D`` comes within ``min_gap / 2`` of, so float32 rounding cannot flip an edge.

    The midpoints of the gaps wider than ``min_gap`` between consecutive distinct distances, plus one radius
    above the largest distance.
    """
    values = np.unique(D)
    gaps = np.diff(values)
    wide = gaps > min_gap
    mids = (values[:-1][wide] + values[1:][wide]) / 2.0
    return np.append(mids, values[-1] + max(1.0, values[-1]))
