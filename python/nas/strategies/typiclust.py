"""TypiClust (Hacohen et al. 2022), K-Means variant: one typical sample from each of the largest clusters
that hold the fewest labeled samples (reference-algorithms §7)."""
from __future__ import annotations

from typing import Dict, List

import numpy as np

import nas_ext
from nas_ext._validation import check_int

from .base import Strategy

__all__ = ["TypiClust"]


class TypiClust(Strategy):
    """Cluster the pool into K = min(n_labeled + budget, max_clusters) groups, visit the clusters ordered by
    (labeled count ascending, size descending) round-robin, and from each take the unlabeled member of
    highest typicality 1 / (mean squared distance to its k nearest unlabeled cluster-mates + 1e-5),
    k = min(n_neighbors, m // 2) for m unlabeled members.

    Clusters with at most ``min_cluster_size`` members are skipped while larger ones still have
    unlabeled members (the reference skipped them always, and crashed when none was left). K-Means for
    K <= 50, MiniBatchKMeans (batch 5000) above, both seeded by ``random_state``.

    Not a coverage strategy: NAS refuses it, and ``clean``/``noisy`` are both just "labeled".

    Complexity: K-Means O(n·K·d) per iteration, plus O(m²·d) per pick for a cluster of m members.
    """

    supports_noise = False

    def __init__(self, *, max_clusters: int = 500, min_cluster_size: int = 5, n_neighbors: int = 20,
                 kmeans_threshold: int = 50, device: str = "cpu") -> None:
        super().__init__()
        self.max_clusters = check_int(max_clusters, "TypiClust", "max_clusters", low=1)
        self.min_cluster_size = check_int(min_cluster_size, "TypiClust", "min_cluster_size", low=0)
        self.n_neighbors = check_int(n_neighbors, "TypiClust", "n_neighbors", low=1)
        self.kmeans_threshold = check_int(kmeans_threshold, "TypiClust", "kmeans_threshold", low=1)
        self.device = device

    def _params(self):
        return {"max_clusters": self.max_clusters}

    def _select(self, X, budget, clean, noisy, rng, timings: Dict[str, float]) -> np.ndarray:
        from sklearn.cluster import KMeans, MiniBatchKMeans

        n = X.shape[0]
        labeled = np.concatenate([clean, noisy])
        n_clusters = min(labeled.size + budget, self.max_clusters, n)
        seed = int(rng.integers(0, 2**31 - 1))
        if n_clusters <= self.kmeans_threshold:
            model = KMeans(n_clusters=n_clusters, n_init="auto", random_state=seed)
        else:
            model = MiniBatchKMeans(n_clusters=n_clusters, batch_size=5000, n_init="auto", random_state=seed)
        cluster_of = model.fit_predict(X)
        sizes = np.bincount(cluster_of, minlength=n_clusters)
        labeled_counts = np.bincount(cluster_of[labeled], minlength=n_clusters)
        ids = np.arange(n_clusters)
        order = ids[np.lexsort((ids, -sizes, labeled_counts))]
        available = np.ones(n, dtype=bool)
        available[labeled] = False
        by_cluster = np.argsort(cluster_of, kind="stable")
        starts = np.concatenate([[0], np.cumsum(sizes)])
        members = {int(c): by_cluster[starts[c]:starts[c + 1]] for c in ids}
        large: List[int] = [int(c) for c in order if sizes[c] > self.min_cluster_size]
        small: List[int] = [int(c) for c in order if sizes[c] <= self.min_cluster_size]
        queue, spare = (large, small) if large else (small, [])
        position = 0
        picks: List[int] = []
        while len(picks) < budget:
            if not queue:
                queue, spare, position = spare, [], 0
            cluster = queue[position % len(queue)]
            pool = members[cluster][available[members[cluster]]]
            if pool.size == 0:
                queue.pop(position % len(queue))
                continue
            pick = int(pool[np.argmax(self._typicality(X[pool]))])
            available[pick] = False
            picks.append(pick)
            position += 1
        return np.asarray(picks, dtype=np.int64)

    def _typicality(self, F: np.ndarray) -> np.ndarray:
        m = F.shape[0]
        if m < 2:
            return np.ones(m)
        k = min(self.n_neighbors, m // 2)
        graph = nas_ext.knn_graph(F, k, metric="euclidean", symmetric=False, device=self.device)
        squared = graph.dist.astype(np.float64) ** 2
        mean = np.add.reduceat(squared, graph.indptr[:-1]) / np.diff(graph.indptr)
        return 1.0 / (mean + 1e-5)
