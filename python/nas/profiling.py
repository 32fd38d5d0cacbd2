"""Selection throughput on the user's own features or synthetic ones (`nas bench`).

Each stage is timed once after a warm-up of the hardware roofs, and reported with the work it did
and a rate against a roof measured in the same process:

- radius graph: directed edges/s, and GFLOP/s of its distance GEMM (n(n+1)/2 row pairs, 2d flops each:
  the kernel computes the tiles on and above the diagonal) against the measured matmul peak;
- greedy picks: ProbCover picks/s on that graph (``nas_ext.CoverageState``);
- kNN graph: GFLOP/s (2n²d) against the matmul peak;
- diffusion: GB/s against the measured copy bandwidth, with the byte count of a CSR sweep
  (per step: indptr 8(n+1), indices + weights 8·nnz, the gathered values 8·nnz, the written values 16n);
- k-center greedy: picks/s (its work per pick depends on the data: rows whose nearest centre is
  provably unchanged are skipped, so no byte count is meaningful);
- filter and strategy (when requested): seconds, and the strategy's own per-stage timings.

The roofs are measured before and after the stages (the better of the two counts). Peak memory is
the process's peak resident set (and the CUDA allocator's peak on a GPU).
"""
from __future__ import annotations

import logging
import os
import platform
import resource
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["StageResult", "ProfileReport", "profile_selection", "synthetic_features", "matmul_peak_gflops",
           "memory_bandwidth_gbs", "choose_delta"]


@dataclass(frozen=True)
class StageResult:
    """One timed stage: ``rate`` in ``unit`` and, where a roof applies, ``roof`` in the same unit."""

    stage: str
    seconds: float
    work: str
    rate: Optional[float] = None
    unit: str = ""
    roof: Optional[float] = None
    metrics: Dict[str, float] = field(default_factory=dict)

    @property
    def fraction_of_roof(self) -> Optional[float]:
        return None if self.rate is None or not self.roof else self.rate / self.roof


