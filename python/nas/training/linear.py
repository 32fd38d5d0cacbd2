"""Framework 2 of the paper: a linear probe (one d → C layer) trained on frozen self-supervised embeddings."""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch

from nas_ext._validation import check_features, check_float, check_int, param_error

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

    ``nesterov=False`` gives plain heavy-ball momentum and ``lr_step=S`` a step schedule (lr times ``lr_gamma``
    every S epochs) instead of the cosine one: seed 003's recipe (lr 0.01, momentum 0.9, weight decay 1e-4,
    x0.1 every 10 epochs). ``fit`` takes per-sample loss weights and a per-epoch callback (see ``fit``).

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
                 weight_decay: float = 3e-4, batch_size: int = 100, device="cpu", random_state=None,
                 nesterov: bool = True, lr_step: Optional[int] = None, lr_gamma: float = 0.1):
        self.epochs = epochs
        self.nesterov = nesterov
        self.lr_step = lr_step
        self.lr_gamma = lr_gamma
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state

    def fit(self, X, y, *, n_classes: Optional[int] = None, sample_weight=None,
            epoch_callback: Optional[Callable[[int, np.ndarray], Optional[np.ndarray]]] = None,
            transition=None, transition_mask=None) -> "LinearProbe":
        """Train on features ``X`` (n, d) and integer labels ``y`` (n,) in [0, n_classes).

        ``sample_weight`` (n,), finite and >= 0, multiplies each sample's cross-entropy: a batch's loss is
        sum_k w_k·l_k / |batch| (all ones = the plain mean). ``epoch_callback(epoch, losses)`` is called after
        every epoch with the 0-based epoch and the float64 (n,) training loss of every sample under the
        current weights (one extra forward pass over the n rows per epoch); it may return new sample
        weights for the next epochs (seed 003's contribution-weighted update, Eq. 2-4) or None to keep them.

        ``transition`` (C, C), row-stochastic, T[i, j] = P(observed j | true i), trains with the forward-corrected
        loss -log((Tᵀ softmax(h(x)))_y) (Patrini et al. 2017; seed 003's DALC, Eq. 10), so that h itself
        models the clean labels; ``transition_mask`` (bool (n,), default all) limits it to those samples, the
        others keep the plain cross-entropy. T = identity is exactly the plain model.
        """
        owner = "LinearProbe.fit"
        cfg = SGDConfig(owner, epochs=self.epochs, lr=self.lr, momentum=self.momentum,
                        weight_decay=self.weight_decay, batch_size=self.batch_size)
        if not isinstance(self.nesterov, (bool, np.bool_)):
            raise param_error(owner, "nesterov", "a bool", self.nesterov, exc=TypeError)
        lr_step = None if self.lr_step is None else check_int(self.lr_step, owner, "lr_step", low=1)
        lr_gamma = check_float(self.lr_gamma, owner, "lr_gamma", low=0.0, low_open=True, high=1.0)
        X = check_features(X, owner, "X")
        y, n_classes = check_labels(y, X.shape[0], n_classes, owner)
        if epoch_callback is not None and not callable(epoch_callback):
            raise param_error(owner, "epoch_callback", "a callable or None", epoch_callback, exc=TypeError)
        device = resolve_torch_device(self.device, owner)
        generator = torch.Generator().manual_seed(torch_seed(self.random_state, owner))

        inputs = _with_bias_column(as_tensor(X)).to(device)
        targets = as_tensor(y).to(device)
        weight = _initial_weight(n_classes, X.shape[1], generator).to(device)
        schedule = _Schedule(cfg.lr, cfg.epochs, lr_step, lr_gamma, bool(self.nesterov))
        weights = None if sample_weight is None else \
            as_tensor(_check_sample_weight(sample_weight, X.shape[0], owner)).to(device)
        log_likelihood = None if transition is None else \
            as_tensor(_label_log_likelihood(transition, transition_mask, y, n_classes, owner)).to(device)
        with one_cpu_thread(device):
            _train(weight, inputs, targets, cfg, generator, schedule=schedule, sample_weight=weights,
                   epoch_callback=epoch_callback, log_likelihood=log_likelihood, owner=owner)

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


