"""`nas bench --distributed`: time the sharded graph build and the distributed greedy on every rank.

Every rank runs the same stages on its block of rows; rank 0 gathers the per-rank numbers and reports
the slowest rank's wall time per stage (the one the others wait for), edges and picks per second, and the
communication cost per pick: the seconds spent inside collectives and their count.
"""
from __future__ import annotations

import time
from typing import Dict, Optional

import numpy as np

from ._comm import Comm
from .coverage import DistributedCoverage
from .graph import sharded_radius_graph
from ._comm import shard_range

__all__ = ["profile_distributed", "report_text"]


def profile_distributed(X, comm: Comm, *, delta: float, picks: int, metric: str = "cosine",
                        tie_break: str = "lowest", seed: int = 0) -> Optional[Dict]:
    """Profile on all ranks; returns the report dict on rank 0 and None elsewhere.

    ``X``: the full pool (a memmap is enough, each rank reads only its rows). ``picks``: greedy picks to time.
    """
    start, stop = shard_range(X.shape[0], comm.rank, comm.world)
    X_local = np.ascontiguousarray(X[start:stop], dtype=np.float32)
    comm.barrier()
    t0 = time.perf_counter()
    graph = sharded_radius_graph(X_local, delta, comm, metric=metric)
    build = time.perf_counter() - t0
    comm.barrier()
    t1 = time.perf_counter()
    backend = DistributedCoverage(graph, comm)
    setup = time.perf_counter() - t1
    comm.barrier()
    before_s, before_calls = comm.seconds, comm.calls
    t2 = time.perf_counter()
    backend.pick(picks, tie_break, np.random.default_rng(seed))
    pick_s = time.perf_counter() - t2
    comm_s, calls = comm.seconds - before_s, comm.calls - before_calls
    mine = np.array([build, setup, pick_s, comm_s, calls, graph.nnz_local, graph.n_local], dtype=np.float64)
    every = comm.all_gather(mine)
    if comm.rank != 0:
        return None
    edges = float(every[:, 5].sum())
    worst = every.max(axis=0)
    return {
        "world_size": comm.world, "backend": comm.backend, "n": int(X.shape[0]), "d": int(X.shape[1]),
        "delta": float(delta), "metric": metric, "edges": edges, "picks": int(picks), "tie_break": tie_break,
        "graph_seconds": float(worst[0]), "edges_per_second": edges / float(worst[0]),
        "state_seconds": float(worst[1]), "pick_seconds": float(worst[2]),
        "picks_per_second": picks / float(worst[2]),
        "comm_seconds_per_pick": float(every[:, 3].mean()) / picks,
        "collectives_per_pick": float(every[0, 4]) / picks,
        "comm_fraction": float(every[:, 3].mean()) / float(worst[2]),
        "rows_per_rank": every[:, 6].astype(int).tolist(), "edges_per_rank": every[:, 5].astype(int).tolist(),
    }


def report_text(r: Dict) -> str:
    lines = [f"distributed selection: {r['world_size']} ranks ({r['backend']}), n={r['n']}, d={r['d']}, "
             f"{r['metric']} delta={r['delta']:.4g}",
             f"  sharded radius graph  {r['graph_seconds']:9.3f} s   {r['edges']:.0f} edges, "
             f"{r['edges_per_second']:.3g} edges/s (rows per rank {r['rows_per_rank']})",
             f"  coverage state        {r['state_seconds']:9.3f} s",
             f"  greedy picks          {r['pick_seconds']:9.3f} s   {r['picks']} picks ({r['tie_break']} ties), "
             f"{r['picks_per_second']:.3g} picks/s",
             f"  communication         {1e6 * r['comm_seconds_per_pick']:9.1f} us per pick, "
             f"{r['collectives_per_pick']:.1f} collectives per pick, {100 * r['comm_fraction']:.0f}% of the pick time"]
    return "\n".join(lines)
