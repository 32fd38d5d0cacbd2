"""radius_graph on CPU against torch's matmul peak, the reference 500-row-block approach and scikit-learn.

Data: SSL-like synthetic embeddings (100 Gaussian clusters, d = 384, L2-normalised), cosine metric, delta
chosen from a sample so that the average degree is about 50. Effective GFLOP/s counts the 2 N^2 d flops of
a full distance matrix (radius_graph computes only the half above the diagonal, so it can exceed the
matmul peak).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable, Tuple

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import clustered_embeddings, machine, matmul_peak_gflops, peak_rss_mib  # noqa: E402

import nas_ext  # noqa: E402

TITLE = "radius_graph (CPU): tiled GEMM + fused threshold/compaction"
D_FEATURES = 384
N_CLUSTERS = 100
TARGET_DEGREE = 50
REFERENCE_BLOCK = 500


def delta_for_degree(X: np.ndarray, degree: float, *, sample: int = 3000, seed: int = 0) -> float:
    """Cosine radius giving about ``degree`` neighbours per row (self-loop included), from a row sample.

    The fraction of off-diagonal sample pairs closer than delta estimates (degree - 1) / (N - 1).
    """
    rng = np.random.default_rng(seed)
    rows = X[rng.choice(X.shape[0], size=min(sample, X.shape[0]), replace=False)].astype(np.float64)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    dist = 1.0 - rows @ rows.T
    off_diagonal = dist[~np.eye(rows.shape[0], dtype=bool)]
    return float(np.quantile(off_diagonal, (degree - 1.0) / (X.shape[0] - 1.0)))


def reference_radius_graph(X: np.ndarray, delta: float, block: int = REFERENCE_BLOCK):
    """The reference approach: 500-row blocks, torch matmul against all rows, threshold, nonzero, gather.

    Tail rows included (the research code drops them). Returns the COO edge arrays (rows, cols, dist).
    """
    unit = torch.from_numpy(X / np.linalg.norm(X, axis=1, keepdims=True).astype(np.float32))
    rows, cols, dists = [], [], []
    for start in range(0, unit.shape[0], block):
        dist = 1.0 - unit[start:start + block] @ unit.T
        pairs = (dist < delta).nonzero()
        rows.append(pairs[:, 0] + start)
        cols.append(pairs[:, 1])
        dists.append(dist[pairs[:, 0], pairs[:, 1]])
    return torch.cat(rows).numpy(), torch.cat(cols).numpy(), torch.cat(dists).numpy()


def sklearn_radius_graph(X: np.ndarray, delta: float):
    """scikit-learn brute-force radius neighbours (cosine, all cores), as a CSR distance matrix."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(radius=delta, algorithm="brute", metric="cosine", n_jobs=-1).fit(X)
    return nn.radius_neighbors_graph(X, mode="distance")


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def timed_with_peak_memory(fn: Callable) -> Tuple[float, float, object]:
    """(seconds, peak resident-memory growth in MiB during the call, result) of one call.

    Linux: the peak RSS mark is reset first (/proc/self/clear_refs), so the growth is this call's own;
    elsewhere the process-lifetime peak is used, which only shows growth beyond earlier peaks.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = _rss_kib("VmRSS")
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
        return seconds, (_rss_kib("VmHWM") - before) / 1024.0, out
    except OSError:
        before = peak_rss_mib()
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
        return seconds, peak_rss_mib() - before, out


def run(quick: bool) -> str:
    sizes = (10_000, 20_000) if quick else (50_000, 100_000)
    sklearn_max = sizes[-1] if quick else 50_000
    nas_ext.radius_graph(clustered_embeddings(2000, D_FEATURES, N_CLUSTERS, seed=1), 0.1)  # warm-up
    threads = nas_ext.build_info()["openmp_threads"]
    lines = [
        f"Machine: {machine()}",
        "",
        f"Data: `clustered_embeddings(N, d={D_FEATURES}, n_clusters={N_CLUSTERS}, seed=0)` (L2-normalised), "
        f"cosine metric, delta from a 3000-row sample quantile for an average degree of ~{TARGET_DEGREE}. "
        f"torch threads {torch.get_num_threads()}, OpenMP threads {threads}. Effective GFLOP/s = 2 N^2 d / time. "
        f"Reference = {REFERENCE_BLOCK}-row torch blocks (matmul, threshold, nonzero, gather; COO out, "
        "tail rows included). scikit-learn = `NearestNeighbors(algorithm='brute', metric='cosine', n_jobs=-1)"
        ".radius_neighbors_graph(mode='distance')`. Memory = peak RSS growth during the call.",
        "",
        "| N | delta | avg degree | edges | time (s) | edges/s | eff. GFLOP/s | matmul peak GFLOP/s | "
        "ratio to peak | reference (s) | speed-up vs reference | scikit-learn (s) | speed-up vs sklearn | "
        "peak memory (MiB) | CSR (MiB) | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for n in sizes:
        X = clustered_embeddings(n, D_FEATURES, N_CLUSTERS, seed=0)
        delta = delta_for_degree(X, TARGET_DEGREE)
        peak_before = matmul_peak_gflops()
        seconds, memory, g = timed_with_peak_memory(lambda: nas_ext.radius_graph(X, delta, metric="cosine"))
        peak = max(peak_before, matmul_peak_gflops())
        ref_seconds, _, (ref_rows, _, _) = timed_with_peak_memory(lambda: reference_radius_graph(X, delta))
        if ref_rows.shape[0] != g.nnz:
            notes.append(f"N={n}: the reference found {ref_rows.shape[0]:,} edges, radius_graph {g.nnz:,} "
                         "(pairs within float32 rounding of delta).")
        if n <= sklearn_max:
            sk_seconds, _, sk = timed_with_peak_memory(lambda: sklearn_radius_graph(X, delta))
            sk_cell, sk_ratio = f"{sk_seconds:.1f}", f"{sk_seconds / seconds:.1f}x"
            notes.append(f"N={n}: scikit-learn found {sk.nnz:,} edges (its test is dist <= delta).")
        else:
            sk_cell, sk_ratio = "not run", "-"
            notes.append(f"N={n}: scikit-learn not run (it needs minutes here; the N={sklearn_max:,} row "
                         "gives its speed).")
        gflops = 2.0 * n * n * D_FEATURES / seconds / 1e9
        csr_mib = (g.indptr.nbytes + g.indices.nbytes + g.dist.nbytes) / 2**20
        lines.append(
            f"| {n:,} | {delta:.4f} | {g.nnz / n:.1f} | {g.nnz:,} | {seconds:.2f} | {g.nnz / seconds:,.0f} | "
            f"{gflops:.0f} | {peak:.0f} | {gflops / peak:.2f} | {ref_seconds:.2f} | {ref_seconds / seconds:.2f}x | "
            f"{sk_cell} | {sk_ratio} | {memory:.0f} | {csr_mib:.0f} | {os.getloadavg()[0]:.1f} |")
    lines += ["", "Targets: ratio to peak >= 0.75, speed-up vs reference >= 1.4x, faster than scikit-learn.",
              "Matmul peak = best of `matmul_peak_gflops()` measured just before and after the radius_graph call "
              "(the machine is shared; the load average column shows how busy it was)."]
    lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run("--quick" in sys.argv))
