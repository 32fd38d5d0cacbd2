"""Annotation rounds through a workspace (`nas query` / `nas annotate`) against NAS.run in one process.

A workspace round is a separate process in real use, so the strategy state of the previous round is
gone: the radius graph is cached in the workspace directory and adopted by the next round. Three ways
to run the same NPC rounds, all with the same picks (asserted):

- NAS.run: every share in one process, the strategy and its graph kept in memory (the floor);
- workspace, graph cached (the default): Workspace.query + annotate per round;
- workspace, graph rebuilt: the same with the cache file deleted before every query (what every round
  would cost without the cache).

Each round's query is timed in this process (imports already paid); the CLI adds one Python start-up
per command on top (measured separately).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import clustered_embeddings, machine  # noqa: E402

TITLE = "Workspace rounds: query/annotate per round vs NAS.run in one process"


def _rounds(directory: Path, features: Path, delta: float, rounds: int, annotator, *, keep_cache: bool):
    from nas.workspace import Workspace
    from nas.workspace.graph_cache import CACHE_DIR

    seconds, picks = [], []
    with Workspace.init(directory, features=features, classes=[str(c) for c in range(10)], strategy="npc",
                        filter="knn", strategy_params={"delta": delta}, seed=0) as ws:
        for _ in range(rounds):
            if not keep_cache:
                shutil.rmtree(directory / CACHE_DIR, ignore_errors=True)
            t0 = time.perf_counter()
            q = ws.query()
            seconds.append(time.perf_counter() - t0)
            picks.append(q.samples)
            ws.annotate([(int(s), int(y)) for s, y in zip(q.samples, annotator(q.samples))])
        config = ws.config
    return np.array(seconds), np.concatenate(picks), config


def run(quick: bool) -> str:
    from nas.noise import SimulatedAnnotator, SymmetricNoise
    from nas.profiling import choose_delta
    from nas.workspace.selection import build_selector

    n, d, rounds = (5000, 128, 4) if quick else (40000, 384, 6)
    X = clustered_embeddings(n, d, n_clusters=50, seed=0)
    truth = np.random.default_rng(1).integers(0, 10, n)
    delta = choose_delta(X, 50.0)

    def annotator():
        return SimulatedAnnotator(truth, SymmetricNoise(0.3), n_classes=10, random_state=2)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        features = tmp / "pool.npy"
        np.save(features, X)
        cached, picks_cached, config = _rounds(tmp / "cached", features, delta, rounds, annotator(), keep_cache=True)
        rebuilt, picks_rebuilt, _ = _rounds(tmp / "rebuilt", features, delta, rounds, annotator(), keep_cache=False)
        nas = build_selector(config, n_classes=10)
        t0 = time.perf_counter()
        result = nas.run(X, rounds * 10, annotator())
        in_process = time.perf_counter() - t0
        assert np.array_equal(picks_cached, result.labeled) and np.array_equal(picks_rebuilt, result.labeled)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nas", "status", str(tmp / "cached")], check=True,
                       capture_output=True)
        cli_status = time.perf_counter() - t0

    rows = [f"Machine: {machine()}", "",
            f"Pool {n} x {d} (50 clusters), 10 classes, 30 % symmetric noise, NPC + kNN filter, delta {delta:.3f}, "
            f"{rounds} rounds of 10; the picks of all three are identical.", "",
            "| | total query seconds | round 1 | later rounds (mean) | vs NAS.run |",
            "|---|---:|---:|---:|---:|"]
    for name, s in (("workspace, graph cached", cached), ("workspace, graph rebuilt", rebuilt)):
        rows.append(f"| {name} | {s.sum():.2f} | {s[0]:.2f} | {s[1:].mean():.3f} | {s.sum() / in_process:.2f}x |")
    rows.append(f"| NAS.run, one process | {in_process:.2f} | | | 1.00x |")
    rows += ["", f"Later rounds with the cached graph cost {rebuilt[1:].mean() / cached[1:].mean():.1f}x less "
                 f"than rebuilding it. One `nas status` process (Python start-up, no torch): {cli_status:.2f} s."]
    return "\n".join(rows)


if __name__ == "__main__":
    print(run("--quick" in sys.argv))