@dataclass(frozen=True)
class ProfileReport:
    """Every stage, the measured roofs, peak memory and a description of the machine and the input."""

    machine: str
    device: str
    n_samples: int
    n_features: int
    delta: float
    matmul_peak_gflops: float
    bandwidth_gbs: float
    stages: List[StageResult]
    peak_rss_mib: float
    peak_cuda_mib: Optional[float] = None
    details: Dict[str, Dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = asdict(self)
        for stage, result in zip(out["stages"], self.stages):
            stage["fraction_of_roof"] = result.fraction_of_roof
        return out

    def to_text(self) -> str:
        lines = [f"machine: {self.machine}",
                 f"input: {self.n_samples} x {self.n_features} features on {self.device}, delta {self.delta:.4g}",
                 f"roofs: matmul {self.matmul_peak_gflops:.1f} GFLOP/s, copy bandwidth {self.bandwidth_gbs:.1f} GB/s",
                 "",
                 f"{'stage':<16} {'seconds':>9}  {'rate':>14}  {'of roof':>7}  work"]
        for s in self.stages:
            rate = "" if s.rate is None else f"{_fmt(s.rate)} {s.unit}"
            frac = "" if s.fraction_of_roof is None else f"{100 * s.fraction_of_roof:.0f}%"
            lines.append(f"{s.stage:<16} {s.seconds:>9.3f}  {rate:>14}  {frac:>7}  {s.work}")
        for name, parts in self.details.items():
            lines.append(f"  {name} stages: " + ", ".join(f"{k} {v:.3f}s" for k, v in parts.items()))
        memory = f"peak memory: {self.peak_rss_mib:.0f} MiB resident"
        if self.peak_cuda_mib is not None:
            memory += f", {self.peak_cuda_mib:.0f} MiB CUDA (torch allocator)"
        lines.append(memory)
        return "\n".join(lines)


def _fmt(value: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.2f}{suffix}"
    return f"{value:.2f}"


def machine_description() -> str:
    """CPU model, core count, memory and the nas_ext build."""
    import nas_ext

    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    info = nas_ext.build_info()
    return (f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM; nas_ext {info['version']} "
            f"(OpenMP threads {info['openmp_threads']}, CUDA build {info['cuda']})")


def synthetic_features(n: int, d: int, *, n_clusters: int = 100, spread: float = 0.35, seed: int = 0) -> np.ndarray:
    """SSL-like features: a mixture of Gaussian clusters in d dimensions, L2-normalised float32 rows."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    X = centres[rng.integers(0, n_clusters, size=n)]
    # Row chunks of the same random stream: no (n, d) float64 temporary at a million rows.
    step = max(1, (64 << 20) // (8 * d))
    for start in range(0, n, step):
        stop = min(n, start + step)
        X[start:stop] += (spread / np.sqrt(d)) * rng.standard_normal((stop - start, d)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def _best_time(fn: Callable[[], object], device: str, repeat: int = 5) -> float:
    fn()
    _sync(device)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def matmul_peak_gflops(device: str = "cpu", n: int = 2048, d: int = 384) -> float:
    """Measured fp32 GFLOP/s of torch.matmul on an (n x d) @ (d x n) product, the shape of a graph tile."""
    import torch

    a = torch.randn(n, d, device=device)
    b = torch.randn(d, n, device=device)
    out = torch.empty(n, n, device=device)
    return 2.0 * n * n * d / _best_time(lambda: torch.matmul(a, b, out=out), device) / 1e9


def memory_bandwidth_gbs(device: str = "cpu", n_bytes: int = 1 << 28) -> float:
    """Measured copy bandwidth in GB/s (bytes read + bytes written) of a large buffer."""
    import torch

    src = torch.ones(n_bytes // 4, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    return 2.0 * n_bytes / _best_time(lambda: dst.copy_(src), device) / 1e9


def choose_delta(X: np.ndarray, target_degree: float, *, sample: int = 512, columns: int = 20000,
                 seed: int = 0) -> float:
    """Cosine radius at which the mean out-degree (self-loop included) is about ``target_degree``.

    Estimated from the distances of ``sample`` random rows to ``columns`` random rows: the quantile
    ``target_degree / n`` of those distances.
    """
    from nas_ext._gemm import normalize_rows

    rng = np.random.default_rng(seed)
    n = X.shape[0]
    rows = normalize_rows(np.ascontiguousarray(X[np.sort(rng.choice(n, min(sample, n), replace=False))],
                                               dtype=np.float32))
    cols = normalize_rows(np.ascontiguousarray(X[np.sort(rng.choice(n, min(columns, n), replace=False))],
                                               dtype=np.float32))
    dist = (1.0 - rows @ cols.T).ravel()
    q = min(max(target_degree / n, 0.0), 1.0)
    return float(max(np.quantile(dist, q), 1e-6))


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def profile_selection(X: np.ndarray, *, device: str = "cpu", delta: Optional[float] = None,
                      target_degree: float = 32.0, picks: Optional[int] = None, knn_k: int = 10,
                      diffusion_steps: int = 10, noise_filter: Optional[str] = None, n_labeled: Optional[int] = None,
                      strategy: Optional[str] = None, n_classes: int = 10, seed: int = 0,
                      stages: Tuple[str, ...] = ("radius", "greedy", "knn", "diffusion", "kcenter", "filter",
                                                 "strategy")) -> ProfileReport:
    """Time every selection stage on ``X`` (n, d); see the module docstring for what each rate means.

    ``picks`` defaults to min(1000, n // 10); ``delta`` (cosine) to the radius giving a mean degree of
    ``target_degree``. ``noise_filter`` / ``strategy`` name a filter / strategy (CLI names) to time on
    ``n_labeled`` (default min(1000, n // 10)) samples with cluster-derived labels; left out when None.
    ProbCover-family strategies adopt the radius graph of the first stage (their ``fit`` is timed apart),
    so a million-row profile builds the graph once; from ``nas_ext.radius.CELLS_MIN_ROWS`` rows the graph
    is the exact cell-pruned build and its GFLOP/s count only the row pairs it computed.
    """
    import nas_ext
    from nas_ext._device import resolve_device

    device = resolve_device(device, "profile_selection")
    X = np.ascontiguousarray(X, dtype=np.float32)
    n, d = X.shape
    picks = int(picks if picks is not None else max(1, min(1000, n // 10)))
    n_labeled = int(n_labeled if n_labeled is not None else max(n_classes, min(1000, n // 10)))
    peak = matmul_peak_gflops(device)
    bandwidth = memory_bandwidth_gbs(device)
    if device == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()
    delta = float(delta) if delta is not None else choose_delta(X, target_degree, seed=seed)
    results: List[StageResult] = []
    details: Dict[str, Dict[str, float]] = {}

    graph = None
    if "radius" in stages or "greedy" in stages or ("strategy" in stages and strategy is not None):
        seconds, graph = _timed(lambda: nas_ext.radius_graph(X, delta, metric="cosine", device=device), device)
        method = graph.meta.get("method", "dense")
        # GFLOP/s of the GEMM work done: the dense half (n(n+1)/2 pairs) or the cell-pruned share of it.
        flops = n * (n + 1) / 2 * 2 * d * float(graph.meta.get("work_fraction", 1.0))
        edges_per_second = graph.nnz / seconds
        work = f"{graph.nnz} edges, {_fmt(edges_per_second)} edges/s, mean degree {graph.nnz / n:.1f}, {method}"
        if method == "cells":
            work += f" ({100 * graph.meta['work_fraction']:.2f}% of the pairs)"
            details["radius graph"] = dict(graph.meta["seconds"])
        results.append(StageResult("radius graph", seconds, work, flops / seconds / 1e9, "GFLOP/s", peak,
                                   metrics={"edges": float(graph.nnz), "edges_per_second": edges_per_second}))
    if "greedy" in stages:
        k = min(picks, n)
        state = nas_ext.CoverageState(graph, device=device)
        seconds, _ = _timed(lambda: state.pick(k), device)
        results.append(StageResult("greedy picks", seconds, f"{k} ProbCover picks on {graph.nnz} edges",
                                   k / seconds, "picks/s"))
    if "knn" in stages or "diffusion" in stages:
        seconds, knn = _timed(lambda: nas_ext.knn_graph(X, knn_k, device=device), device)
        results.append(StageResult("kNN graph", seconds, f"k={knn_k}, {knn.nnz} edges", 2.0 * n * n * d / seconds / 1e9,
                                   "GFLOP/s", peak))
    if "diffusion" in stages:
        weights = nas_ext.gaussian_weights(knn)
        values = np.random.default_rng(seed).random(n)
        seconds, _ = _timed(lambda: nas_ext.diffuse(knn, values, weights=weights, n_steps=diffusion_steps,
                                                    device=device), device)
        n_bytes = diffusion_steps * (8.0 * (n + 1) + 16.0 * knn.nnz + 16.0 * n)
        results.append(StageResult("diffusion", seconds, f"{diffusion_steps} steps over {knn.nnz} edges",
                                   n_bytes / seconds / 1e9, "GB/s", bandwidth))
    if "kcenter" in stages:
        k = min(picks, n)
        seconds, _ = _timed(lambda: nas_ext.kcenter_greedy(X, k, device=device), device)
        results.append(StageResult("k-center greedy", seconds, f"{k} picks (rows settled by the triangle "
                                   "inequality are skipped)", k / seconds, "picks/s"))
    labeled, labels = _synthetic_labeled(X, n_labeled, n_classes, seed)
    if noise_filter is not None and "filter" in stages:
        from nas.filters import make_filter

        f = make_filter(noise_filter, random_state=seed)
        unlabeled = np.setdiff1d(np.arange(n), labeled)
        seconds, _ = _timed(lambda: f.fit_predict(X[labeled], labels, pool=X[unlabeled], n_classes=n_classes,
                                                  indices=labeled), device)
        results.append(StageResult(f"filter {noise_filter}", seconds, f"{len(labeled)} labeled samples"))
    if strategy is not None and "strategy" in stages:
        from nas.strategies import make_strategy

        s = make_strategy(strategy, **({"delta": delta} if _takes_delta(strategy) else {}))
        fit_seconds = None
        if graph is not None and strategy in ("probcover", "npc", "weighted_npc"):
            fit_seconds, _ = _timed(lambda: s.fit(X, graph=graph), device)  # reuse the graph timed above
        k = min(picks, n - len(labeled))
        seconds, _ = _timed(lambda: s.select(X, k, clean=labeled, random_state=seed), device)
        results.append(StageResult(f"strategy {strategy}", seconds, f"{k} picks with {len(labeled)} labeled",
                                   k / seconds, "picks/s"))
        details[f"strategy {strategy}"] = dict(getattr(s, "last_timings_", {}) or {})
        if fit_seconds is not None:
            details[f"strategy {strategy}"] = {"fit": fit_seconds, **details[f"strategy {strategy}"]}
    # On a shared machine a roof measured once can land in a busy moment; the better of two, taken
    # before and after the stages, is the closer estimate of what the hardware can do.
    peak = max(peak, matmul_peak_gflops(device))
    bandwidth = max(bandwidth, memory_bandwidth_gbs(device))
    results = [replace(r, roof=peak if r.unit == "GFLOP/s" else bandwidth) if r.roof is not None else r
               for r in results]
    peak_cuda = None
    if device == "cuda":
        import torch

        peak_cuda = torch.cuda.max_memory_allocated() / 2**20
    return ProfileReport(machine=machine_description(), device=device, n_samples=n, n_features=d, delta=delta,
                         matmul_peak_gflops=peak, bandwidth_gbs=bandwidth, stages=results,
                         peak_rss_mib=_peak_rss_mib(), peak_cuda_mib=peak_cuda, details=details)


def _timed(fn: Callable[[], object], device: str) -> Tuple[float, object]:
    _sync(device)
    start = time.perf_counter()
    out = fn()
    _sync(device)
    return time.perf_counter() - start, out


def _takes_delta(strategy: str) -> bool:
    return strategy in ("probcover", "npc", "weighted_npc", "maxherding", "maxherding_nas")


def _synthetic_labeled(X: np.ndarray, n_labeled: int, n_classes: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """A random labeled subset with labels from the nearest of ``n_classes`` random centres (learnable)."""
    rng = np.random.default_rng(seed)
    labeled = np.sort(rng.choice(X.shape[0], min(n_labeled, X.shape[0]), replace=False)).astype(np.int64)
    centres = X[rng.choice(X.shape[0], n_classes, replace=False)]
    labels = np.argmax(X[labeled] @ centres.T, axis=1).astype(np.int64)
    return labeled, labels
