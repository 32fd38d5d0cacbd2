"""The CUDA kernels at million-sample scale, against the hardware and the reference approaches on the same GPU.

- radius_graph, N = 1M, d = 768, cosine, delta for an average degree of ~50: wall time (count pass, edge
  count, fill pass, per-row sort) and achieved TFLOP/s over the nominal 2·N²·d of a full distance matrix.
- 1000 CoverageState picks on that graph vs the reference per-pick approach (edge table; per pick a
  bincount over the remaining edges, argmax, isin-filter of the edges into the newly covered nodes) run
  with torch on the same GPU for the first picks, which must be the same picks.
- diffuse on a symmetric kNN graph (N = 1M, k = 10, 10 steps) against the copy bandwidth measured here.
- CPU vs GPU for every kernel at N = 100k.
Without a CUDA device (or a CUDA build) the section says "skipped: no CUDA device".
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, Tuple

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nas_ext  # noqa: E402

TITLE = "CUDA kernels (GPU)"
N_CLUSTERS = 100
TARGET_DEGREE = 50
SKIPPED = "skipped: no CUDA device"


def gpu_usable() -> bool:
    return bool(nas_ext.build_info()["cuda"]) and torch.cuda.is_available()


def gpu_timed(fn: Callable, *, repeat: int = 1) -> Tuple[float, object]:
    """Best wall time of ``repeat`` calls, each ending with a device synchronisation."""
    best, out = float("inf"), None
    for _ in range(repeat):
        torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best, out


def clustered_embeddings_gpu(n: int, d: int, *, spread: float = 0.35, seed: int = 0) -> torch.Tensor:
    """bench/_common.clustered_embeddings generated on the GPU (Gaussian clusters, L2-normalised rows)."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    centres = torch.randn(N_CLUSTERS, d, device="cuda", generator=g)
    centres /= centres.norm(dim=1, keepdim=True)
    assign = torch.randint(0, N_CLUSTERS, (n,), device="cuda", generator=g)
    X = centres[assign]
    X += (spread / d ** 0.5) * torch.randn(n, d, device="cuda", generator=g)
    X /= X.norm(dim=1, keepdim=True)
    return X


