"""The optimisation recipe shared by both training frameworks (seed 000, appendix C).

SGD with Nesterov momentum 0.9, weight decay 3e-4 and a per-epoch cosine learning rate from 0.025 to 0,
mini-batches of 100 drawn the way the reference loader draws them: the index list is concatenated with
itself until it holds at least one batch, shuffled every epoch, and the incomplete last batch is dropped.
"""
from __future__ import annotations

import contextlib
import math
import numbers
from typing import Iterator, Optional

import numpy as np
import torch

from nas_ext._validation import check_float, check_int, param_error

from ..filters._torch import torch_device as resolve_torch_device

__all__ = ["SGDConfig", "cosine_lr", "repeated_indices", "epoch_batches", "torch_seed", "resolve_torch_device",
           "check_labels", "fixed_cpu_threads", "one_cpu_thread", "as_tensor"]


class SGDConfig:
    """Validated optimiser settings: ``epochs``, ``lr``, ``momentum``, ``weight_decay``, ``batch_size``."""

    def __init__(self, owner: str, *, epochs: int, lr: float, momentum: float, weight_decay: float,
                 batch_size: int):
        self.epochs = check_int(epochs, owner, "epochs", low=1)
        self.lr = check_float(lr, owner, "lr", low=0.0, low_open=True)
        self.momentum = check_float(momentum, owner, "momentum", low=0.0, high=1.0, high_open=True)
        self.weight_decay = check_float(weight_decay, owner, "weight_decay", low=0.0)
        self.batch_size = check_int(batch_size, owner, "batch_size", low=1)


def cosine_lr(base_lr: float, epoch: int, epochs: int) -> float:
    """Learning rate of ``epoch`` (0-based): base·½(1 + cos(π·epoch/epochs)), no warm-up, minimum 0."""
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * epoch / epochs))


def repeated_indices(n: int, batch_size: int) -> torch.Tensor:
    """0..n-1, concatenated with itself until it holds at least ``batch_size`` entries (n ≥ 1)."""
    index = torch.arange(n)
    while index.numel() < batch_size:
        index = torch.cat([index, index])
    return index


def epoch_batches(index: torch.Tensor, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """One epoch's mini-batches as a (n_batches, batch_size) tensor of row positions (drop_last)."""
    order = index[torch.randperm(index.numel(), generator=generator)]
    n_batches = index.numel() // batch_size
    return order[: n_batches * batch_size].view(n_batches, batch_size)


def torch_seed(random_state, owner: str) -> int:
    """An int seed for torch from ``random_state`` (None, an int or a numpy Generator)."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**62))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**62))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state) % 2**63
    raise param_error(owner, "random_state", "None, an int or a numpy Generator", random_state, exc=TypeError)


def check_labels(y, n_rows: int, n_classes: Optional[int], owner: str) -> tuple:
    """Validate integer labels of length ``n_rows``; returns (int64 array, n_classes)."""
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        raise param_error(owner, "y", f"a 1-D array of {n_rows} labels (one per row of X)", arr)
    if arr.size and (arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer)):
        raise param_error(owner, "y", "an array of integer class labels", arr, exc=TypeError)
    arr = arr.astype(np.int64, copy=False)
    if n_classes is None:
        n_classes = int(arr.max()) + 1 if arr.size else 1
    n_classes = check_int(n_classes, owner, "n_classes", low=1)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        bad = int(arr.min()) if arr.min() < 0 else int(arr.max())
        raise param_error(owner, "y", f"labels in [0, {n_classes})", f"the label {bad}", describe=False)
    return arr, n_classes


@contextlib.contextmanager
def fixed_cpu_threads(n_threads: Optional[int], device="cpu") -> Iterator[None]:
    """Run torch on ``n_threads`` intra-op threads on the CPU (restored afterwards); ``None`` or a non-CPU
    ``device`` leaves torch's setting alone.

    oneDNN and the BLAS split a convolution's or GEMM's reduction by thread, so float32 results depend on
    the thread count: a fixed count makes the numbers of a seed the same on every machine."""
    if n_threads is None or torch.device(device).type != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def one_cpu_thread(device="cpu"):
    """Run torch on one intra-op thread on the CPU (restored afterwards). A linear-probe step's GEMMs
    (≤ 100 × (d+1) × C) are too small to gain from threads, and synchronising threads costs 10× more than the
    work whenever the cores are shared; one thread also makes the numbers independent of the machine."""
    return fixed_cpu_threads(1, device)


def as_tensor(array: np.ndarray) -> torch.Tensor:
    """A CPU tensor sharing ``array``'s memory, or a copy when the array is read-only (e.g. a memory-mapped
    .npy), which torch cannot share safely."""
    array = np.ascontiguousarray(array)
    return torch.from_numpy(array if array.flags.writeable else array.copy())
