"""One full simulated NAS round at N = 100k: NPC selection (graph + shares + internal filter calls), the
pre-training filter and the linear probe, with the per-stage time split.

The round is round 3 of the paper's CIFAR-100 protocol at 50% symmetric noise (C = 100, E[SPC] 1..5 → 200
samples per round): 400 samples are already labeled, NPC queries 200 more in 2 shares of C with LowBudgetAUM,
the pre-training filter runs on the 600 labeled samples and a 500-epoch linear probe trains on the predicted-clean
ones and is evaluated on 10k test samples. Baselines in the same process: plain ProbCover on the same graph (the
cost NAS adds) and the probe written with nn.Linear + autograd + torch.optim.SGD (what the hand-written gradient
saves).
"""
from __future__ import annotations

import sys
import time

import numpy as np
import torch

from _common import clustered_embeddings, peak_rss_mib

TITLE = "Experiment round: NPC + LowBudgetAUM + linear probe at N = 100k"

N_CLASSES = 100
NOISE_RATE = 0.5
ROUND_BUDGET = 200
LABELED_BEFORE = 400
TARGET_DEGREE = 50


def _pool(n: int, d: int, seed: int):
    """clustered_embeddings plus its cluster ids as the true labels (the same draws as bench/_common.py)."""
    X = clustered_embeddings(n, d, N_CLASSES, seed=seed)
    rng = np.random.default_rng(seed)
    rng.standard_normal((N_CLASSES, d))
    labels = rng.integers(0, N_CLASSES, size=n)
    return X, labels.astype(np.int64)


def _delta_for_degree(X: np.ndarray, degree: int, seed: int) -> float:
    """Cosine radius giving about ``degree`` neighbours per point (median over 500 sampled rows)."""
    rows = np.random.default_rng(seed).choice(X.shape[0], 500, replace=False)
    dist = 1.0 - torch.from_numpy(X[rows]) @ torch.from_numpy(X).T
    return float(torch.kthvalue(dist, degree + 1, dim=1).values.median())


