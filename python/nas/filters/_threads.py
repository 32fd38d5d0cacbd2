"""Run a filter's small dense problems on one thread.

A filter's matrices are tiny (|L| up to a few thousand rows, a few hundred features): BLAS and
torch thread pools cost more in start-up and, on a busy machine, in spinning than they save. On a
loaded 2-core machine a 3-fold logistic regression on 50 samples took 10 s with the default pools
and 0.2 s on one thread. The previous settings are restored on exit.

The pools are looked up once per process, at the first filter call, when the filters' libraries
(torch, scikit-learn, numpy/scipy BLAS) are loaded: a ``threadpoolctl`` scan takes milliseconds and
thrashes the caches, and NAS with an ideal filter calls a filter once per pick.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Iterator

import torch
from threadpoolctl import ThreadpoolController

__all__ = ["single_threaded"]


@functools.lru_cache(maxsize=None)
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Limit BLAS/OpenMP pools (threadpoolctl) and torch's intra-op pool to one thread."""
    previous = torch.get_num_threads()
    with _controller().limit(limits=1):
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(previous)
