"""Algorithm 2 of seed 000 §6: estimate the equilibrium noise rate n0 from the unlabeled pool alone.

n0 is the noise rate at which B/c_o clean labels and B/c_n labels with noise rate n0 give the same accuracy.
No annotation is spent: KMeans pseudo-labels stand in for the task, a stratified split gives a test set, the
oracle's accuracy is measured on R random subsets of N_o pseudo-labelled samples, and a binary search over the
injected noise rate compares it with R subsets of N_n samples whose pseudo-labels are corrupted at that rate.

Noise draws are coupled by default (spec §3.3(2)): per repeat r the subset D_n, the model seed, one permutation
of D_n and one replacement label per sample are fixed, and rate m corrupts the first floor(m·N_n) samples of that
permutation, so the corrupted sets are nested in m and Acc_n(m) is monotone up to training effects; the thesis'
fresh draw per step is ``coupled=False``.

Cost: KMeans on at most ``kmeans_samples`` rows (Θ(n·K·d) per Lloyd iteration) plus one prediction over the
working rows; then R·(1 + ceil(log2(1/tolerance))) probe fits — 30 with the defaults — each on N_o or N_n rows
only (``epochs``·ceil(N/100) SGD steps of Θ(100·d·K)) and evaluated on the test part. The pool size enters only
through the subsample of ``max_samples`` working rows, so a 1M-row memory-mapped pool costs what a 20k-row one
does (see the README's planner section for measured times).
"""
from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np
from tqdm.auto import tqdm

from nas_ext._validation import check_choice, check_features, check_float, check_int, param_error

from .rule import Costs, check_costs

__all__ = ["SearchStep", "EquilibriumEstimate", "estimate_equilibrium_noise", "pseudo_labels", "search_steps",
           "SEARCH_STRATEGIES"]

log = logging.getLogger(__name__)

#: strategies the simulated annotators can select with (the plain ones: NAS variants need a real annotator)
SEARCH_STRATEGIES = ("random", "probcover", "maxherding", "coreset", "typiclust")
DEFAULT_EPOCHS = 200


@dataclass(frozen=True)
class SearchStep:
    """One binary-search step: the injected rate, the R accuracies (%) at it, and whether the oracle won."""

    noise_rate: float
    accuracies: np.ndarray
    oracle_wins: bool

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))


@dataclass
class EquilibriumEstimate:
    """What Algorithm 2 found: ``n0`` and its diagnostics.

    ``reason`` is "search" (n0 from the binary search), "oracle_dominates" (t ≥ 1: n0 = 1 − t ≤ 0 analytically,
    no search), "oracle_unaffordable" (N_o = 0: n0 = 1) or "noisy_unaffordable" (N_n = 0: n0 = 0).
    ``acc_oracle`` is (R,) float64 in %, ``trace`` the search steps in order, ``curve`` extra (rate → (R,)
    accuracies) points measured for the plot.
    """

    n0: float
    reason: str
    costs: Costs
    n_oracle: int
    n_noisy: int
    acc_oracle: np.ndarray
    trace: List[SearchStep]
    interval: tuple
    curve: Dict[float, np.ndarray] = field(default_factory=dict)
    n_probes: int = 0
    n_rows: int = 0
    n_train: int = 0
    n_test: int = 0
    n_kmeans_rows: int = 0
    seconds: Dict[str, float] = field(default_factory=dict)
    settings: Dict[str, object] = field(default_factory=dict)

    @property
    def t(self) -> float:
        return self.costs.t

    @property
    def oracle_mean(self) -> float:
        return float(np.mean(self.acc_oracle)) if self.acc_oracle.size else math.nan

    def to_dict(self) -> dict:
        """JSON-ready: arrays become lists."""
        return {"n0": self.n0, "reason": self.reason, "budget": self.costs.budget,
                "cost_oracle": self.costs.cost_oracle, "cost_noisy": self.costs.cost_noisy, "t": self.t,
                "n_oracle": self.n_oracle, "n_noisy": self.n_noisy,
                "n_oracle_affordable": self.costs.n_oracle, "n_noisy_affordable": self.costs.n_noisy,
                "acc_oracle": self.acc_oracle.tolist(), "acc_oracle_mean": self.oracle_mean,
                "trace": [{"noise_rate": s.noise_rate, "accuracies": s.accuracies.tolist(), "mean": s.mean,
                           "oracle_wins": s.oracle_wins} for s in self.trace],
                "interval": list(self.interval),
                "curve": [{"noise_rate": r, "accuracies": a.tolist(), "mean": float(np.mean(a))}
                          for r, a in sorted(self.curve.items())],
                "n_probes": self.n_probes, "n_rows": self.n_rows, "n_train": self.n_train, "n_test": self.n_test,
                "n_kmeans_rows": self.n_kmeans_rows, "seconds": dict(self.seconds), "settings": dict(self.settings)}


