"""Run a filter's small dense problems on one thread.

A filter's matrices are tiny (|L| up to a few thousand rows, a few hundred features): BLAS and
torch thread pools cost more in start-up and, on a busy machine, in spinning than they save. On a
loaded 2-core machine a 3-fold logistic regression on 50 samples took 10 s with the default pools
and 0.2 s on one thread. The previous settings are restored on exit.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from threadpoolctl import threadpool_limits

__all__ = ["single_threaded"]


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Limit BLAS/OpenMP pools (threadpoolctl) and torch's intra-op pool to one thread."""
    previous = torch.get_num_threads()
    with threadpool_limits(limits=1):
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(previous)
