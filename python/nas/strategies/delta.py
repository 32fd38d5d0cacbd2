"""Choosing ProbCover's ball radius delta: the purity heuristic and the max-degree update policy.

Both work from ONE radius graph built at the largest radius of interest and filtered downward
(``Graph.restrict`` or a threshold on the stored distances), on the same features and metric as the
selection graph — so the scan and the selection can never disagree on geometry (the reference's
scheduler scanned max-norm-scaled, non-projected features while selecting on projected ones).
"""
from __future__ import annotations

import logging
from typing import Callable, Optional, Tuple

import numpy as np

__all__ = ["delta_grid", "purity_by_delta", "choose_delta_by_purity", "choose_delta_max_degree"]

logger = logging.getLogger(__name__)

#: the upper end of the purity search grid per metric (reference: 0.02..0.30 cosine, 0.02..0.60 L2)
PURITY_GRID_MAX = {"cosine": 0.30, "euclidean": 0.60}


def delta_grid(upper: float, resolution: float = 0.02, *, include_upper: bool = True) -> np.ndarray:
    """``resolution, 2·resolution, ...`` up to ``upper`` (inclusive or strictly below), rounded to 1e-10."""
    count = int(np.floor(upper / resolution + 1e-9))
    grid = np.round(np.arange(1, count + 1) * resolution, 10)
    if include_upper:
        return grid[grid <= upper + 1e-12]
    return grid[grid < upper - 1e-12]


def purity_by_delta(graph, labels: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """Fraction of vertices whose ball (edges with dist < delta) holds only their own ``labels`` value.

    One pass over the edges: a vertex stays pure for every delta up to the distance of its nearest
    differently-labeled neighbour. O(E + n log n + len(deltas) log n).
    """
    rows = graph.rows()
    other = labels[rows] != labels[graph.indices]
    nearest_other = np.full(graph.n, np.inf, dtype=np.float32)
    np.minimum.at(nearest_other, rows[other], graph.dist[other].astype(np.float32, copy=False))
    nearest_other.sort()
    impure = np.searchsorted(nearest_other, np.asarray(deltas, dtype=np.float32), side="left")
    return 1.0 - impure / graph.n


def choose_delta_by_purity(X: np.ndarray, n_clusters: int, *, metric: str, grid: np.ndarray,
                           threshold: float, random_state: np.random.Generator,
                           max_samples: Optional[int], max_edges: Optional[int], device: str
                           ) -> Tuple[float, Optional[object], np.ndarray]:
    """The ProbCover paper's delta heuristic: k-means with ``n_clusters`` clusters, then the largest grid
    delta whose graph has at least ``threshold`` pure vertices.

    Returns ``(delta, graph, purity)``: ``graph`` is the radius graph at ``max(grid)`` over all of ``X``
    (so the caller restricts it instead of building another), or None when the purity was estimated on
    a random subsample of ``max_samples`` rows (a subsample sees fewer neighbours per vertex, so its
    purity is an optimistic estimate). When no delta reaches the threshold the smallest one is returned
    and a warning is logged.
    """
    import nas_ext
    from sklearn.cluster import KMeans

    n = X.shape[0]
    sample = None
    if max_samples is not None and n > max_samples:
        sample = np.sort(random_state.choice(n, size=max_samples, replace=False))
        X = X[sample]
    seed = int(random_state.integers(0, 2**31 - 1))
    features = nas_ext._gemm.normalize_rows(X) if metric == "cosine" else X
    labels = KMeans(n_clusters=min(n_clusters, X.shape[0]), n_init=1, random_state=seed).fit_predict(features)
    graph = nas_ext.radius_graph(X, float(grid.max()), metric=metric, max_edges=max_edges, device=device)
    purity = purity_by_delta(graph, labels, grid)
    ok = np.flatnonzero(purity >= threshold)
    if ok.size:
        delta = float(grid[ok[-1]])
    else:
        delta = float(grid[0])
        logger.warning("ProbCover delta heuristic: no delta in [%g, %g] reaches purity %.2f (best %.3f at %g); "
                       "using %g. Pass delta explicitly.", grid[0], grid[-1], threshold, purity.max(),
                       grid[int(np.argmax(purity))], delta)
    logger.info("ProbCover delta heuristic: delta=%g (purity %.3f, k-means with %d clusters on %d samples)",
                delta, purity[np.searchsorted(grid, delta)], n_clusters, X.shape[0])
    return delta, (graph if sample is None else None), purity


def choose_delta_max_degree(graph, current: float, resolution: float,
                            max_gain_at: Callable[[object], float]) -> Tuple[Optional[float], dict]:
    """The paper's delta update (seed 000 §3.2, Alg. 3): among the grid deltas in (0, current), the one
    whose graph — after removing the balls of the labeled samples, which ``max_gain_at(restricted
    graph)`` does — has the largest maximal out-degree; ties go to the smallest delta.

    ``graph`` is the one build (radius >= current); each candidate is a ``graph.restrict``. Returns
    ``(delta, {delta: max degree})``, with delta None when no candidate has a max degree above 1
    (nothing but self-loops anywhere, so no radius would help).
    """
    curve = {}
    best, best_value = None, 1.0
    for candidate in delta_grid(current, resolution, include_upper=False):
        value = float(max_gain_at(graph.restrict(float(candidate))))
        curve[float(candidate)] = value
        if value > best_value:
            best, best_value = float(candidate), value
    return best, curve