def search_steps(tolerance: float) -> int:
    """Iterations of the bisection of [0, 1] down to width ≤ tolerance: ceil(log2(1/tolerance))."""
    steps, width = 0, 1.0
    while width > tolerance:
        width /= 2
        steps += 1
    return steps


def pseudo_labels(X: np.ndarray, n_clusters: int, *, fit_rows: Optional[np.ndarray] = None,
                  random_state: int = 0) -> np.ndarray:
    """KMeans cluster ids (int64, one per row of X), fitted on ``fit_rows`` of X (default all), one thread
    (bit-identical at any thread count)."""
    from sklearn.cluster import KMeans

    from nas.filters._threads import single_threaded

    with single_threaded():
        model = KMeans(n_clusters=n_clusters, n_init=3, random_state=random_state)
        model.fit(X if fit_rows is None else X[fit_rows])
        return model.predict(X).astype(np.int64)


class _Probe:
    """Fit-and-score of the model family M on (X_train[rows], y), accuracy (%) on the test part."""

    def __init__(self, X_train, X_test, y_test, n_classes: int, epochs: int, device: str, params: dict,
                 factory: Optional[Callable]):
        self.X_train, self.X_test, self.y_test = X_train, X_test, y_test
        self.n_classes, self.epochs, self.device, self.params = n_classes, epochs, device, params
        self.factory = factory
        self.count = 0

    def __call__(self, rows: np.ndarray, y: np.ndarray, seed: int) -> float:
        from nas.training import LinearProbe

        self.count += 1
        if self.factory is not None:
            model = self.factory(seed)
        else:
            model = LinearProbe(epochs=self.epochs, device=self.device, random_state=seed, **self.params)
        model.fit(self.X_train[rows], y, n_classes=self.n_classes)
        return float(model.score(self.X_test, self.y_test))


