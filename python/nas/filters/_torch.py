"""Torch pieces shared by the filters that train linear models on embeddings (LowBudgetAUM, DisagreeNet)."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from nas_ext._validation import param_error

__all__ = ["torch_device", "torch_generator", "minibatches", "linear_init"]


def torch_device(device, owner: str) -> torch.device:
    """'cpu' or 'cuda' (or 'cuda:N'); CUDA must be visible to torch. Never falls back silently."""
    name = str(device)
    if name.split(":", 1)[0] not in ("cpu", "cuda"):
        raise param_error(owner, "device", "'cpu' or 'cuda'", device)
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"{owner}: device={name!r} was requested but torch sees no CUDA device.")
    return torch.device(name)


def torch_generator(rng: np.random.Generator) -> torch.Generator:
    """A CPU torch Generator seeded from the filter's numpy Generator (no global RNG touched)."""
    return torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """One epoch of shuffled minibatches over n samples, the reference loader's way.

    The index list is repeated until it holds at least ``batch_size`` entries (so a tiny L still fills
    a batch), shuffled, and cut into full batches; the incomplete last batch is dropped.
    """
    order = np.arange(n)
    if n < batch_size:
        order = np.tile(order, -(-batch_size // n))
    order = rng.permutation(order)
    for start in range(0, order.size - batch_size + 1, batch_size):
        yield order[start:start + batch_size]


def linear_init(shape_in: int, shape_out: int, generator: torch.Generator, *, n_models: int = 0):
    """Weights and bias drawn like ``torch.nn.Linear``'s default: U(−1/√d, 1/√d).

    Returns (weight (d, out), bias (out,)) or, with ``n_models`` > 0, stacked (M, d, out), (M, out).
    """
    bound = 1.0 / np.sqrt(shape_in)
    lead = (n_models,) if n_models else ()
    weight = (torch.rand(lead + (shape_in, shape_out), generator=generator) * 2 - 1) * bound
    bias = (torch.rand(lead + (shape_out,), generator=generator) * 2 - 1) * bound
    return weight, bias
