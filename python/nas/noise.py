"""Noise models and the simulated noisy annotator.

A noise model turns true labels into noisy ones with ``apply(true_labels, *, n_classes,
random_state=None, X=None) -> int64 labels``:

- :class:`SymmetricNoise` — exactly floor(rate·N) samples get a label drawn uniformly from the
  other classes.
- :class:`AsymmetricNoise` — class-dependent flips following a transition matrix (e.g. a row-
  normalised confusion matrix).
- :class:`InstanceDependentNoise` — flips concentrated in regions of feature space ("noise
  clusters", seed 000 appendix B).
- :class:`FixedLabels` — labels given by a file or array (CIFAR-100N, Clothing1M).

Every flipped sample gets a label different from its true one. :class:`SimulatedAnnotator` draws
the noisy labels once, so asking again about a sample returns the same answer: the annotator repeats
its mistakes.
"""
from __future__ import annotations

import abc
import math
import os
from typing import Optional

import numpy as np

from nas_ext._validation import check_choice, check_features, check_float, check_indices, check_int, param_error, \
    to_numpy

__all__ = ["NoiseModel", "SymmetricNoise", "AsymmetricNoise", "InstanceDependentNoise", "FixedLabels",
           "SimulatedAnnotator", "NOISE_MODELS", "make_noise"]


def _check_labels(labels, n_classes: int, function: str, argument: str = "true_labels") -> np.ndarray:
    arr = to_numpy(labels) if not isinstance(labels, (list, tuple, range)) else np.asarray(labels)
    if arr.ndim != 1:
        raise param_error(function, argument, "a 1-D array of integer labels", arr)
    if arr.size and (arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer)):
        raise param_error(function, argument, "a 1-D array of integer labels", arr, exc=TypeError)
    out = arr.astype(np.int64)
    if out.size and (out.min() < 0 or out.max() >= n_classes):
        bad = int(out.min()) if out.min() < 0 else int(out.max())
        raise param_error(function, argument, f"integer labels in [0, {n_classes})", f"label {bad}", describe=False)
    return out


def _n_flips(rate: float, n: int) -> int:
    """floor(rate·n), robust to binary representation (0.29·100 is 28.999…)."""
    return int(math.floor(rate * n + 1e-9))


def _other_label_uniform(labels: np.ndarray, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """A label drawn uniformly from the n_classes − 1 classes other than each given one."""
    return (labels + rng.integers(1, n_classes, size=labels.size)) % n_classes


class NoiseModel(abc.ABC):
    """Base of the noise models: validates the common arguments of ``apply``."""

    def apply(self, true_labels, *, n_classes: int, random_state=None, X=None) -> np.ndarray:
        """Noisy labels (int64, same length as ``true_labels``), reproducible for a given seed."""
        function = f"{type(self).__name__}.apply"
        n_classes = check_int(n_classes, function, "n_classes", low=1)
        labels = _check_labels(true_labels, n_classes, function)
        rng = np.random.default_rng(random_state)
        return self._apply(labels, n_classes, rng, X, function)

    @abc.abstractmethod
    def _apply(self, labels: np.ndarray, n_classes: int, rng: np.random.Generator, X, function: str) -> np.ndarray:
        """Subclasses implement this."""

    def _check_rate(self, labels: np.ndarray, n_classes: int, function: str) -> int:
        rate = check_float(self.rate, type(self).__name__, "rate", low=0.0, high=1.0)
        n_flip = _n_flips(rate, labels.size)
        if n_flip and n_classes < 2:
            raise param_error(function, "n_classes", "at least 2 when some labels are flipped", n_classes)
        return n_flip

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not isinstance(v, np.ndarray))
        return f"{type(self).__name__}({params})"


class SymmetricNoise(NoiseModel):
    """Exactly floor(rate·N) samples, chosen uniformly, get a uniform label among the other classes.

    >>> SymmetricNoise(0.5).apply([0, 1, 2, 3], n_classes=4, random_state=0)
    array([0, 1, 3, 0])
    """

    def __init__(self, rate: float):
        self.rate = rate

    def _apply(self, labels, n_classes, rng, X, function):
        n_flip = self._check_rate(labels, n_classes, function)
        noisy = labels.copy()
        flipped = rng.choice(labels.size, size=n_flip, replace=False)
        noisy[flipped] = _other_label_uniform(labels[flipped], n_classes, rng)
        return noisy