def _autograd_probe(X: np.ndarray, y: np.ndarray, epochs: int) -> float:
    """The baseline: the same recipe with nn.Linear, autograd and torch.optim.SGD; returns seconds."""
    from nas.training._sgd import cosine_lr, epoch_batches, one_cpu_thread, repeated_indices

    layer = torch.nn.Linear(X.shape[1], N_CLASSES)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.025, momentum=0.9, nesterov=True, weight_decay=3e-4)
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)
    index = repeated_indices(X.shape[0], 100)
    start = time.perf_counter()
    with one_cpu_thread():
        for epoch in range(epochs):
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(0.025, epoch, epochs)
            for batch in epoch_batches(index, 100, generator):
                loss = torch.nn.functional.cross_entropy(layer(inputs[batch]), targets[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return time.perf_counter() - start


def run(quick: bool) -> str:
    from nas import NAS
    from nas.filters import LowBudgetAUM
    from nas.noise import SimulatedAnnotator, SymmetricNoise
    from nas.strategies import ProbCover
    from nas.training import LinearProbe, training_subset

    n, d, n_test, epochs = (20_000, 384, 2_000, 500) if quick else (100_000, 384, 10_000, 500)
    X_all, y_all = _pool(n + n_test, d, seed=0)
    X, y, X_test, y_test = X_all[:n], y_all[:n], X_all[n:], y_all[n:]
    annotator = SimulatedAnnotator(y, SymmetricNoise(NOISE_RATE), n_classes=N_CLASSES, random_state=0)
    delta = _delta_for_degree(X, TARGET_DEGREE, seed=0)
    rng = np.random.default_rng(0)
    labeled = np.sort(rng.choice(n, LABELED_BEFORE, replace=False))
    labels = annotator(labeled)
    prior_filter = LowBudgetAUM(random_state=0)
    pool_sample = lambda: X[np.sort(rng.choice(np.setdiff1d(np.arange(n), labeled), 512, replace=False))]
    is_clean = prior_filter.fit_predict(X[labeled], labels, pool=pool_sample(), n_classes=N_CLASSES)

    times = {}
    strategy = ProbCover(delta, metric="cosine", random_state=0)
    start = time.perf_counter()
    strategy.fit(X)
    times["radius graph (ProbCover.fit)"] = time.perf_counter() - start
    n_edges = int(strategy.graph_.indices.size)

    nas = NAS(strategy, LowBudgetAUM(random_state=0), n_classes=N_CLASSES, random_state=0, progress=False)
    start = time.perf_counter()
    result = nas.run(X, ROUND_BUDGET, annotator, labeled=labeled, labels=labels, is_clean=is_clean)
    nas_total = time.perf_counter() - start
    for stage in ("filter", "selection", "final_filter", "annotate"):
        times[f"NAS {stage}"] = result.timings.get(stage, 0.0)
    times["NAS other (partition, bookkeeping)"] = nas_total - sum(result.timings.get(s, 0.0) for s in
                                                                  ("filter", "selection", "final_filter",
                                                                   "annotate"))

    start = time.perf_counter()
    round_filter = LowBudgetAUM(random_state=1)
    clean = round_filter.fit_predict(X[result.labeled], result.labels, pool=pool_sample(), n_classes=N_CLASSES)
    times["pre-training filter (AUM)"] = time.perf_counter() - start

    rows, _ = training_subset(clean)
    train_X, train_y = X[result.labeled[rows]], result.labels[rows]
    start = time.perf_counter()
    probe = LinearProbe(epochs=epochs, random_state=0).fit(train_X, train_y, n_classes=N_CLASSES)
    probe_seconds = time.perf_counter() - start
    times[f"linear probe ({epochs} epochs, {rows.size} samples)"] = probe_seconds
    start = time.perf_counter()
    accuracy = probe.score(X_test, y_test)
    times[f"evaluation ({n_test} test samples)"] = time.perf_counter() - start

    start = time.perf_counter()
    ProbCover(delta, metric="cosine", random_state=0).fit(X, graph=strategy.graph_).select(
        X, ROUND_BUDGET, clean=labeled, random_state=0)
    plain_seconds = time.perf_counter() - start
    autograd_seconds = _autograd_probe(train_X, train_y, epochs)

    total = sum(times.values())
    lines = [f"N = {n:,}, d = {d}, C = {N_CLASSES}, cosine delta = {delta:.4f} ({n_edges:,} edges, "
             f"mean degree {n_edges / n:.1f}); |L| {LABELED_BEFORE} → {result.labeled.size}, "
             f"{sum(1 for h in result.history)} NAS shares; test accuracy {accuracy:.1f}%; "
             f"peak RSS {peak_rss_mib():.0f} MiB", "",
             "| stage | seconds | share of the round |", "|---|---:|---:|"]
    lines += [f"| {stage} | {seconds:.3f} | {100 * seconds / total:.1f}% |" for stage, seconds in times.items()]
    graph = times["radius graph (ProbCover.fit)"]
    lines += [f"| **round total** | **{total:.3f}** | 100% |",
              f"| round without the graph (built once per pool and reused by every round) | {total - graph:.3f} | "
              f"{100 * (total - graph) / total:.1f}% |", "",
              "| baseline (same process) | seconds | ratio |", "|---|---:|---:|",
              f"| plain ProbCover select, {ROUND_BUDGET} picks on the same graph | {plain_seconds:.3f} | "
              f"NAS round (excl. graph) / plain = {nas_total / plain_seconds:.1f}× |",
              f"| linear probe with nn.Linear + autograd + torch.optim | {autograd_seconds:.3f} | "
              f"hand-written gradient is {autograd_seconds / probe_seconds:.1f}× faster |"]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run("--quick" in sys.argv))
