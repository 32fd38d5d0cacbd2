"""One NPC round (ProbCover + NAS) with the ideal filter and one with CrossValidation: selection work of
nas (CSR graph + incremental CoverageState, a fresh state per share only when the partition changed)
against the reference approach of reference-algorithms §2.4/§4, re-implemented here with numpy
(edge table, per-pick bincount + isin + copy-filter, a deep copy of the edge table per share).

Both sides run on the same graph, the same annotator and the same filter, with lowest-index ties, so
their picks must be identical; graph construction and filter time are measured separately and
excluded from the selection ratio.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, List, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine  # noqa: E402

TITLE = "NAS round: NPC selection work vs the reference edge-table approach"

MEAN_DEGREE = 100  # target mean ball size of the delta-graph (E = 100 N)


def labeled_pool(n: int, d: int, n_classes: int, *, spread: float = 0.35, seed: int = 0):
    """Unit-norm Gaussian clusters (the recipe of _common.clustered_embeddings) with their cluster ids."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    y = rng.integers(0, n_classes, size=n)
    X = centres[y] + (spread / np.sqrt(d)) * rng.standard_normal((n, d)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), y


def delta_for_mean_degree(X: np.ndarray, y: np.ndarray, target: float, seed: int = 0) -> float:
    """A cosine radius whose balls hold about ``target`` points, from sampled same-class pairs."""
    rng = np.random.default_rng(seed)
    n_classes = int(y.max()) + 1
    per_class = np.bincount(y, minlength=n_classes).mean()
    a = rng.integers(0, len(y), 200_000)
    order = np.argsort(y, kind="stable")
    starts = np.searchsorted(y[order], y[a])
    counts = np.bincount(y, minlength=n_classes)[y[a]]
    b = order[starts + (rng.random(a.size) * counts).astype(np.int64)]
    keep = a != b
    dist = 1.0 - np.einsum("ij,ij->i", X[a[keep]], X[b[keep]])
    return float(np.quantile(dist, min(1.0, (target - 1) / per_class)))


def reference_npc(graph, budget: int, shares: List[int], ideal: bool, partition: Callable,
                  annotate: Callable) -> Tuple[np.ndarray, float]:
    """NPC as the reference code runs it (§2.2, §4), on numpy edge arrays instead of a DataFrame.

    ``partition(labeled, labels) -> is_clean`` is the filter; returns (picks, selection seconds)."""
    n = graph.n
    x_full = graph.rows()                       # the reference's edge frame: x, y int64 and d float32
    y_full = graph.indices.astype(np.int64)
    d_full = graph.dist.copy()
    labeled: List[int] = []
    labels: List[int] = []
    picks_all: List[int] = []
    previous: List[int] = []
    seconds = 0.0
    x = y = d = None
    for j, size in enumerate(shares):
        labeled_arr = np.array(labeled, dtype=np.int64)
        mask = partition(labeled_arr, np.array(labels, dtype=np.int64))
        t0 = time.perf_counter()
        if not ideal or j == 0:
            x, y, d = x_full.copy(), y_full.copy(), d_full.copy()   # per-share deep copy of the graph
            covering, noisy = labeled_arr[mask], labeled_arr[~mask]
        else:                                                       # ideal: only the last pick's verdict
            prev = np.array(previous, dtype=np.int64)
            prev_clean = mask[-len(prev):]
            covering, noisy = prev[prev_clean], prev[~prev_clean]
        covered = y[np.isin(x, covering)]
        keep = ~np.isin(y, covered) & ~np.isin(x, noisy)
        x, y, d = x[keep], y[keep], d[keep]
        share: List[int] = []
        for _ in range(size):
            degree = np.bincount(x, minlength=n).astype(np.int64)
            degree[labeled_arr] = -1
            degree[np.array(share, dtype=np.int64)] = -1
            pick = int(np.argmax(degree))                           # lowest index among maxima
            share.append(pick)
            if not ideal:
                new = y[x == pick]
                keep = ~np.isin(y, new)
                x, y, d = x[keep], y[keep], d[keep]
        seconds += time.perf_counter() - t0
        labeled.extend(share)
        labels.extend(annotate(np.array(share, dtype=np.int64)).tolist())
        picks_all.extend(share)
        previous = share
    return np.array(picks_all, dtype=np.int64), seconds