def _allocate(total: int, weights: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Split ``total`` into per-class counts ∝ ``weights`` (largest remainder), never above ``capacity``.

    Classes that hit their capacity pass their share on to the others in proportion to their weights.
    """
    counts = np.zeros(weights.size, dtype=np.int64)
    open_ = (capacity > 0) & (weights > 0)
    remaining = total
    while remaining > 0 and open_.any():
        quota = np.zeros(weights.size)
        quota[open_] = weights[open_] / weights[open_].sum() * remaining
        step = np.minimum(np.floor(quota).astype(np.int64), capacity - counts)
        counts += step
        remaining -= int(step.sum())
        spare = open_ & (counts < capacity)
        order = np.argsort(-(quota - np.floor(quota)) * spare, kind="stable")
        for c in order[:remaining]:
            if spare[c] and remaining > 0:
                counts[c] += 1
                remaining -= 1
        open_ = open_ & (counts < capacity)
        if step.sum() == 0 and not spare.any():
            break
    return counts


class AsymmetricNoise(NoiseModel):
    """Class-dependent flips following a transition matrix T (C × C, rows normalised here).

    floor(rate·N) samples in all are flipped. Class c gets a share ∝ N_c·(1 − T_cc) (the paper's
    intent: its noise rate grows with its off-diagonal mass); ``reference_allocation=True`` uses the
    research code's weights 1 − T_cc/C instead (nearly uniform across classes). Shares are rounded by
    largest remainder and never exceed the class' size; a class whose row has no off-diagonal mass
    cannot flip. A flipped sample of class c gets label j ≠ c with probability T_cj / Σ_{k≠c} T_ck.

    >>> T = np.array([[0.6, 0.4], [0.0, 1.0]])
    >>> AsymmetricNoise(0.25, T).apply([0, 0, 1, 1], n_classes=2, random_state=0)
    array([0, 1, 1, 1])
    """

    def __init__(self, rate: float, transition, *, reference_allocation: bool = False):
        self.rate = rate
        self.transition = transition
        self.reference_allocation = reference_allocation

    def _check_transition(self, n_classes: int) -> np.ndarray:
        name = type(self).__name__
        T = check_features(self.transition, name, "transition", dtype=np.float64)
        if T.shape != (n_classes, n_classes):
            raise param_error(name, "transition", f"a square matrix of shape ({n_classes}, {n_classes})", T)
        if T.min() < 0 or (T.sum(axis=1) <= 0).any():
            raise param_error(name, "transition", "non-negative with a positive sum in every row",
                              "a negative entry or an all-zero row", describe=False)
        return T / T.sum(axis=1, keepdims=True)

    def _apply(self, labels, n_classes, rng, X, function):
        n_flip = self._check_rate(labels, n_classes, function)
        T = self._check_transition(n_classes)
        off = T.copy()
        np.fill_diagonal(off, 0.0)
        off_mass = off.sum(axis=1)
        sizes = np.bincount(labels, minlength=n_classes)
        capacity = np.where(off_mass > 0, sizes, 0)
        if n_flip > capacity.sum():
            raise param_error(type(self).__name__, "rate",
                              f"at most {capacity.sum() / max(labels.size, 1):g} for this transition matrix "
                              "(only samples of classes with off-diagonal mass can flip)", self.rate)
        diagonal = np.diag(T)
        weights = 1.0 - diagonal / n_classes if self.reference_allocation else sizes * (1.0 - diagonal)
        counts = _allocate(n_flip, weights.astype(np.float64), capacity)
        noisy = labels.copy()
        for c in np.flatnonzero(counts):
            members = rng.choice(np.flatnonzero(labels == c), size=int(counts[c]), replace=False)
            noisy[members] = rng.choice(n_classes, size=members.size, p=off[c] / off_mass[c])
        return noisy


class InstanceDependentNoise(NoiseModel):
    """Flips concentrated in feature-space regions: "noise clusters" (seed 000 appendix B).

    Generator (needs the features ``X``):

    1. ``n_regions`` region centres are drawn uniformly among the samples.
    2. Of the floor(rate·N) flips, round(``concentration``·floor(rate·N)) go to the samples nearest
       to their nearest centre (ties by index): each region becomes a ball of mislabeled samples.
       The remaining flips are drawn uniformly from the other samples.
    3. A flipped sample gets, with ``label_choice="nearest"``, the class whose mean feature vector
       (over the true labels) is nearest among the other classes — the confusion a human makes —
       or, with ``"uniform"``, a uniform other class.

    ``concentration`` = 0 is symmetric noise (with nearest-class labels); 1 puts every flip in the
    balls. Ranking by distance (not a distance kernel) keeps the clusters equally tight in any
    dimension. Cost Θ(N·n_regions·d).
    """

    def __init__(self, rate: float, *, n_regions: int = 10, concentration: float = 0.8,
                 label_choice: str = "nearest"):
        self.rate = rate
        self.n_regions = n_regions
        self.concentration = concentration
        self.label_choice = label_choice

    def _apply(self, labels, n_classes, rng, X, function):
        name = type(self).__name__
        n_flip = self._check_rate(labels, n_classes, function)
        n_regions = check_int(self.n_regions, name, "n_regions", low=1)
        concentration = check_float(self.concentration, name, "concentration", low=0.0, high=1.0)
        check_choice(self.label_choice, name, "label_choice", ("nearest", "uniform"))
        if X is None:
            raise param_error(function, "X", "the (N, d) features of the samples (noise regions live in them)", None)
        X = check_features(X, function, "X", min_rows=0, dtype=np.float64)
        if X.shape[0] != labels.size:
            raise param_error(function, "X", f"a 2-D array with one row per label ({labels.size})", X)
        noisy = labels.copy()
        if n_flip == 0:
            return noisy
        centres = X[rng.choice(labels.size, size=min(n_regions, labels.size), replace=False)]
        by_distance = np.argsort(_nearest_sq_dist(X, centres), kind="stable")
        n_region = int(round(concentration * n_flip))
        rest = rng.choice(by_distance[n_region:], size=n_flip - n_region, replace=False)
        flipped = np.concatenate([by_distance[:n_region], rest])
        if self.label_choice == "uniform":
            noisy[flipped] = _other_label_uniform(labels[flipped], n_classes, rng)
            return noisy
        noisy[flipped] = _nearest_other_class(X[flipped], labels[flipped], X, labels, n_classes, rng)
        return noisy


def _nearest_sq_dist(X: np.ndarray, centres: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Squared distance of every row of X to its nearest centre, in row chunks (bounded memory)."""
    out = np.empty(X.shape[0])
    c2 = (centres ** 2).sum(axis=1)
    for start in range(0, X.shape[0], chunk):
        block = X[start:start + chunk]
        d2 = (block ** 2).sum(axis=1)[:, None] - 2 * block @ centres.T + c2[None]
        out[start:start + chunk] = np.maximum(d2.min(axis=1), 0.0)
    return out


def _nearest_other_class(points, own, X, labels, n_classes, rng) -> np.ndarray:
    """For each point, the class (≠ its own, among classes present) with the nearest mean feature."""
    present = np.unique(labels)
    means = np.stack([X[labels == c].mean(axis=0) for c in present])
    d2 = (points ** 2).sum(axis=1)[:, None] - 2 * points @ means.T + (means ** 2).sum(axis=1)[None]
    d2[present[None, :] == own[:, None]] = np.inf
    choice = present[d2.argmin(axis=1)]
    lonely = np.isinf(d2.min(axis=1))
    if lonely.any():  # only one class present: any other class is as near as the next
        choice[lonely] = _other_label_uniform(own[lonely], n_classes, rng)
    return choice


class FixedLabels(NoiseModel):
    """Noisy labels given up front (a real annotator's labels, e.g. CIFAR-100N or Clothing1M).

    ``apply`` returns them after checking their length and range; ``random_state`` is unused.
    :meth:`from_file` reads .npy, .pt/.pth (optionally a dict ``key``) or a text file of integers.
    """

    def __init__(self, noisy_labels):
        self.noisy_labels = noisy_labels

    @classmethod
    def from_file(cls, path, *, key: Optional[str] = None) -> "FixedLabels":
        """Load labels from ``path``: .npy, .pt/.pth (torch, a tensor or a dict with ``key``), else text."""
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"FixedLabels.from_file: no such file: {path}")
        suffix = os.path.splitext(path)[1].lower()
        if suffix == ".npy":
            data = np.load(path, allow_pickle=False)
        elif suffix in (".pt", ".pth"):
            import torch

            data = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(data, dict):
                if key is None or key not in data:
                    raise param_error("FixedLabels.from_file", "key", f"one of {sorted(data)}", key)
                data = data[key]
            data = np.asarray(data)
        else:
            data = np.loadtxt(path, dtype=np.int64, ndmin=1)
        return cls(data)

    def _apply(self, labels, n_classes, rng, X, function):
        noisy = _check_labels(self.noisy_labels, n_classes, function, "noisy_labels")
        if noisy.size != labels.size:
            raise param_error(function, "noisy_labels", f"one label per sample ({labels.size})",
                              f"{noisy.size} labels", describe=False)
        return noisy.copy()


