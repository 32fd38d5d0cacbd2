"""Shared pieces of the benchmarks: machine description, hardware roofs measured in-process, timing."""
from __future__ import annotations

import os
import platform
import resource
import time
from typing import Callable, Tuple

import numpy as np
import torch


def machine() -> str:
    """One line naming the CPU, cores, memory and library versions."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import nas_ext

    info = nas_ext.build_info()
    return (f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM; Python {platform.python_version()}, "
            f"numpy {np.__version__}, torch {torch.__version__}; nas_ext {info['version']} "
            f"(OpenMP threads {info['openmp_threads']}, CUDA build {info['cuda']})")


def timeit(fn: Callable, *, repeat: int = 3, warmup: int = 1) -> Tuple[float, object]:
    """Best wall time of ``repeat`` calls after ``warmup`` calls; returns (seconds, last result)."""
    out = None
    for _ in range(warmup):
        out = fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def matmul_peak_gflops(n: int = 2048, d: int = 384) -> float:
    """Measured fp32 GFLOP/s of torch.matmul on an (n x d) @ (d x n) product, the shape of a graph tile."""
    a = torch.randn(n, d)
    b = torch.randn(d, n)
    out = torch.empty(n, n)
    seconds, _ = timeit(lambda: torch.matmul(a, b, out=out), repeat=5, warmup=2)
    return 2.0 * n * n * d / seconds / 1e9


def memory_bandwidth_gbs(n_bytes: int = 1 << 28) -> float:
    """Measured copy bandwidth in GB/s (bytes read + bytes written), numpy memcpy of a large buffer."""
    src = np.ones(n_bytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    seconds, _ = timeit(lambda: np.copyto(dst, src), repeat=5, warmup=1)
    return 2.0 * n_bytes / seconds / 1e9


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def clustered_embeddings(n: int, d: int = 384, n_clusters: int = 100, *, spread: float = 0.35,
                         seed: int = 0) -> np.ndarray:
    """SSL-like synthetic features: a mixture of Gaussian clusters in d dimensions, L2-normalised rows."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    assign = rng.integers(0, n_clusters, size=n)
    X = centres[assign] + (spread / np.sqrt(d)) * rng.standard_normal((n, d)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32)