def _round(name: str, X, graph, noise_filter, n_classes: int, budget: int, annotate, is_noisy) -> dict:
    from nas import NAS
    from nas.strategies import ProbCover

    strategy = ProbCover(graph.delta, metric="cosine", tie_break="lowest").fit(X, graph=graph)
    nas = NAS(strategy, noise_filter, n_classes=n_classes, random_state=0, progress=False)
    result = nas.run(X, budget, annotate)
    ours = sum(h["timings"]["selection"] for h in result.history)
    sync = sum(h["strategy_timings"].get("sync", 0.0) for h in result.history)
    rebuilds = strategy._session.rebuilds
    filter_seconds = result.timings.get("filter", 0.0) + result.timings.get("final_filter", 0.0)
    shares = [h["size"] for h in result.history]
    ideal = bool(getattr(noise_filter, "is_ideal", False))

    def partition(labeled, labels):
        if labeled.size == 0 or (labeled.size < n_classes and not ideal):
            return np.ones(labeled.size, dtype=bool)
        unlabeled = np.setdiff1d(np.arange(X.shape[0]), labeled)
        pool = X[np.sort(np.random.default_rng(0).choice(unlabeled, min(unlabeled.size, max(labeled.size, 512)),
                                                         replace=False))]
        return np.asarray(noise_filter.fit_predict(X[labeled], labels, pool=pool, n_classes=n_classes,
                                                   indices=labeled))

    ref_picks, ref_seconds = reference_npc(graph, budget, shares, ideal, partition, annotate)
    return {"name": name, "shares": len(shares), "ours": ours, "sync": sync, "rebuilds": rebuilds,
            "reference": ref_seconds,
            "same": bool(np.array_equal(result.picks, ref_picks)), "filter": filter_seconds,
            "noisy_picked": int(is_noisy[result.picks].sum())}


def run(quick: bool) -> str:
    import nas_ext
    from nas.filters import CrossValidation, Ideal

    n, d, n_classes, budget = (20_000 if quick else 100_000), 384, 100, 500
    X, y = labeled_pool(n, d, n_classes, seed=0)
    rng = np.random.default_rng(1)
    is_noisy = rng.random(n) < 0.2
    noisy_labels = np.where(is_noisy, (y + rng.integers(1, n_classes, n)) % n_classes, y)

    def annotate(indices):
        return noisy_labels[indices]

    delta = delta_for_mean_degree(X, y, MEAN_DEGREE)
    t0 = time.perf_counter()
    graph = nas_ext.radius_graph(X, delta, metric="cosine")
    build = time.perf_counter() - t0
    rows = [
        _round("ideal filter (b = 1)", X, graph, Ideal(is_noisy), n_classes, budget, annotate, is_noisy),
        _round("CrossValidation (b = C)", X, graph, CrossValidation(random_state=0), n_classes, budget, annotate,
               is_noisy),
    ]
    lines = [
        f"N = {n:,}, d = {d}, C = {n_classes}, budget {budget}, 20 % symmetric noise, cosine delta = {delta:.4f} "
        f"(mean ball {graph.nnz / n:.1f}), E = {graph.nnz:,} edges; graph build {build:.2f} s (excluded).",
        "",
        "| round | shares | nas selection (s) | of which state sync (s) | fresh states | "
        "reference selection (s) | speed-up | same picks | filter (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['name']} | {r['shares']} | {r['ours']:.3f} | {r['sync']:.3f} | {r['rebuilds']} | "
                     f"{r['reference']:.2f} | {r['reference'] / max(r['ours'], 1e-9):.0f}x | "
                     f"{'yes' if r['same'] else 'NO'} | {r['filter']:.2f} |")
    lines += ["", "Selection = everything but graph construction and filter calls. nas: per share, bring the "
              "coverage state to the filter's partition (a fresh CoverageState + cover of the clean labeled "
              "set when a covered sample turned noisy, else only the new labels) and make the greedy picks; "
              "reference: per-share edge-table copy and isin passes, per pick a bincount, an isin and a "
              "copy-filter of the remaining edges."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(f"Machine: {machine()}\n")
    print(run("--quick" in sys.argv))