class SimulatedAnnotator:
    """A noisy annotator simulated from true labels; each sample's answer is drawn once and kept.

    Parameters: ``true_labels`` (N,), ``noise`` a noise model, ``n_classes``, ``random_state``, and
    ``X`` (N, d) for instance-dependent noise. Attributes: ``true_labels``, ``noisy_labels`` (int64),
    ``is_noisy`` (bool), ``noise_rate`` (realised fraction), ``n_classes``.

    >>> annotator = SimulatedAnnotator([0, 1, 2, 3], SymmetricNoise(0.5), n_classes=4, random_state=0)
    >>> annotator([2, 3]).tolist(), annotator.noise_rate
    ([3, 0], 0.5)
    """

    def __init__(self, true_labels, noise: NoiseModel, *, n_classes: int, random_state=None, X=None):
        if not isinstance(noise, NoiseModel):
            raise param_error("SimulatedAnnotator", "noise", "a noise model from nas.noise", noise, exc=TypeError)
        self.n_classes = check_int(n_classes, "SimulatedAnnotator", "n_classes", low=1)
        self.true_labels = _check_labels(true_labels, self.n_classes, "SimulatedAnnotator")
        self.noise = noise
        self.noisy_labels = noise.apply(self.true_labels, n_classes=self.n_classes, random_state=random_state, X=X)
        self.is_noisy = self.noisy_labels != self.true_labels
        self.noise_rate = float(self.is_noisy.mean()) if self.is_noisy.size else 0.0

    def __call__(self, indices) -> np.ndarray:
        """The annotator's labels for the pool samples ``indices`` (the same answer every time)."""
        idx = check_indices(indices, self.noisy_labels.size, "SimulatedAnnotator", "indices", allow_duplicates=True)
        return self.noisy_labels[idx].copy()

    def __len__(self) -> int:
        return int(self.noisy_labels.size)


#: CLI name -> noise model class.
NOISE_MODELS = {"sym": SymmetricNoise, "asym": AsymmetricNoise, "instance": InstanceDependentNoise,
                "file": FixedLabels}


def make_noise(name: str, **kwargs) -> NoiseModel:
    """Build a noise model from its CLI name: sym, asym, instance, or file (``path=`` or ``noisy_labels=``).

    >>> make_noise("sym", rate=0.2)
    SymmetricNoise(rate=0.2)
    """
    check_choice(name, "make_noise", "name", tuple(NOISE_MODELS))
    if name == "file" and "path" in kwargs:
        return FixedLabels.from_file(kwargs.pop("path"), **kwargs)
    return NOISE_MODELS[name](**kwargs)
