"""Distributed selection on gloo: the sharded radius graph and the distributed greedy at 1, 2 and 4 ranks
(torchrun on this machine, 127.0.0.1), against one-process nas_ext.radius_graph + CoverageState.pick run
in this process on the same pool. The number that matters for scaling out is the communication cost per
pick (seconds inside collectives, and how many), since a pick is a collective on every rank.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TITLE = "Distributed selection (torch.distributed, gloo): sharded graph and greedy picks vs world size"

ROOT = Path(__file__).resolve().parents[1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(world: int, n: int, d: int, delta: float, picks: int, tie_break: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo")
    cmd = [sys.executable, "-P", "-m", "torch.distributed.run", "--nproc-per-node", str(world), "--master-addr",
           "127.0.0.1", "--master-port", str(_port()), "-m", "nas", "bench", "--distributed", "--samples", str(n),
           "--dim", str(d), "--delta", repr(delta), "--picks", str(picks), "--tie-break", tie_break, "--json"]
    # cwd outside the source tree: the ranks must import the installed nas_ext, not the uncompiled sources.
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=True,
                         cwd=tempfile.gettempdir()).stdout
    return json.loads(out[out.index("{"):])


def run(quick: bool) -> str:
    import torch

    import nas_ext
    from nas.profiling import choose_delta, synthetic_features

    n, d, picks = (6000, 64, 200) if quick else (16000, 128, 500)
    worlds = (1, 2) if quick else (1, 2, 4)
    X = synthetic_features(n, d, seed=0)
    delta = choose_delta(X, 32.0, seed=0)
    torch.set_num_threads(1)
    nas_ext.set_num_threads(1)
    t0 = time.perf_counter()
    graph = nas_ext.radius_graph(X, delta)
    base_graph = time.perf_counter() - t0
    state = nas_ext.CoverageState(graph)
    t0 = time.perf_counter()
    state.pick(picks)
    base_pick = time.perf_counter() - t0
    rows = []
    for tie in ("lowest", "random"):
        for world in worlds:
            r = _launch(world, n, d, delta, picks, tie)
            rows.append((tie, world, r))
    lines = [f"Pool: synthetic clustered cosine features n={n}, d={d}, delta={delta:.4g} ({graph.nnz} edges, "
             f"mean degree {graph.nnz / n:.1f}), {picks} ProbCover picks; OMP_NUM_THREADS=1 per rank. "
             f"One process in this process: graph {base_graph:.3f} s, {picks} picks {1e3 * base_pick:.1f} ms "
             f"({picks / base_pick:.3g} picks/s).", "",
             "| ties | ranks | graph s (slowest rank) | graph vs 1 process | picks/s | comm us/pick | collectives/pick | comm share of pick time |",
             "|---|---|---|---|---|---|---|---|"]
    for tie, world, r in rows:
        lines.append(f"| {tie} | {world} | {r['graph_seconds']:.3f} | {base_graph / r['graph_seconds']:.2f}x | "
                     f"{r['picks_per_second']:.0f} | {1e6 * r['comm_seconds_per_pick']:.0f} | "
                     f"{r['collectives_per_pick']:.1f} | {100 * r['comm_fraction']:.0f}% |")
    lines.append("")
    lines.append("Edges of every run equal the one-process graph (tests/nas/distributed); the pick sequences too.")
    return "\n".join(lines)


if __name__ == "__main__":
    print(run("--quick" in sys.argv))
