"""Framework 2 of the paper: a linear probe (one d → C layer) trained on frozen self-supervised embeddings."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch

from nas_ext._validation import check_features

from ._sgd import SGDConfig, as_tensor, check_labels, cosine_lr, epoch_batches, one_cpu_thread, \
    repeated_indices, resolve_torch_device, torch_seed

__all__ = ["LinearProbe"]

_EVAL_ROWS = 65536


class LinearProbe:
    """Multinomial logistic regression trained by mini-batch SGD, as in the paper's framework 2.

    Defaults follow seed 000, appendix C: 500 epochs, SGD with Nesterov momentum 0.9, weight decay 3e-4 (on the
    weights and the bias), cosine learning rate from 0.025 per epoch, batches of 100 drawn as the reference loader
    does (see ``nas.training._sgd``). The layer starts from torch's ``nn.Linear`` initialisation, drawn from a
    generator seeded by ``random_state``, so the same seed gives identical numbers on the CPU.

    The whole training set lives on ``device`` as one tensor and the cross-entropy gradient is written out
    (softmax − one-hot), so a step is two small GEMMs with no autograd or DataLoader overhead, run on one CPU thread
    (see ``one_cpu_thread``): 500 epochs on a few thousand 512-d samples take seconds on a CPU core.
    Memory: the training rows plus a (C, d+1) weight.

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 16)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
    >>> probe = LinearProbe(epochs=50, random_state=0).fit(X, y)
    >>> probe.score(X, y) > 90
    True
    """

    def __init__(self, *, epochs: int = 500, lr: float = 0.025, momentum: float = 0.9,
                 weight_decay: float = 3e-4, batch_size: int = 100, device="cpu", random_state=None):
        self.epochs = epochs
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state

    def fit(self, X, y, *, n_classes: Optional[int] = None) -> "LinearProbe":
        """Train on features ``X`` (n, d) and integer labels ``y`` (n,) in [0, n_classes)."""
        owner = "LinearProbe.fit"
        cfg = SGDConfig(owner, epochs=self.epochs, lr=self.lr, momentum=self.momentum,
                        weight_decay=self.weight_decay, batch_size=self.batch_size)
        X = check_features(X, owner, "X")
        y, n_classes = check_labels(y, X.shape[0], n_classes, owner)
        device = resolve_torch_device(self.device, owner)
        generator = torch.Generator().manual_seed(torch_seed(self.random_state, owner))

        inputs = _with_bias_column(as_tensor(X)).to(device)
        targets = as_tensor(y).to(device)
        weight = _initial_weight(n_classes, X.shape[1], generator).to(device)
        with one_cpu_thread(device):
            _train(weight, inputs, targets, cfg, generator)

        self.weight_ = weight
        self.coef_ = weight[:, :-1].cpu().numpy()
        self.intercept_ = weight[:, -1].cpu().numpy()
        self.n_classes_ = n_classes
        return self

    def decision_function(self, X) -> np.ndarray:
        """Logits, float32 (n, n_classes)."""
        X = check_features(X, "LinearProbe.decision_function", "X")
        if X.shape[1] + 1 != self.weight_.shape[1]:
            raise ValueError(f"LinearProbe was fitted on {self.weight_.shape[1] - 1} features; X has {X.shape[1]}.")
        out = []
        for start in range(0, X.shape[0], _EVAL_ROWS):
            rows = as_tensor(X[start:start + _EVAL_ROWS]).to(self.weight_.device)
            out.append((rows @ self.weight_[:, :-1].T + self.weight_[:, -1]).cpu())
        return torch.cat(out).numpy() if out else np.empty((0, self.n_classes_), np.float32)

    def predict(self, X) -> np.ndarray:
        """Predicted class per row, int64."""
        return self.decision_function(X).argmax(axis=1).astype(np.int64)

    def score(self, X, y) -> float:
        """Top-1 accuracy in percent."""
        y = np.asarray(y)
        if y.shape[0] == 0:
            raise ValueError("LinearProbe.score needs at least one test sample.")
        return float(100.0 * np.mean(self.predict(X) == y))


def _with_bias_column(X: torch.Tensor) -> torch.Tensor:
    return torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype)], dim=1)


def _initial_weight(n_classes: int, n_features: int, generator: torch.Generator) -> torch.Tensor:
    """nn.Linear's default: weight and bias uniform in ±1/sqrt(fan_in); the bias is the last column."""
    bound = 1.0 / math.sqrt(n_features)
    return (torch.rand(n_classes, n_features + 1, generator=generator) * 2.0 - 1.0) * bound


def _train(weight: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor, cfg: SGDConfig,
           generator: torch.Generator) -> None:
    """SGD with torch.optim.SGD's Nesterov semantics on the mean cross-entropy, updating ``weight`` in place."""
    index = repeated_indices(inputs.shape[0], cfg.batch_size)
    rows = torch.arange(cfg.batch_size, device=inputs.device)
    velocity = torch.zeros_like(weight)
    for epoch in range(cfg.epochs):
        lr = cosine_lr(cfg.lr, epoch, cfg.epochs)
        for batch in epoch_batches(index, cfg.batch_size, generator).to(inputs.device):
            x = inputs.index_select(0, batch)
            grad_logits = torch.softmax(x @ weight.T, dim=1)
            grad_logits[rows, targets.index_select(0, batch)] -= 1.0
            grad = (grad_logits.T @ x).div_(cfg.batch_size).add_(weight, alpha=cfg.weight_decay)
            velocity.mul_(cfg.momentum).add_(grad)
            weight.add_(grad.add_(velocity, alpha=cfg.momentum), alpha=-lr)