def delta_for_degree(X: torch.Tensor, degree: float, *, sample: int = 256, seed: int = 0) -> float:
    """Cosine radius giving about ``degree`` neighbours per row (self-loop included): the quantile of the
    distances from a row sample to all rows (rows of X are unit vectors)."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    rows = X[torch.randperm(X.shape[0], device="cuda", generator=g)[:sample]]
    dist = (1.0 - rows @ X.T).flatten()
    k = max(1, int(round(degree / X.shape[0] * dist.numel())))
    return float(torch.kthvalue(dist, k).values)


def copy_bandwidth_gbs(n_bytes: int = 1 << 30) -> float:
    """Device memory bandwidth measured by a large device-to-device copy (bytes read + written)."""
    src = torch.ones(n_bytes // 4, device="cuda")
    dst = torch.empty_like(src)
    seconds, _ = gpu_timed(lambda: dst.copy_(src), repeat=5)
    return 2.0 * n_bytes / seconds / 1e9


class ReferenceGreedy:
    """The reference ProbCover selection with torch on the GPU: an edge table re-filtered on every pick."""

    def __init__(self, graph) -> None:
        self.n = graph.n
        self.src = graph.rows()
        self.dst = graph.indices.to(torch.int64)
        self.picked = torch.zeros(self.n, dtype=torch.bool, device="cuda")

    def pick(self) -> int:
        degree = torch.bincount(self.src, minlength=self.n)
        degree[self.picked] = -1
        best = int(torch.argmax(degree))  # first maximum: the lowest index
        self.picked[best] = True
        covered = self.dst[self.src == best]
        keep = ~torch.isin(self.dst, covered)
        self.src, self.dst = self.src[keep], self.dst[keep]
        return best


def diffusion_bytes(graph, m: int = 1, value_bytes: int = 8) -> int:
    """Bytes one Euler step must move: indptr, indices and weights once, the row coefficients, the values
    read once (gathers that hit the cache are not counted twice) and written once."""
    return 8 * (graph.n + 1) + 8 * graph.nnz + (value_bytes + 2 * value_bytes * m) * graph.n


def _radius_section(n: int, d: int) -> Tuple[str, object, float]:
    X = clustered_embeddings_gpu(n, d)
    delta = delta_for_degree(X, TARGET_DEGREE)
    nas_ext.radius_graph(X[:4096], delta, device="cuda")  # load the kernels
    seconds, graph = gpu_timed(lambda: nas_ext.radius_graph(X, delta, device="cuda"))
    tflops = 2.0 * n * n * d / seconds / 1e12
    text = (f"| radius_graph N={n:,} d={d} | {seconds:.2f} s | {tflops:.1f} TFLOP/s (nominal 2·N²·d) | "
            f"delta={delta:.4f}, {graph.nnz:,} edges, mean degree {graph.nnz / n:.1f} |")
    return text, graph, seconds


def _coverage_section(graph, picks: int, reference_picks: int) -> str:
    state = nas_ext.CoverageState(graph, device="cuda")
    seconds, (chosen, _) = gpu_timed(lambda: state.pick(picks))
    reference = ReferenceGreedy(graph)
    ref_seconds, ref_chosen = gpu_timed(lambda: [reference.pick() for _ in range(reference_picks)])
    same = ref_chosen == chosen[:reference_picks].tolist()
    per_pick, ref_per_pick = seconds / picks, ref_seconds / reference_picks
    return (f"| CoverageState.pick x{picks} | {seconds:.3f} s ({per_pick * 1e3:.3f} ms/pick) | "
            f"{ref_per_pick / per_pick:.0f}x the reference per pick ({ref_per_pick * 1e3:.1f} ms/pick over "
            f"{reference_picks} picks) | same first {reference_picks} picks: {same} |")


def _diffusion_section(n: int, bandwidth: float) -> str:
    g = torch.Generator(device="cuda").manual_seed(1)
    points = torch.randn(n, 32, device="cuda", generator=g)
    knn_seconds, graph = gpu_timed(lambda: nas_ext.knn_graph(points, 10, device="cuda"))
    weights = nas_ext.gaussian_weights(graph)
    values = torch.rand(n, dtype=torch.float64, device="cuda", generator=g)
    fixed = torch.randperm(n, device="cuda", generator=g)[: n // 100]
    run = lambda: nas_ext.diffuse(graph, values, weights=weights, n_steps=10, fixed=fixed, device="cuda")  # noqa: E731
    run()
    seconds, _ = gpu_timed(run, repeat=5)
    gbs = 10 * diffusion_bytes(graph) / seconds / 1e9
    return (f"| diffuse N={n:,} k=10 (symmetric, {graph.nnz:,} edges), 10 steps | {seconds * 1e3:.2f} ms | "
            f"{gbs:.0f} GB/s = {100 * gbs / bandwidth:.0f}% of the measured {bandwidth:.0f} GB/s | "
            f"knn_graph build (d=32): {knn_seconds:.2f} s |")


def _cpu_vs_gpu(n: int) -> str:
    rng = np.random.default_rng(0)
    X_gpu = clustered_embeddings_gpu(n, 384, seed=3)
    X = X_gpu.cpu().numpy()
    delta = delta_for_degree(X_gpu, TARGET_DEGREE)
    low_dim = rng.standard_normal((n, 32)).astype(np.float32)
    rows = []

    def compare(name: str, cpu_fn: Callable, gpu_fn: Callable) -> object:
        gpu_fn()
        cpu_seconds = min(_wall(cpu_fn) for _ in range(2))
        gpu_seconds, out = gpu_timed(gpu_fn, repeat=3)
        rows.append(f"| {name} | {cpu_seconds:.3f} s | {gpu_seconds:.4f} s | {cpu_seconds / gpu_seconds:.1f}x |")
        return out

    graph = nas_ext.radius_graph(X, delta)
    compare("radius_graph (d=384, degree ~50)", lambda: nas_ext.radius_graph(X, delta),
            lambda: nas_ext.radius_graph(X_gpu, delta, device="cuda"))
    gpu_graph, picks = graph.to("cuda"), min(1000, n)
    compare(f"CoverageState + {picks} picks", lambda: nas_ext.CoverageState(graph).pick(picks),
            lambda: nas_ext.CoverageState(gpu_graph, device="cuda").pick(picks))
    knn = nas_ext.knn_graph(low_dim, 10)
    compare("knn_graph (d=32, k=10)", lambda: nas_ext.knn_graph(low_dim, 10),
            lambda: nas_ext.knn_graph(torch.from_numpy(low_dim).cuda(), 10, device="cuda"))
    values = rng.uniform(0, 1, n)
    gpu_knn, gpu_values = knn.to("cuda"), torch.from_numpy(values).cuda()
    compare("diffuse (k=10, 10 steps)", lambda: nas_ext.diffuse(knn, values),
            lambda: nas_ext.diffuse(gpu_knn, gpu_values, device="cuda"))
    compare("kcenter_greedy (d=384, 100 picks)", lambda: nas_ext.kcenter_greedy(X, 100),
            lambda: nas_ext.kcenter_greedy(X_gpu, 100, device="cuda"))
    header = f"CPU vs GPU at N = {n:,} (CPU: nas_ext with {nas_ext.build_info()['openmp_threads']} OpenMP threads)\n\n"
    return header + "| kernel | CPU | GPU | GPU speed-up |\n|---|---|---|---|\n" + "\n".join(rows)


def _wall(fn: Callable) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(quick: bool = False) -> str:
    if not gpu_usable():
        print(SKIPPED)
        return SKIPPED
    n_big = 100_000 if quick else 1_000_000
    n_small = 20_000 if quick else 100_000
    bandwidth = copy_bandwidth_gbs()
    props = torch.cuda.get_device_properties(0)
    lines = [f"Device: {torch.cuda.get_device_name(0)} ({props.multi_processor_count} SMs, "
             f"{props.total_memory / 2**30:.0f} GiB), nas_ext CUDA {nas_ext.build_info()['cuda_version']}, "
             f"torch {torch.__version__}; measured copy bandwidth {bandwidth:.0f} GB/s.", "",
             "| kernel | time | throughput / ratio | notes |", "|---|---|---|---|"]
    radius_line, graph, _ = _radius_section(n_big, 768)
    lines.append(radius_line)
    lines.append(_coverage_section(graph, 1000, 10 if quick else 20))
    del graph
    torch.cuda.empty_cache()
    lines.append(_diffusion_section(n_big, bandwidth))
    lines += ["", _cpu_vs_gpu(n_small)]
    return "\n".join(lines)


if __name__ == "__main__":
    section = run("--quick" in sys.argv)
    if section != SKIPPED:  # run() has printed the skip line already
        print(section)
