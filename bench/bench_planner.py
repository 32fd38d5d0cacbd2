"""What Algorithm 2 (`nas plan`) costs on a large pool: a memory-mapped 1M x 384 pool against a 20k one.

The planner reads only ``max_samples`` (20k) random rows of the pool, fits KMeans on 10k of them, and trains its
R·(1 + ceil(log2(1/eps))) probes on N_o- or N_n-sized subsets, so its time should barely depend on the pool size:
the ratio below (1M pool / 20k pool, same process) is the check. Clothing1M-like settings: d = 384 (DINOv2
ViT-S/14), K = 14, B = 1000, c_o = 1, c_n = 0.2 (N_o = 1000, N_n = 5000), R = 5, eps = 1/32, 200 epochs.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TITLE = "Two-annotator planner (Algorithm 2) on a 1M-row pool"


def _pool(path: Path, n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.standard_normal((k, d)).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for start in range(0, n, 50_000):
        stop = min(n, start + 50_000)
        y = rng.integers(0, k, stop - start)
        out[start:stop] = centres[y] + rng.standard_normal((stop - start, d), dtype=np.float32)
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def run(quick: bool) -> str:
    from nas.planning import estimate_equilibrium_noise

    d, k = 384, 14
    sizes = (20_000, 200_000) if quick else (20_000, 1_000_000)
    rows = ["| pool rows | n0 | probes | read rows (s) | KMeans (s) | oracle arm (s) | search (s) | total (s) |",
            "|---|---|---|---|---|---|---|---|"]
    totals = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            X = _pool(Path(tmp) / f"pool{n}.npy", n, d, k)
            t0 = time.perf_counter()
            est = estimate_equilibrium_noise(X, budget=1000, cost_oracle=1.0, cost_noisy=0.2, n_classes=k,
                                             random_state=0)
            totals[n] = time.perf_counter() - t0
            s = est.seconds
            rows.append(f"| {n:,} | {est.n0:.3f} | {est.n_probes} | {s['read']:.2f} | {s['pseudo_labels']:.2f} | "
                        f"{s['oracle_arm']:.2f} | {s['search']:.2f} | {totals[n]:.1f} |")
            del X
    small, large = sizes
    return "\n".join(rows) + (f"\n\nRatio of total times, {large:,} rows / {small:,} rows: "
                              f"**{totals[large] / totals[small]:.2f}** (1.0 = independent of the pool size).")


if __name__ == "__main__":
    print(run("--quick" in sys.argv))
