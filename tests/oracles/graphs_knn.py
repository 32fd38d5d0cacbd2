"""Plain-numpy kNN graph oracle: dense float64 distances, a stable argsort per row (ties to the lowest index)."""
from __future__ import annotations

import numpy as np


def dense_distances(X, metric: str = "euclidean") -> np.ndarray:
    """All pairwise distances in float64 from the float32 data: plain L2, or 1 - cosine similarity."""
    X = np.asarray(X, dtype=np.float32).astype(np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        X = X / norms
        return np.maximum(1.0 - X @ X.T, 0.0)
    diff = X[:, None, :] - X[None, :, :]
    return np.sqrt((diff * diff).sum(axis=-1))


def knn_lists(X, k: int, metric: str = "euclidean"):
    """Directed kNN: (neighbours (n, k) int, dist (n, k)), each row sorted by neighbour index, self excluded."""
    D = dense_distances(X, metric)
    np.fill_diagonal(D, np.inf)
    nearest = np.argsort(D, axis=1, kind="stable")[:, :k]
    nearest.sort(axis=1)
    return nearest, np.take_along_axis(D, nearest, axis=1)


def symmetric_union(neighbours: np.ndarray, dist: np.ndarray):
    """CSR (indptr, indices, dist) of the union of x->y and y->x over directed lists, rows sorted."""
    n = neighbours.shape[0]
    edges = {}
    for x in range(n):
        for y, d in zip(neighbours[x], dist[x]):
            edges[(x, int(y))] = d
            edges.setdefault((int(y), x), d)
    keys = sorted(edges)
    indptr = np.zeros(n + 1, dtype=np.int64)
    for x, _ in keys:
        indptr[x + 1] += 1
    return np.cumsum(indptr), np.array([y for _, y in keys], dtype=np.int64), np.array([edges[e] for e in keys])


def mean_pairwise_distance(X, metric: str = "euclidean") -> float:
    """Mean distance over all ordered pairs i != j."""
    D = dense_distances(X, metric)
    n = D.shape[0]
    return float((D.sum() - np.trace(D)) / (n * (n - 1)))
