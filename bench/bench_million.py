"""A million-row pool on one machine: the radius graph of a 1M x 384 Clothing1M-like pool, measured and verified.

1. Writes the pool (bench/_pool.py) unless it exists, opens it as a memmap and builds the cosine radius graph
   with ``method="cells"`` (exact cell pruning): seconds per stage, edges, peak RSS of the build.
2. Verifies the graph against the exact rule on a random subsample of rows: each sampled row's neighbours
   recomputed by brute force over all N rows (float64 products of the kernel's float32 rows) -> recall and
   precision of the edges (both must be 1: the pruning is a proof, not a heuristic).
3. Unless ``--no-low-memory``: the same build in a child process with ``low_memory=True`` (working copy in a temporary
   file, pages released as the tiles stream): its peak RSS against the feature file's size.

Usage: python bench/bench_million.py [--n 1000000] [--pool DIR] [--degree 32] [--verify 500] [--no-low-memory]
The end-to-end NAS round on the same pool is `nas simulate` (see bench/RESULTS.md for the command).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, matmul_peak_gflops  # noqa: E402
from _pool import write_pool  # noqa: E402

TITLE = "Million-row pools: the cell-pruned exact radius graph at 1M x 384"


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def build(path: str, delta: float, low_memory: bool) -> dict:
    """One radius_graph build on the memmapped pool; returns timings, edges, RSS (MiB) and the graph path."""
    import nas_ext

    X = np.load(path, mmap_mode="r")
    rss_before = _rss_kib("VmRSS") / 1024.0
    t0 = time.perf_counter()
    g = nas_ext.radius_graph(X, delta, metric="cosine", method="cells", low_memory=low_memory, progress=True)
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "edges": g.nnz, "mean_degree": g.nnz / g.n, "meta": g.meta,
           "rss_before_mib": rss_before, "peak_rss_mib": _rss_kib("VmHWM") / 1024.0,
           "csr_mib": (g.indptr.nbytes + g.indices.nbytes + g.dist.nbytes) / 2**20}
    return out, g


def verify(path: str, g, delta: float, n_rows: int, seed: int = 0) -> dict:
    """Edge recall / precision of ``g`` on ``n_rows`` random rows against a brute-force scan of all rows."""
    from nas_ext._rows import prepare_block

    X = np.load(path, mmap_mode="r")
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=n_rows, replace=False))
    q, _ = prepare_block(X[sample], "cosine", None)
    q64 = q.astype(np.float64)
    truth = [[] for _ in sample]
    for start in range(0, n, 65536):
        rows, _ = prepare_block(X[start:start + 65536], "cosine", None)
        dist = np.maximum(0.0, 1.0 - q64 @ rows.astype(np.float64).T).astype(np.float32)
        hit_r, hit_c = np.nonzero(dist < np.float32(delta))
        for r, c in zip(hit_r, hit_c):
            truth[r].append(start + c)
    found = exact = common = 0
    for r, i in enumerate(sample):
        mine = set(g.indices[g.indptr[i]:g.indptr[i + 1]].tolist())
        ref = set(truth[r])
        found, exact, common = found + len(mine), exact + len(ref), common + len(mine & ref)
    return {"rows": n_rows, "exact_edges": exact, "graph_edges": found, "recall": common / max(exact, 1),
            "precision": common / max(found, 1)}


def report(n: int, pool_dir: str, degree: float = 32.0, delta=None, n_verify: int = 500,
           low_memory: bool = True) -> str:
    """Write the pool if needed, build, verify and (``low_memory``) rebuild streamed; the markdown section."""
    pool = Path(pool_dir)
    path = str(pool / "features.npy")
    if not (pool / "features.npy").exists() or np.load(path, mmap_mode="r").shape[0] != n:
        t0 = time.perf_counter()
        write_pool(pool, n)
        print(f"pool written in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    from nas.profiling import choose_delta

    X = np.load(path, mmap_mode="r")
    delta = delta or choose_delta(X, degree, columns=50_000)
    roof = matmul_peak_gflops()
    result, g = build(path, delta, low_memory=False)
    roof = max(roof, matmul_peak_gflops())
    n, d = X.shape
    fraction = result["meta"]["work_fraction"]
    lines = [f"Machine: {machine()} (shared with other developers' jobs; load average {os.getloadavg()[0]:.1f})",
             "", f"Pool: {n:,} x {d} float32 memmap ({os.path.getsize(path) / 2**30:.2f} GiB), bench/_pool.py "
             f"(14 classes x 20 modes), cosine delta = {delta:.4f} (mean degree ~{degree:g} from a sample).",
             "", "| stage | seconds |", "|---|---:|"]
    for stage, seconds in result["meta"]["seconds"].items():
        lines.append(f"| {stage} | {seconds:.1f} |")
    flops = fraction * n * (n + 1) / 2 * 2 * d
    lines += [f"| **total** | **{result['seconds']:.1f}** |", "",
              f"Edges: {result['edges']:,} directed (mean degree {result['mean_degree']:.1f}), CSR "
              f"{result['csr_mib']:.0f} MiB; {result['meta']['n_cells']} cells, {result['meta']['cell_pairs']:,} "
              f"cell pairs kept, {100 * fraction:.2f}% of the dense n(n+1)/2 row pairs computed "
              f"({flops / result['seconds'] / 1e9:.0f} GFLOP/s of useful GEMM over the whole build, matmul roof "
              f"{roof:.0f} GFLOP/s); the dense kernel would compute {n * (n + 1) * d / 1e12:.0f} TFLOP "
              f"(~{n * (n + 1) * d / (0.53 * roof * 1e9) / 60:.0f} min at its measured 53% of the roof).",
              f"Peak RSS of the process {result['peak_rss_mib']:.0f} MiB (features memmapped; the float32 working "
              "copy in memory)."]
    if n_verify:
        t0 = time.perf_counter()
        v = verify(path, g, delta, n_verify)
        lines.append(f"Verification on {v['rows']} random rows against a brute-force scan of all {n:,} rows "
                     f"({time.perf_counter() - t0:.0f} s): {v['exact_edges']:,} exact edges, {v['graph_edges']:,} in "
                     f"the graph, edge recall **{v['recall']:.4f}**, precision **{v['precision']:.4f}**.")
    del g
    if low_memory:
        child = subprocess.run([sys.executable, __file__, "--child", "--pool", str(pool), "--delta", repr(delta)],
                               capture_output=True, text=True, check=True)
        low = json.loads(child.stdout.strip().splitlines()[-1])
        lines.append(f"low_memory=True in a fresh process: {low['seconds']:.1f} s, {low['edges']:,} edges, peak RSS "
                     f"**{low['peak_rss_mib']:.0f} MiB** for a {os.path.getsize(path) / 2**20:.0f} MiB feature file "
                     f"(RSS before the call {low['rss_before_mib']:.0f} MiB; CSR {low['csr_mib']:.0f} MiB).")
    return "\n".join(lines)


def run(quick: bool) -> str:
    """`make bench`: 1M rows (about 15 minutes on 2 shared cores; --quick: 100k rows)."""
    n = 100_000 if quick else 1_000_000
    return report(n, f"/tmp/nas_pool_{n}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--pool", help="pool directory (default /tmp/nas_pool_N)")
    parser.add_argument("--degree", type=float, default=32.0)
    parser.add_argument("--delta", type=float)
    parser.add_argument("--verify", type=int, default=500)
    parser.add_argument("--no-low-memory", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pool = args.pool or f"/tmp/nas_pool_{args.n}"
    if args.child:  # a fresh process, so that VmHWM is the build's own
        result, _ = build(str(Path(pool) / "features.npy"), args.delta, low_memory=True)
        print(json.dumps(result))
        return
    print(report(args.n, pool, args.degree, args.delta, args.verify, not args.no_low_memory))


if __name__ == "__main__":
    main()
