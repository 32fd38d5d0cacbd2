"""Brute-force numpy versions of the greedy strategies (dense matrices, O(n²) per pick): test oracles only."""
import numpy as np


def pairwise_distances(X, metric):
    """float64 distances: cosine = 1 - <x, y> on normalised rows; euclidean = ||x - y||."""
    X = np.asarray(X, dtype=np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        U = X / norms
        return 1.0 - U @ U.T
    diff = X[:, None, :] - X[None, :, :]
    return np.sqrt((diff ** 2).sum(-1))


def probcover_greedy(adjacency, budget, clean=(), noisy=(), noisy_weight=None, per_source=False):
    """ProbCover / NPC / Weighted NPC on a boolean adjacency (row x = ball of x), lowest-index ties.

    Returns (picks, gains)."""
    A = np.asarray(adjacency, dtype=bool)
    n = A.shape[0]
    clean, noisy = np.asarray(clean, dtype=int), np.asarray(noisy, dtype=int)
    covered = A[clean].any(axis=0) if clean.size else np.zeros(n, dtype=bool)
    mult = np.ones(n)
    if noisy_weight is not None and noisy.size:
        counts = A[noisy].sum(axis=0)
        mult = np.where(counts > 0, noisy_weight ** (counts if per_source else 1), 1.0)
    available = np.ones(n, dtype=bool)
    available[clean] = False
    available[noisy] = False
    picks, gains = [], []
    for _ in range(budget):
        gain = (A * (mult * ~covered)[None, :]).sum(axis=1)
        gain = np.where(available, gain, -np.inf)
        best = int(np.argmax(gain))
        picks.append(best)
        gains.append(gain[best])
        available[best] = False
        covered |= A[best]
    return np.array(picks), np.array(gains)


def maxherding_greedy(X, sigma, budget, clean=(), noisy=(), return_margins=False):
    """Exact MaxHerding with k = exp(-||x-y||²/σ²), gains Σ_y max(0, k - c(y)), lowest-index ties.

    With ``return_margins`` also returns, per pick, the gap between the best and second-best gain."""
    D2 = pairwise_distances(X, "euclidean") ** 2
    K = np.exp(-D2 / sigma ** 2)
    n = K.shape[0]
    clean, noisy = np.asarray(clean, dtype=int), np.asarray(noisy, dtype=int)
    cov = K[clean].max(axis=0) if clean.size else np.zeros(n)
    available = np.ones(n, dtype=bool)
    available[clean] = False
    available[noisy] = False
    picks, gains, margins = [], [], []
    for _ in range(budget):
        gain = np.maximum(K - cov[None, :], 0).sum(axis=1)
        gain = np.where(available, gain, -np.inf)
        best = int(np.argmax(gain))
        picks.append(best)
        gains.append(gain[best])
        top2 = np.sort(gain)[-2:]
        margins.append(top2[1] - top2[0] if available.sum() > 1 else np.inf)
        available[best] = False
        cov = np.maximum(cov, K[best])
    if return_margins:
        return np.array(picks), np.array(gains), np.array(margins)
    return np.array(picks), np.array(gains)


def kcenter_greedy(X, budget, centers=(), excluded=()):
    """k-center greedy (euclidean): farthest point from the centres, lowest-index ties."""
    D = pairwise_distances(X, "euclidean")
    centers = list(np.asarray(centers, dtype=int))
    n = D.shape[0]
    mind = D[centers].min(axis=0) if centers else np.full(n, np.inf)
    available = np.ones(n, dtype=bool)
    available[centers] = False
    available[np.asarray(excluded, dtype=int)] = False
    picks = []
    for _ in range(budget):
        score = np.where(available, mind, -np.inf)
        best = int(np.argmax(score))
        picks.append(best)
        available[best] = False
        mind = np.minimum(mind, D[best])
    return np.array(picks)
