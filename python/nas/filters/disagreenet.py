"""LowBudgetDisagreeNet: ensemble agreement along training, split by a Beta mixture (seed 000
appendix G, after DisagreeNet).

An ensemble of linear models is trained jointly on the labeled embeddings; after every epoch each
model's prediction is a checkpoint vote. Clean samples are fitted early and consistently, noisy
ones late or never, so ELP(x) = fraction of checkpoint votes for x's given label separates them.
Unlike the research code, ELP is computed on the labeled samples only (the reference scored every
pool sample with its hidden annotator label).
"""
from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F

from nas_ext._validation import check_float, check_int

from ._beta_mixture import high_component_posterior
from ._torch import linear_init, minibatches, torch_device, torch_generator
from .base import NoiseFilter

__all__ = ["LowBudgetDisagreeNet", "ensemble_agreement"]

logger = logging.getLogger(__name__)


def ensemble_agreement(X: np.ndarray, y: np.ndarray, n_classes: int, *, n_models: int, max_epochs: int,
                       batch_size: int, lr: float, momentum: float, weight_decay: float, stop_agreement: float,
                       rng: np.random.Generator, device: torch.device):
    """Train ``n_models`` linear models on the same minibatches; return (ELP (n,), epochs run).

    SGD (Nesterov) with cosine annealing over ``max_epochs``; training stops early once more than
    ``stop_agreement`` of the samples get the same prediction from every model.
    Cost: epochs·n·d·C·n_models multiply-adds.
    """
    n, d = X.shape
    weight, bias = linear_init(d, n_classes, torch_generator(rng), n_models=n_models)
    weight = weight.to(device).requires_grad_()
    bias = bias.to(device).requires_grad_()
    optimiser = torch.optim.SGD([weight, bias], lr=lr, momentum=momentum, nesterov=True, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max_epochs)
    features = torch.as_tensor(X, dtype=torch.float32, device=device)
    labels = torch.as_tensor(y, dtype=torch.int64, device=device)
    votes_for_label = torch.zeros(n, dtype=torch.float64, device=device)
    epochs = 0
    while epochs < max_epochs:
        for batch in minibatches(n, batch_size, rng):
            idx = torch.as_tensor(batch, device=device)
            logits = torch.einsum("bd,mdc->mbc", features[idx], weight) + bias[:, None, :]
            target = labels[idx].expand(n_models, -1)
            loss = F.cross_entropy(logits.reshape(-1, n_classes), target.reshape(-1)) * n_models
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        schedule.step()
        epochs += 1
        with torch.no_grad():
            predictions = (torch.einsum("nd,mdc->mnc", features, weight) + bias[:, None, :]).argmax(dim=2)
            votes_for_label += (predictions == labels).sum(dim=0).double()
            unanimous = (predictions == predictions[0]).all(dim=0).double().mean().item()
        if unanimous > stop_agreement:
            break
    return (votes_for_label / (epochs * n_models)).cpu().numpy(), epochs


class LowBudgetDisagreeNet(NoiseFilter):
    """Checkpoint-ensemble agreement (ELP) with a two-component Beta mixture.

    Parameters
    ----------
    n_models : int, default 10
    max_epochs : int, default 300
    batch_size : int, default 64
    lr, momentum, weight_decay : SGD (Nesterov) settings, defaults 0.01, 0.9, 5e-4 (cosine annealing).
    stop_agreement : float in [0, 1], default 0.9
        Stop once more than this fraction of L gets a unanimous ensemble prediction.
    device : "cpu" or "cuda"
    noise_rate : float in [0, 1] or None
        Known-noise-rate prior: mark the round(q·|L|) lowest-ELP samples noisy.
    random_state : None, int or numpy Generator

    A sample is clean iff the posterior of the higher-mean Beta component exceeds 0.5 for it and for
    every sample with a higher ELP (the split is a threshold on ELP: a broad component must not
    claim the far lower tail as clean). When all ELPs coincide no mixture exists and a sample is
    clean iff its ELP ≥ 0.5. Like every two-component mixture, it splits an all-clean set too. ``scores_`` = ELP;
    ``epochs_`` = epochs trained.

    Cost: up to max_epochs·|L|·d·C·n_models multiply-adds; memory O(n_models·d·C).

    Example
    -------
    >>> import numpy as np
    >>> from nas.filters import LowBudgetDisagreeNet
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 10); X = 4 * np.eye(3)[y] + rng.standard_normal((30, 3))
    >>> is_clean = LowBudgetDisagreeNet(random_state=0).fit_predict(X, y)
    """

    def __init__(self, *, n_models: int = 10, max_epochs: int = 300, batch_size: int = 64, lr: float = 0.01,
                 momentum: float = 0.9, weight_decay: float = 5e-4, stop_agreement: float = 0.9, device="cpu",
                 noise_rate=None, random_state=None):
        self.n_models = n_models
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.stop_agreement = stop_agreement
        self.device = device
        self.noise_rate = noise_rate
        self.random_state = random_state

    def _check_params(self) -> None:
        name = type(self).__name__
        check_int(self.n_models, name, "n_models", low=1)
        check_int(self.max_epochs, name, "max_epochs", low=1)
        check_int(self.batch_size, name, "batch_size", low=1)
        check_float(self.lr, name, "lr", low=0.0, low_open=True)
        check_float(self.momentum, name, "momentum", low=0.0, high=1.0, high_open=True)
        check_float(self.weight_decay, name, "weight_decay", low=0.0)
        check_float(self.stop_agreement, name, "stop_agreement", low=0.0, high=1.0)
        torch_device(self.device, name)

    def _score(self, X, y, *, pool, n_classes, indices, rng):
        elp, self.epochs_ = ensemble_agreement(
            X, y, n_classes, n_models=self.n_models, max_epochs=self.max_epochs, batch_size=self.batch_size,
            lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay, stop_agreement=self.stop_agreement,
            rng=rng, device=torch_device(self.device, type(self).__name__))
        posterior = high_component_posterior(elp)
        logger.debug("LowBudgetDisagreeNet: %d epochs", self.epochs_)
        if posterior is None:
            return elp, elp >= 0.5
        return elp, _monotone_clean(elp, posterior)


def _monotone_clean(elp: np.ndarray, posterior: np.ndarray) -> np.ndarray:
    """Clean = the samples whose ELP exceeds the highest ELP with a high-component posterior ≤ 0.5.

    A broad high-mean component can also claim the far lower tail; thresholding keeps "more
    agreement" from ever meaning "more likely noisy"."""
    order = np.argsort(-elp, kind="stable")
    failing = np.flatnonzero(posterior[order] <= 0.5)
    is_clean = np.ones(elp.size, dtype=bool)
    if failing.size:
        threshold = elp[order[failing[0]]]
        is_clean = elp > threshold
    return is_clean
