"""k-center greedy in plain numpy (float64), the kcenter_greedy oracle."""
from __future__ import annotations

import numpy as np


def kcenter_greedy_oracle(X, budget, centers=(), metric="euclidean"):
    """Farthest-point picks by squared L2 (on L2-normalised rows for 'cosine'); lowest index on ties.

    Without centres the first pick is the row farthest from the mean row (relative 1e-9 ties, lowest index).
    """
    X = np.asarray(X, dtype=np.float32)
    if metric == "cosine":  # normalised in float32, as the kernel documents
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        X = X / np.where(norms == 0, np.float32(1.0), norms)
    X = X.astype(np.float64)
    n = X.shape[0]
    centers = np.asarray(centers, dtype=np.int64)
    taken = np.zeros(n, dtype=bool)
    taken[centers] = True
    nearest = np.full(n, np.inf)
    for c in centers:
        nearest = np.minimum(nearest, ((X - X[c]) ** 2).sum(axis=1))
    picks = []
    for i in range(budget):
        if i == 0 and centers.size == 0:
            diff = X - X.mean(axis=0)
            far = np.einsum("ij,ij->i", diff, diff)
            p = int(np.argmax(far >= far.max() * (1 - 1e-9)))
        else:
            p = int(np.argmax(np.where(taken, -np.inf, nearest)))
        picks.append(p)
        taken[p] = True
        nearest = np.minimum(nearest, ((X - X[p]) ** 2).sum(axis=1))
    return np.array(picks, dtype=np.int64)


def kcenter_greedy_near_ties(X, picks, centers=(), metric="euclidean", rtol=1e-5):
    """Replay ``picks`` (with centres) and return the steps where a pick is not the float64 farthest row
    within ``rtol`` of the largest squared distance (relative to the squared row norms, the scale of
    float32 rounding). For data where two rows are at the same real distance but float32 and float64
    round them apart (e.g. an all-zero centre under 'cosine': every unit row is at exactly 1), exact
    equality with the oracle would test rounding noise; this checks that each pick is a farthest row."""
    X = np.asarray(X, dtype=np.float32)
    if metric == "cosine":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        X = X / np.where(norms == 0, np.float32(1.0), norms)
    X = X.astype(np.float64)
    scale = max(1.0, float((X ** 2).sum(axis=1).max()))
    centers = np.asarray(centers, dtype=np.int64)
    taken = np.zeros(X.shape[0], dtype=bool)
    taken[centers] = True
    nearest = np.full(X.shape[0], np.inf)
    for c in centers:
        nearest = np.minimum(nearest, ((X - X[c]) ** 2).sum(axis=1))
    bad = []
    for step, p in enumerate(np.asarray(picks, dtype=np.int64)):
        if taken[p]:
            bad.append(step)
        elif step > 0 or centers.size:
            best = np.where(taken, -np.inf, nearest).max()
            if nearest[p] < best - rtol * scale:
                bad.append(step)
        taken[p] = True
        nearest = np.minimum(nearest, ((X - X[p]) ** 2).sum(axis=1))
    return bad
