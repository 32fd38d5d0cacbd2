"""Start W local gloo ranks (subprocesses on 127.0.0.1, a free port) running one task of dist_worker."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

TESTS = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(world: int, task: str, out: Path, *, timeout: float = 60.0, collective_timeout: float = 20.0,
           env: Optional[Dict[str, str]] = None) -> List[subprocess.CompletedProcess]:
    """Run ``python -m helpers.dist_worker TASK OUT`` as ranks 0..world-1; returns each rank's result
    (stdout/stderr captured). Every rank is killed after ``timeout`` seconds."""
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = dict(os.environ)
    base.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world),
                 "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1", "NAS_DIST_TIMEOUT": str(collective_timeout),
                 "PYTHONPATH": os.pathsep.join([str(TESTS), base.get("PYTHONPATH", "")])})
    base.update(env or {})
    procs = []
    for rank in range(world):
        rank_env = dict(base, RANK=str(rank), LOCAL_RANK=str(rank))
        procs.append(subprocess.Popen([sys.executable, "-m", "helpers.dist_worker", task, str(out)], env=rank_env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(TESTS)))
    deadline = time.monotonic() + timeout
    results = []
    for rank, p in enumerate(procs):
        try:
            stdout, stderr = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            stdout, stderr = p.communicate()
            raise AssertionError(f"rank {rank} of task {task!r} did not finish in {timeout} s:\n{stderr[-3000:]}")
        results.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return results


def check_ok(results: List[subprocess.CompletedProcess]) -> None:
    for rank, r in enumerate(results):
        assert r.returncode == 0, f"rank {rank} failed (exit {r.returncode}):\n{r.stderr[-4000:]}"
