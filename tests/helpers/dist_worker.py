"""One rank of the distributed tests: ``python -m helpers.dist_worker TASK OUT`` (see helpers.distributed).

Each task writes ``OUT/rank{R}.npz`` with what the parent test compares against the one-process result.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np


def pool(n: int = 301, d: int = 8, seed: int = 0) -> np.ndarray:
    """Clusters with exact duplicates (ties in gains and distances) and a few outliers."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((6, d)).astype(np.float32)
    X = centres[rng.integers(0, 6, n)] + 0.35 * rng.standard_normal((n, d)).astype(np.float32)
    X[::17] = X[1::17][: X[::17].shape[0]]  # duplicates
    X[-3:] = 4.0 * rng.standard_normal((3, d))
    return X.astype(np.float32)


def task_graph(comm, out: dict) -> None:
    from nas.distributed import shard_range, sharded_radius_graph

    X = pool()
    start, stop = shard_range(X.shape[0], comm.rank, comm.world)
    for metric, delta in (("cosine", 0.12), ("euclidean", 1.1)):
        g = sharded_radius_graph(X[start:stop], delta, comm, metric=metric, tile_rows=64)
        full = g.gather(comm)
        out[f"{metric}_indptr"], out[f"{metric}_indices"], out[f"{metric}_dist"] = full.indptr, full.indices, full.dist
        out[f"{metric}_local_rows"] = np.array([g.start, g.stop])


def _scenarios(comm, make_backend, rng_seed=3):
    """The same call sequence on a backend; returns {name: picks/gains} (used for both backends)."""
    res = {}
    clean = np.array([5, 40, 41, 200, 300])
    noisy = np.array([7, 120, 121, 250])
    for tie in ("lowest", "random"):
        # ProbCover: plain greedy
        b = make_backend()
        rng = np.random.default_rng(rng_seed)
        p, g = b.pick(25, tie, rng)
        res[f"probcover_{tie}"], res[f"probcover_{tie}_gains"] = p, g
        q = b.peek(tie, rng)
        res[f"probcover_{tie}_peek"] = np.array(q)
        # NPC: clean cover, labeled excluded
        b = make_backend()
        b.cover(clean)
        b.exclude(np.concatenate([clean, noisy]))
        rng = np.random.default_rng(rng_seed + 1)
        p, g = b.pick(20, tie, rng)
        res[f"npc_{tie}"], res[f"npc_{tie}_gains"] = p, g
        # Weighted NPC, both weight modes, on a copy of a pristine state
        pristine = make_backend()
        for per_source in (False, True):
            b = pristine.copy()
            b.discount(noisy, 0.6, per_source)
            b.cover(clean)
            b.exclude(np.concatenate([clean, noisy]))
            rng = np.random.default_rng(rng_seed + 2)
            p, g = b.pick(30, tie, rng)
            q = b.peek(tie, rng)
            key = f"wnpc_{int(per_source)}_{tie}"
            res[key], res[key + "_gains"], res[key + "_peek"] = p, g, np.array(q)
        # past exhaustion: the late picks are ties among equal gains
        b = make_backend()
        rng = np.random.default_rng(rng_seed + 3)
        p, g = b.pick(120, tie, rng)
        res[f"exhaust_{tie}"], res[f"exhaust_{tie}_gains"] = p, g
    return res


def task_picks(comm, out: dict) -> None:
    from nas.distributed import DistributedCoverage, shard_range, sharded_radius_graph
    from nas.strategies._coverage import KernelCoverage

    X = pool()
    start, stop = shard_range(X.shape[0], comm.rank, comm.world)
    g = sharded_radius_graph(X[start:stop], 0.12, comm, metric="cosine")
    full = g.gather(comm)
    for k, v in _scenarios(comm, lambda: DistributedCoverage(g, comm)).items():
        out[f"dist_{k}"] = v
    for k, v in _scenarios(comm, lambda: KernelCoverage(full)).items():
        out[f"single_{k}"] = v
    for tie in ("lowest", "random"):  # balls broadcast after the offers instead of riding in them
        b = DistributedCoverage(g, comm)
        b.fused = False
        out[f"dist_unfused_{tie}"], out[f"dist_unfused_{tie}_gains"] = b.pick(40, tie, np.random.default_rng(9))
        b = KernelCoverage(full)
        out[f"single_unfused_{tie}"], out[f"single_unfused_{tie}_gains"] = b.pick(40, tie, np.random.default_rng(9))


def task_nas(comm, out: dict) -> None:
    from nas.filters import make_filter
    from nas.meta import make_selector

    X = pool(n=240)
    y = np.repeat(np.arange(4), 60)
    rng = np.random.default_rng(0)
    noisy_y = np.where(rng.random(240) < 0.25, rng.integers(0, 4, 240), y)
    for name, extra in (("npc", {}), ("weighted_npc", {})):
        for distributed in (True, False):
            sel = make_selector(name, make_filter("knn"), n_classes=4, delta=0.15, tie_break="random", distributed=distributed,
                                nas_kwargs={"random_state": 7, "progress": False}, **extra)
            result = sel.run(X, 12, lambda idx: noisy_y[idx])
            out[f"{name}_{int(distributed)}"] = np.asarray(result.labeled)


def task_fault(comm, out: dict) -> None:
    """Rank 1 dies in the middle of a selection; the others must fail with DistributedError in time."""
    from nas.distributed import DistributedError
    from nas.strategies import ProbCover

    X = pool()
    strategy = ProbCover(0.12, tie_break="lowest", distributed=True)
    strategy.fit(X)
    if comm.rank == 1:
        os._exit(3)
    t0 = time.perf_counter()
    try:
        strategy.select(X, 10)
    except DistributedError as exc:
        out["error"] = np.array(str(exc))
    out["seconds"] = np.array(time.perf_counter() - t0)


CLASSES = ["a", "b", "c", "d"]


def ws_answers(samples) -> list:
    """The (noisy, fixed) label an annotator gives each sample of pool(n=240)."""
    rng = np.random.default_rng(11)
    truth = np.repeat(np.arange(4), 60)
    given = np.where(rng.random(240) < 0.2, rng.integers(0, 4, 240), truth)
    return [(int(i), CLASSES[given[i]]) for i in samples]


def task_ws_fault(comm, out: dict) -> None:
    """Round 2 of a workspace on all ranks, then round 3 with rank 1 dying inside the greedy."""
    from nas.distributed import DistributedCoverage, DistributedError
    from nas.workspace import Workspace

    with Workspace.open(os.environ["NAS_TEST_WS"]) as ws:
        q = ws.query()
        out["round2"] = q.samples
        if comm.rank == 0:
            ws.annotate(ws_answers(q.samples))
        comm.barrier()
        if comm.rank == 1:
            np.savez(Path(sys.argv[2]) / "rank1.npz", **out)  # written before this rank dies
            DistributedCoverage.pick = lambda *args, **kwargs: os._exit(3)
        try:
            ws.query()
        except DistributedError as exc:
            out["error"] = np.array(str(exc))


def main() -> None:
    task, out_dir = sys.argv[1], Path(sys.argv[2])
    from nas.distributed import init_distributed

    comm = init_distributed()
    out: dict = {}
    for name in task.split(","):
        t0 = time.perf_counter()
        globals()[f"task_{name}"](comm, out)
        out[f"seconds_{name}"] = np.array(time.perf_counter() - t0)
    np.savez(out_dir / f"rank{comm.rank}.npz", **out)
    import torch.distributed as dist

    if "fault" not in task:
        comm.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