class _Schedule:
    """Learning rate per epoch and the momentum flavour: cosine from ``lr`` (the default), or ``lr`` times
    ``gamma`` every ``step`` epochs (seed 003: x0.1 every 10 epochs); Nesterov or plain heavy-ball momentum."""

    def __init__(self, lr: float, epochs: int, step: Optional[int], gamma: float, nesterov: bool):
        self.lr, self.epochs, self.step, self.gamma, self.nesterov = lr, epochs, step, gamma, nesterov

    def lr_at(self, epoch: int) -> float:
        if self.step is None:
            return cosine_lr(self.lr, epoch, self.epochs)
        return self.lr * self.gamma ** (epoch // self.step)


def _check_sample_weight(sample_weight, n: int, owner: str) -> np.ndarray:
    arr = np.asarray(sample_weight, dtype=np.float64) if not isinstance(sample_weight, torch.Tensor) \
        else sample_weight.detach().cpu().double().numpy()
    if arr.shape != (n,):
        raise param_error(owner, "sample_weight", f"an array of shape ({n},) (one weight per row of X)", arr)
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise param_error(owner, "sample_weight", "finite and non-negative", "a negative or non-finite weight",
                          describe=False)
    return arr.astype(np.float32)


def check_transition(transition, n_classes: int, owner: str, argument: str = "transition") -> np.ndarray:
    """Validate a (C, C) row-stochastic matrix (non-negative, finite, rows summing to 1 within 1e-6); returns
    it float64."""
    T = check_features(transition, owner, argument, dtype=np.float64)
    if T.shape != (n_classes, n_classes):
        raise param_error(owner, argument, f"a square matrix of shape ({n_classes}, {n_classes})", T)
    sums = T.sum(axis=1)
    if T.min() < 0 or np.abs(sums - 1.0).max() > 1e-6:
        raise param_error(owner, argument, "row-stochastic (non-negative, every row summing to 1)",
                          f"row sums in [{sums.min():g}, {sums.max():g}] and minimum {T.min():g}", describe=False)
    return T


def _label_log_likelihood(transition, mask, y: np.ndarray, n_classes: int, owner: str) -> np.ndarray:
    """float32 (n, C): log P(observed y_k | true c) per sample, log T[:, y_k] where ``mask`` holds and the
    log one-hot (0 at y_k, -inf elsewhere: the plain cross-entropy) elsewhere."""
    T = check_transition(transition, n_classes, owner)
    n = y.shape[0]
    use = np.ones(n, dtype=bool) if mask is None else np.asarray(mask)
    if use.dtype != bool or use.shape != (n,):
        raise param_error(owner, "transition_mask", f"a boolean mask of shape ({n},)", use)
    unexplained = np.flatnonzero(use & (T.sum(axis=0)[y] <= 0))
    if unexplained.size:
        raise param_error(owner, "transition", "a matrix under which every observed label has a positive "
                          "probability", f"an all-zero column {int(y[unexplained[0]])}", describe=False)
    likelihood = np.where(use[:, None], T[:, y].T, np.eye(n_classes)[y])
    with np.errstate(divide="ignore"):
        return np.log(likelihood).astype(np.float32)


def per_sample_loss(weight: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor,
                    log_likelihood: Optional[torch.Tensor] = None) -> np.ndarray:
    """Training loss of every row under ``weight`` (rows carry the bias column), float64 (n,): the
    cross-entropy, or with ``log_likelihood`` (n, C) the forward-corrected -log sum_c P(y|c)·p(c|x)."""
    out = []
    for start in range(0, inputs.shape[0], _EVAL_ROWS):
        logits = inputs[start:start + _EVAL_ROWS] @ weight.T
        if log_likelihood is None:
            out.append(torch.nn.functional.cross_entropy(logits, targets[start:start + _EVAL_ROWS],
                                                         reduction="none"))
        else:
            joint = torch.log_softmax(logits, dim=1) + log_likelihood[start:start + _EVAL_ROWS]
            out.append(-torch.logsumexp(joint, dim=1))
    return torch.cat(out).double().cpu().numpy()


def _logit_gradient(logits: torch.Tensor, targets: torch.Tensor, rows: torch.Tensor,
                    log_likelihood: Optional[torch.Tensor]) -> torch.Tensor:
    """d loss / d logits per row: softmax − one-hot for the cross-entropy; softmax − the posterior of the
    true class given the observed label, softmax(logits + log P(y|c)), for the forward-corrected loss (exactly
    the one-hot where P(y|c) is the identity's column)."""
    grad = torch.softmax(logits, dim=1)
    if log_likelihood is None:
        grad[rows, targets] -= 1.0
        return grad
    return grad.sub_(torch.softmax(logits + log_likelihood, dim=1))


def _train(weight: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor, cfg: SGDConfig,
           generator: torch.Generator, *, schedule: Optional[_Schedule] = None,
           sample_weight: Optional[torch.Tensor] = None, epoch_callback=None,
           log_likelihood: Optional[torch.Tensor] = None, owner: str = "LinearProbe.fit") -> None:
    """SGD with torch.optim.SGD's (Nesterov) momentum semantics on the (weighted) mean cross-entropy, or its
    forward-corrected form with ``log_likelihood`` (see ``_logit_gradient``), updating ``weight`` in place."""
    schedule = schedule or _Schedule(cfg.lr, cfg.epochs, None, 0.1, True)
    index = repeated_indices(inputs.shape[0], cfg.batch_size)
    rows = torch.arange(cfg.batch_size, device=inputs.device)
    velocity = torch.zeros_like(weight)
    for epoch in range(cfg.epochs):
        lr = schedule.lr_at(epoch)
        for batch in epoch_batches(index, cfg.batch_size, generator).to(inputs.device):
            x = inputs.index_select(0, batch)
            grad_logits = _logit_gradient(x @ weight.T, targets.index_select(0, batch), rows,
                                          None if log_likelihood is None else log_likelihood.index_select(0, batch))
            if sample_weight is not None:
                grad_logits.mul_(sample_weight.index_select(0, batch)[:, None])
            grad = (grad_logits.T @ x).div_(cfg.batch_size).add_(weight, alpha=cfg.weight_decay)
            velocity.mul_(cfg.momentum).add_(grad)
            if schedule.nesterov:
                weight.add_(grad.add_(velocity, alpha=cfg.momentum), alpha=-lr)
            else:
                weight.add_(velocity, alpha=-lr)
        if epoch_callback is not None:
            new = epoch_callback(epoch, per_sample_loss(weight, inputs, targets, log_likelihood))
            if new is not None:
                sample_weight = as_tensor(_check_sample_weight(new, inputs.shape[0], owner)).to(inputs.device)
