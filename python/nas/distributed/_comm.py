"""The process group a distributed selection runs on: torch.distributed (gloo on CPU, NCCL on GPU).

Every collective goes through :class:`Comm`, which bounds it by the group's timeout and turns a failure
(a rank that died, a connection closed, a timeout) into one :class:`DistributedError` naming the
operation, the rank and the world size, so a lost peer ends every survivor with a clear error instead of
a hang. Data stays in numpy on the host; only the small messages and the feature tiles cross the wire.
"""
from __future__ import annotations

import datetime
import logging
import os
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.distributed as dist

from nas_ext._validation import check_float, param_error

__all__ = ["Comm", "DistributedError", "init_distributed", "shard_range", "DEFAULT_TIMEOUT_S"]

logger = logging.getLogger(__name__)

#: Seconds a collective may wait for its peers before every rank fails (``NAS_DIST_TIMEOUT`` overrides).
DEFAULT_TIMEOUT_S = 300.0


class DistributedError(RuntimeError):
    """A collective failed: a peer process died, closed its connection or did not answer in time."""


def shard_range(n: int, rank: int, world: int) -> tuple:
    """Rows ``[start, stop)`` of rank ``rank`` when ``n`` rows are split over ``world`` ranks in contiguous
    blocks (``np.array_split`` sizes: the first ``n % world`` ranks hold one row more)."""
    base, extra = divmod(int(n), int(world))
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def init_distributed(*, backend: Optional[str] = None, timeout: Optional[float] = None) -> "Comm":
    """Join (or reuse) the default process group from the torchrun environment and return its Comm.

    ``backend``: 'gloo' (CPU) or 'nccl' (GPU); default gloo. ``timeout``: seconds per collective (default
    ``NAS_DIST_TIMEOUT`` or 300). The environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) is what
    ``torchrun`` sets on every host; see the README section "Selection on several processes and hosts".
    """
    fn = "init_distributed"
    if timeout is None:
        timeout = float(os.environ.get("NAS_DIST_TIMEOUT", DEFAULT_TIMEOUT_S))
    timeout = check_float(timeout, fn, "timeout", low=0.0, low_open=True, high_open=True)
    if not dist.is_available():
        raise RuntimeError("init_distributed: this torch build has no torch.distributed support.")
    if not dist.is_initialized():
        missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
        if missing:
            raise RuntimeError(f"init_distributed: the environment lacks {', '.join(missing)}; start the "
                               "processes with torchrun (e.g. `torchrun --nproc-per-node 2 -m nas bench "
                               "--distributed`) or call torch.distributed.init_process_group first.")
        backend = backend or "gloo"
        if backend not in ("gloo", "nccl"):
            raise param_error(fn, "backend", "'gloo' or 'nccl'", backend)
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout))
    return Comm(timeout=timeout)


class Comm:
    """Collectives of the default process group over numpy arrays, each bounded by ``timeout`` seconds."""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        if not dist.is_initialized():
            raise RuntimeError("Comm: torch.distributed is not initialised; call nas.distributed.init_distributed().")
        self.rank = dist.get_rank()
        self.world = dist.get_world_size()
        self.timeout = float(timeout)
        self.backend = dist.get_backend()
        self.device = torch.device("cuda", torch.cuda.current_device()) if self.backend == "nccl" else torch.device("cpu")
        self.seconds = 0.0  # time spent inside collectives (for the communication benchmark)
        self.calls = 0

    def __repr__(self) -> str:
        return f"Comm(rank={self.rank}, world={self.world}, backend={self.backend!r})"

    # -------------------------------------------------------------- failure handling
    def _fail(self, op: str, exc: BaseException) -> DistributedError:
        return DistributedError(
            f"{op} failed on rank {self.rank} of {self.world}: a peer process died, closed its connection or "
            f"did not answer within the {self.timeout:g} s timeout ({type(exc).__name__}: {exc})")

    def _run(self, op: str, fn):
        import time

        start = time.perf_counter()
        try:
            return fn()
        except (RuntimeError, ConnectionError, OSError) as exc:  # DistBackendError is a RuntimeError
            raise self._fail(op, exc) from exc
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    # -------------------------------------------------------------- collectives
    def all_gather(self, array: np.ndarray) -> np.ndarray:
        """Stack the same-shaped ``array`` of every rank: shape (world, *array.shape)."""
        local = self._tensor(array)
        parts = [torch.empty_like(local) for _ in range(self.world)]
        self._run("all_gather", lambda: dist.all_gather(parts, local))
        return np.stack([p.cpu().numpy() for p in parts])

    def all_gather_varying(self, array: np.ndarray) -> List[np.ndarray]:
        """Every rank's 1-D ``array`` (lengths may differ), in rank order."""
        array = np.ascontiguousarray(array).reshape(-1)
        sizes = self.all_gather(np.array([array.size], dtype=np.int64))[:, 0]
        padded = np.zeros(max(int(sizes.max()), 1), dtype=array.dtype)
        padded[:array.size] = array
        gathered = self.all_gather(padded)
        return [gathered[r, :int(sizes[r])] for r in range(self.world)]

    def all_reduce_max(self, value: float) -> float:
        t = self._tensor(np.array([value], dtype=np.float64))
        self._run("all_reduce", lambda: dist.all_reduce(t, op=dist.ReduceOp.MAX))
        return float(t.cpu()[0])

    def broadcast(self, array: np.ndarray, src: int) -> np.ndarray:
        """``array`` of rank ``src`` (every rank passes a buffer of the same shape and dtype)."""
        t = self._tensor(array)
        self._run("broadcast", lambda: dist.broadcast(t, src=src))
        return t.cpu().numpy()

    def barrier(self) -> None:
        t = self._tensor(np.zeros(1, dtype=np.int64))  # an all_reduce honours the timeout on every backend
        self._run("barrier", lambda: dist.all_reduce(t))

    def exchange(self, send: np.ndarray, dst: int, recv: np.ndarray, src: int):
        """Start sending ``send`` to ``dst`` and receiving into ``recv`` (a writable C array) from ``src``;
        returns a ``wait()`` callable that completes both (ring passing)."""
        send_t = self._tensor(send)
        recv_t = torch.from_numpy(recv) if self.device.type == "cpu" else torch.empty(recv.shape, dtype=send_t.dtype,
                                                                                      device=self.device)
        ops = [dist.P2POp(dist.isend, send_t, dst), dist.P2POp(dist.irecv, recv_t, src)]
        works = self._run("ring send/recv", lambda: dist.batch_isend_irecv(ops))
        timeout = datetime.timedelta(seconds=self.timeout)

        def wait() -> None:
            for w in works:
                self._run("ring send/recv", lambda w=w: w.wait(timeout))
            if self.device.type != "cpu":
                recv[...] = recv_t.cpu().numpy()

        return wait

    def ranks_of(self, nodes: np.ndarray, offsets: Sequence[int]) -> np.ndarray:
        """The rank owning each global row id, given the ``offsets`` (world + 1) of the row blocks."""
        return np.searchsorted(np.asarray(offsets), nodes, side="right") - 1