def _select(strategy, X_train: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.asarray(strategy.select(X_train, size, random_state=rng), dtype=np.int64)


class _NoisyArm:
    """The noisy annotator's R simulated runs; ``accuracies(rate)`` → (R,) float64, memoised by rate."""

    def __init__(self, probe: _Probe, strategy, X_train, y_train, size: int, n_classes: int, repeats: int,
                 seed: int, coupled: bool, model_seeds: List[int]):
        from nas.noise import SymmetricNoise

        self.probe, self.strategy, self.X_train, self.y_train = probe, strategy, X_train, y_train
        self.size, self.n_classes, self.repeats, self.seed = size, n_classes, repeats, seed
        self.coupled, self.model_seeds = coupled, model_seeds
        self.cache: Dict[float, np.ndarray] = {}
        self.draws = []
        if coupled:
            for r in range(repeats):
                rng = np.random.default_rng([seed, 1, r])
                rows = _select(strategy, X_train, size, rng)
                clean = y_train[rows]
                replacement = SymmetricNoise(1.0).apply(clean, n_classes=n_classes, random_state=rng) \
                    if n_classes > 1 else clean.copy()
                self.draws.append((rows, clean, replacement, rng.permutation(size)))

    def labels(self, r: int, rate: float, step_key: int) -> tuple:
        from nas.noise import SymmetricNoise

        if self.coupled:
            rows, clean, replacement, order = self.draws[r]
            noisy = clean.copy()
            flipped = order[:int(math.floor(rate * self.size + 1e-9))]
            noisy[flipped] = replacement[flipped]
            return rows, noisy
        rng = np.random.default_rng([self.seed, 3, step_key, r])
        rows = _select(self.strategy, self.X_train, self.size, rng)
        return rows, SymmetricNoise(rate).apply(self.y_train[rows], n_classes=self.n_classes, random_state=rng)

    def accuracies(self, rate: float, bar) -> np.ndarray:
        key = float(rate)
        if key not in self.cache:
            step_key = int(round(key * 2**30))
            acc = []
            for r in range(self.repeats):
                rows, y = self.labels(r, key, step_key)
                acc.append(self.probe(rows, y, self.model_seeds[r]))
                bar.update(1)
            self.cache[key] = np.asarray(acc, dtype=np.float64)
        return self.cache[key]


def estimate_equilibrium_noise(X, *, budget: float, cost_oracle: float, cost_noisy: float, n_classes: int,
                               repeats: int = 5, tolerance: float = 1 / 32, epochs: int = DEFAULT_EPOCHS,
                               strategy: str = "random", strategy_params: Optional[dict] = None,
                               coupled: bool = True, labels=None, test_fraction: float = 0.2,
                               max_samples: int = 20000, kmeans_samples: int = 10000,
                               curve_rates=(), training_params: Optional[dict] = None,
                               classifier_factory: Optional[Callable] = None, exclude=None, device: str = "cpu",
                               random_state: int = 0, progress: bool = False) -> EquilibriumEstimate:
    """Estimate n0 for (B, c_o, c_n) on the pool ``X`` (N, d) with Algorithm 2.

    Parameters
    ----------
    X : (N, d) float — unlabeled pool features (memory-mapped is fine: only ``max_samples`` rows are read).
    budget, cost_oracle, cost_noisy : B, c_o, c_n (> 0); N_o = floor(B/c_o), N_n = floor(B/c_n).
    n_classes : K, the number of KMeans pseudo-classes (the task's number of classes).
    repeats, tolerance : R runs per arm; the search stops when the bracket is ≤ tolerance wide.
    epochs : epochs of the linear probe (M); 200 by default, shorter than training's 500 (see README).
    strategy, strategy_params : how both simulated annotators pick their subsets (one of SEARCH_STRATEGIES).
    coupled : common random numbers across search steps (nested noise sets); False = fresh draws per step.
    labels : (N,) ints replacing the pseudo-labels (e.g. the true labels, to check the proxy: spec P3).
    curve_rates : extra injected rates measured for the accuracy-vs-noise plot (R probes each).
    classifier_factory : seed → an estimator with ``fit(X, y, n_classes=)`` and ``score(X, y)`` in %
        (default: ``LinearProbe(epochs=epochs, **training_params)``).
    exclude : pool rows to leave out (e.g. the already-labeled samples of a workspace).
    random_state : int seed of everything (KMeans, split, subsets, noise, models).

    Returns
    -------
    EquilibriumEstimate (n0, reason, acc_oracle (R,), trace, N_o, N_n, timings, ...).
    """
    owner = "estimate_equilibrium_noise"
    costs = check_costs(budget, cost_oracle, cost_noisy, owner)
    X = check_features(X, owner, "X", min_rows=4) if not isinstance(X, np.memmap) else X
    if X.ndim != 2:
        raise param_error(owner, "X", "a 2-D array of shape (n_samples, n_features)", X)
    n_classes = check_int(n_classes, owner, "n_classes", low=2)
    repeats = check_int(repeats, owner, "repeats", low=1)
    tolerance = check_float(tolerance, owner, "tolerance", low=0.0, high=1.0, low_open=True, high_open=True)
    epochs = check_int(epochs, owner, "epochs", low=1)
    check_choice(strategy, owner, "strategy", SEARCH_STRATEGIES)
    test_fraction = check_float(test_fraction, owner, "test_fraction", low=0.0, high=1.0, low_open=True,
                                high_open=True)
    max_samples = check_int(max_samples, owner, "max_samples", low=2 * n_classes)
    kmeans_samples = check_int(kmeans_samples, owner, "kmeans_samples", low=n_classes)
    random_state = check_int(random_state, owner, "random_state", low=0)
    rates = [check_float(r, owner, "curve_rates", low=0.0, high=1.0) for r in curve_rates]
    settings = {"repeats": repeats, "n_pool": int(X.shape[0]), "tolerance": tolerance, "epochs": epochs,
                "strategy": strategy,
                "strategy_params": dict(strategy_params or {}), "coupled": bool(coupled),
                "pseudo_labels": "given" if labels is not None else "kmeans", "n_classes": n_classes,
                "test_fraction": test_fraction, "max_samples": max_samples, "kmeans_samples": kmeans_samples,
                "random_state": random_state, "training_params": dict(training_params or {})}
    empty = np.empty(0, dtype=np.float64)
    shortcut = _shortcut(costs)
    if shortcut is not None:
        n0, reason = shortcut
        log.info("n0 = %g without a search (%s)", n0, reason)
        return EquilibriumEstimate(n0=n0, reason=reason, costs=costs, n_oracle=costs.n_oracle,
                                   n_noisy=costs.n_noisy, acc_oracle=empty, trace=[], interval=(n0, n0),
                                   settings=settings)

    seconds: Dict[str, float] = {}
    start = time.perf_counter()
    rng = np.random.default_rng([random_state, 0])
    candidates = np.arange(X.shape[0])
    if exclude is not None:
        from nas_ext._validation import check_indices

        candidates = np.setdiff1d(candidates, check_indices(exclude, X.shape[0], owner, "exclude"))
        if candidates.size < 4:
            raise param_error(owner, "exclude", "leaving at least 4 pool rows", candidates.size, describe=False)
    n_needed = math.ceil(max(costs.n_oracle, costs.n_noisy) / (1 - test_fraction)) + 1
    n_rows = min(candidates.size, max(max_samples, n_needed))
    rows = candidates if n_rows == candidates.size else np.sort(rng.choice(candidates, n_rows, replace=False))
    if n_rows < X.shape[0]:
        log.info("Algorithm 2 works on %d of the %d pool rows", n_rows, X.shape[0])
    U = np.ascontiguousarray(X[rows], dtype=np.float32)
    if not np.isfinite(U).all():
        raise param_error(owner, "X", "finite (no NaN or inf)", "non-finite values", describe=False)
    seconds["read"] = time.perf_counter() - start

    start = time.perf_counter()
    if labels is not None:
        y = np.asarray(labels)
        if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
            raise param_error(owner, "labels", f"a 1-D integer array of {X.shape[0]} labels", y)
        y = y.astype(np.int64)[rows]
        if y.min() < 0 or y.max() >= n_classes:
            bad = int(y.min()) if y.min() < 0 else int(y.max())
            raise param_error(owner, "labels", f"labels in [0, {n_classes})", f"label {bad}", describe=False)
        n_kmeans = 0
    else:
        n_kmeans = min(n_rows, kmeans_samples)
        fit_rows = None if n_kmeans == n_rows else np.sort(rng.choice(n_rows, n_kmeans, replace=False))
        y = pseudo_labels(U, n_classes, fit_rows=fit_rows, random_state=random_state)
    seconds["pseudo_labels"] = time.perf_counter() - start

    train, test = _split(y, test_fraction, random_state)
    n_oracle = _cap(costs.n_oracle, train.size, "oracle")
    n_noisy = _cap(costs.n_noisy, train.size, "noisy annotator")
    from nas.strategies import make_strategy
    from nas.training._sgd import one_cpu_thread

    base = make_strategy(strategy, **dict(strategy_params or {}))
    U_train, y_train = U[train], y[train]  # one object: a strategy's fitted graph is reused across repeats
    probe = _Probe(U_train, U[test], y[test], n_classes, epochs, device, dict(training_params or {}),
                   classifier_factory)
    model_seeds = [int(np.random.default_rng([random_state, 2, r]).integers(2**62)) for r in range(repeats)]
    n_steps = search_steps(tolerance)
    total = repeats * (1 + n_steps + len(rates))
    start = time.perf_counter()
    with one_cpu_thread(device), tqdm(total=total, desc="Algorithm 2 (probes)", disable=not progress) as bar:
        acc_o = []
        for r in range(repeats):
            picks = _select(base, U_train, n_oracle, np.random.default_rng([random_state, 0, r]))
            acc_o.append(probe(picks, y_train[picks], model_seeds[r]))
            bar.update(1)
        acc_o = np.asarray(acc_o, dtype=np.float64)
        seconds["oracle_arm"] = time.perf_counter() - start
        start = time.perf_counter()
        arm = _NoisyArm(probe, base, U_train, y_train, n_noisy, n_classes, repeats, random_state,
                        bool(coupled), model_seeds)
        lo, hi, trace = 0.0, 1.0, []
        while hi - lo > tolerance:
            mid = (lo + hi) / 2
            acc_n = arm.accuracies(mid, bar)
            oracle_wins = bool(acc_o.mean() > acc_n.mean())
            trace.append(SearchStep(mid, acc_n, oracle_wins))
            log.info("search: rate %.4f  Acc_n %.2f vs Acc_o %.2f -> %s", mid, acc_n.mean(), acc_o.mean(),
                     "oracle" if oracle_wins else "noisy")
            hi, lo = (mid, lo) if oracle_wins else (hi, mid)
            bar.set_postfix(n0=f"[{lo:.3f}, {hi:.3f}]")
        seconds["search"] = time.perf_counter() - start
        start = time.perf_counter()
        curve = {float(rate): arm.accuracies(rate, bar) for rate in rates}
        seconds["curve"] = time.perf_counter() - start
        bar.total = bar.n  # rates both searched and plotted were trained once
        bar.refresh()
    return EquilibriumEstimate(n0=(lo + hi) / 2, reason="search", costs=costs, n_oracle=n_oracle, n_noisy=n_noisy,
                               acc_oracle=acc_o, trace=trace, interval=(lo, hi), curve=curve,
                               n_probes=probe.count, n_rows=n_rows, n_train=int(train.size),
                               n_test=int(test.size), n_kmeans_rows=n_kmeans, seconds=seconds, settings=settings)


def _shortcut(costs: Costs):
    """(n0, reason) when no search is needed (spec §3.1 corollary, §3.3(7)), else None."""
    if costs.n_oracle == 0:
        return 1.0, "oracle_unaffordable"
    if costs.n_noisy == 0:
        return 0.0, "noisy_unaffordable"
    if costs.t >= 1.0:
        return 1.0 - costs.t, "oracle_dominates"
    return None


def _split(y: np.ndarray, test_fraction: float, seed: int) -> tuple:
    """Stratified train/test positions (by pseudo-label); unstratified, with a warning, when a class is too small."""
    from sklearn.model_selection import train_test_split

    positions = np.arange(y.size)
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 and round(test_fraction * y.size) >= np.count_nonzero(counts) \
        else None
    if stratify is None:
        warnings.warn("Some pseudo-class is too small for a stratified split; splitting at random instead.",
                      UserWarning, stacklevel=3)
    train, test = train_test_split(positions, test_size=test_fraction, stratify=stratify, random_state=seed)
    return np.sort(train), np.sort(test)


def _cap(n: int, available: int, who: str) -> int:
    if n > available:
        warnings.warn(f"The budget buys {n} labels from the {who} but the training part of the pool holds "
                      f"{available}; simulating {available}.", UserWarning, stacklevel=3)
        return available
    return n
