"""NAS, Noise-Aware Active Sampling (seed 000 §3.2, Alg. 1 and Alg. 3): a meta-strategy around a greedy
coverage strategy S and a noise filter A.

A round's budget is split into shares. Before each share A partitions the labeled set into predicted
clean and noisy samples (optionally with noise dropout); S then picks the share treating only the clean
ones as covering, so a region whose representative came back mislabeled stays uncovered and is
sampled again. NPC = ProbCover + NAS, Weighted NPC adds the 1 - q̂ weight, MaxHerding + NAS,
Coreset + NAS.

Decisions where the reference code differs or breaks (reference-algorithms §4, §5, §13, §14):

* Shares: b = ``batch_size`` or n_classes (1 with an ideal filter); floor(B/b) shares with the
  remainder added to the first one, as the reference — and a budget below b is one share of B
  (the reference crashed).
* The filter runs before every share that needs a partition and once after the last one (the
  returned ``is_clean``, never with dropout); none is wasted.
* Fewer labeled samples than classes: no filtering, everything clean (reference NPC; its MaxHerding
  and Coreset variants filtered anyway) — for every strategy; an ideal filter always runs.
* Noise dropout h = max(min(q̂, 1 - q̂), 0.1), floor(h·#noisy) predicted-noisy samples moved to clean,
  redrawn per share; it reaches every strategy (the reference's MaxHerding + NAS applied it after
  extracting the partition, i.e. never, and crashed with an empty labeled set).
* Weighted NPC uses q̂ after dropout, as the reference; ``weighted_mode='per_source'`` is its
  unreachable "factor" variant.
* Every random choice is seeded from ``random_state`` and the number of labeled samples, so a
  replayed share (e.g. a resumed workspace) gives the same picks.
"""
from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
from tqdm.auto import tqdm

from nas_ext._validation import check_choice, check_features, check_indices, check_int, param_error

from .strategies.base import Strategy, _ValidatedFeatures
from .strategies.registry import make_strategy, nas_options, strategy_class

__all__ = ["NAS", "NASResult", "make_selector"]

logger = logging.getLogger(__name__)

WEIGHT_MODES = ("once", "per_source")


@dataclass
class NASResult:
    """What ``NAS.run`` returns.

    labeled : int64 (n_labeled,) — the initial labeled samples followed by the picks, in query order
    labels : int64 (n_labeled,) — the annotator's labels of ``labeled``
    is_clean : bool (n_labeled,) — the filter's final partition of ``labeled`` (no dropout), the mask to
        train on; all True when fewer samples than classes are labeled
    history : one dict per share: ``share``, ``size``, ``mode`` ('nas', 'plain' before ``start_after``,
        'unfiltered' below n_classes labeled), ``n_labeled`` (before the share), ``picks``,
        ``predicted_noise_rate`` (q̂ of the filter, None when it did not run), ``noise_rate_used``
        (after dropout), ``n_dropped_out``, ``noisy_weight`` (Weighted NPC), ``timings``
    timings : seconds summed over shares per stage (``filter``, ``dropout``, ``selection``, ``fit``,
        ``annotate``, ``final_filter``, ``total``)
    """

    labeled: np.ndarray
    labels: np.ndarray
    is_clean: np.ndarray
    history: List[dict] = field(default_factory=list)
    timings: Dict[str, float] = field(default_factory=dict)

    @property
    def picks(self) -> np.ndarray:
        """The samples queried by this run, in order."""
        if not self.history:
            return np.empty(0, dtype=np.int64)
        return np.concatenate([share["picks"] for share in self.history])


class NAS:
    """Noise-Aware Active Sampling around a coverage strategy and a noise filter.

    Parameters
    ----------
    strategy : a Strategy with ``supports_noise`` (ProbCover, MaxHerding, Coreset).
    noise_filter : an object with ``fit_predict(X, y, *, pool=None, n_classes=None, indices=None) -> bool
        is_clean`` (``nas.filters``); ``is_ideal = True`` marks an oracle filter (shares of size 1).
    n_classes : int, the number of classes C.
    batch_size : int or None, the share size b (default C, or 1 with an ideal filter).
    noise_dropout : bool, move floor(h·#noisy) random predicted-noisy samples to clean before each
        share, h = max(min(q̂, 1 - q̂), 0.1) (paper §3.2; selection only, never the returned mask).
    weighted : bool, Weighted NPC (needs a strategy with ``supports_weighting``: ProbCover).
    weighted_mode : 'once' (weight 1 - q̂ per node) or 'per_source' ((1 - q̂)^k for k covering noisy samples).
    start_after : int or None, use the plain strategy (every labeled sample covering, no filter) while
        fewer than this many samples are labeled, NAS after (appendix E, Fig. 4.5b: 4·E[SPC]·C).
    random_state : None, int or numpy Generator.
    filter_pool_size : int or None, how many random unlabeled samples' features to pass to the filter as
        ``pool`` (LowBudgetAUM draws its fake class from them); default max(|L|, 512), capped by |U|.
    progress : bool, show a tqdm bar over the picks of ``run``.

    Cost per round: one strategy fit per pool (the graph), plus per share one filter call and one
    strategy ``select``: for ProbCover, when the partition changed, an O(n) copy of a pristine coverage
    state plus the clean set's coverage (at most one O(E) pass; the graph is never copied), and
    O(|L| + the new coverage) when it only grew (always the case with an ideal filter), i.e.
    T_S + (B/b)·T_A. Weighted NPC re-derives the state every share, as 1 - q̂ changes with every label.

    >>> import numpy as np
    >>> from nas import NAS
    >>> from nas.filters import Ideal
    >>> from nas.strategies import ProbCover
    >>> rng = np.random.default_rng(0)
    >>> X = np.repeat(np.eye(4, 8), 25, axis=0) + 0.01 * rng.standard_normal((100, 8))
    >>> truth = np.repeat(np.arange(4), 25)
    >>> is_noisy = np.zeros(100, dtype=bool); is_noisy[0] = True    # sample 0 will come back mislabeled
    >>> nas = NAS(ProbCover(0.5, tie_break="lowest"), Ideal(is_noisy), n_classes=4, progress=False)
    >>> result = nas.run(X, 5, lambda idx: (truth[idx] + is_noisy[idx]) % 4)
    >>> result.labeled.tolist(), result.is_clean.tolist()     # class 0 is sampled again after the noisy 0
    ([0, 1, 25, 50, 75], [False, True, True, True, True])
    """

    def __init__(self, strategy: Strategy, noise_filter, *, n_classes: int, batch_size: Optional[int] = None,
                 noise_dropout: bool = False, weighted: bool = False, weighted_mode: str = "once",
                 start_after: Optional[int] = None, random_state=None, filter_pool_size: Optional[int] = None,
                 progress: bool = True) -> None:
        if not isinstance(strategy, Strategy):
            raise param_error("NAS", "strategy", "a nas.strategies.Strategy", strategy, exc=TypeError)
        if not strategy.supports_noise:
            raise TypeError(f"NAS cannot wrap {type(strategy).__name__}: it does not use a clean/noisy partition "
                            "of the labeled set. Wrap a coverage strategy (ProbCover, MaxHerding or Coreset).")
        if not callable(getattr(noise_filter, "fit_predict", None)):
            raise param_error("NAS", "noise_filter", "a noise filter with fit_predict (see nas.filters)",
                              noise_filter, exc=TypeError)
        self.strategy = strategy
        self.noise_filter = noise_filter
        self.n_classes = check_int(n_classes, "NAS", "n_classes", low=1)
        self.batch_size = None if batch_size is None else check_int(batch_size, "NAS", "batch_size", low=1)
        self.noise_dropout = bool(noise_dropout)
        self.weighted = bool(weighted)
        self.weighted_mode = check_choice(weighted_mode, "NAS", "weighted_mode", WEIGHT_MODES)
        if self.weighted and not strategy.supports_weighting:
            raise param_error("NAS", "weighted", "False for a strategy without noisy_weight support "
                              f"(Weighted NPC needs ProbCover; got {type(strategy).__name__})", True, describe=False)
        self.start_after = None if start_after is None else check_int(start_after, "NAS", "start_after", low=0)
        self.random_state = random_state
        self.filter_pool_size = (None if filter_pool_size is None
                                 else check_int(filter_pool_size, "NAS", "filter_pool_size", low=1))
        self.progress = bool(progress)
        self.last_share_: Optional[dict] = None
        self._features = _ValidatedFeatures()

    def __repr__(self) -> str:
        return (f"NAS({self.strategy!r}, {type(self.noise_filter).__name__}, n_classes={self.n_classes}, "
                f"noise_dropout={self.noise_dropout}, weighted={self.weighted})")

    # ------------------------------------------------------------------ public API
    @property
    def share_size(self) -> int:
        """b: ``batch_size`` if given, else 1 for an ideal filter and n_classes otherwise."""
        if self.batch_size is not None:
            return self.batch_size
        return 1 if getattr(self.noise_filter, "is_ideal", False) else self.n_classes

    def share_sizes(self, budget: int, n_labeled: int = 0) -> List[Tuple[int, bool]]:
        """The shares a round of ``budget`` picks is split into, as (size, plain) pairs.

        A plain share (before ``start_after`` labels) comes first; the rest is floor(rest/b) shares of b
        with the remainder added to the first, or one share of the whole rest when it is below b.
        """
        plain = 0
        if self.start_after is not None:
            plain = min(max(self.start_after - n_labeled, 0), budget)
        rest = budget - plain
        sizes: List[Tuple[int, bool]] = [(plain, True)] if plain else []
        if rest:
            count, remainder = divmod(rest, self.share_size)
            if count == 0:
                sizes.append((rest, False))
            else:
                sizes.append((self.share_size + remainder, False))
                sizes.extend((self.share_size, False) for _ in range(count - 1))
        return sizes

    def step(self, X, labeled, labels, *, budget: int, is_clean=None) -> np.ndarray:
        """The next ``budget`` picks (one share): filter the labeled set (unless ``is_clean`` gives the
        partition, or fewer than n_classes / ``start_after`` samples are labeled), apply noise dropout,
        select with the strategy. Details and per-stage timings of the share go to ``last_share_``."""
        array, labeled, labels, is_clean = self._check_inputs(X, labeled, labels, is_clean, "NAS.step")
        budget = check_int(budget, "NAS.step", "budget", low=1, high=array.shape[0] - labeled.size)
        plain = self.start_after is not None and labeled.size < self.start_after
        picks, info = self._share(array, labeled, labels, budget, plain, is_clean)
        self.last_share_ = info
        return picks

    def partition(self, X, labeled, labels) -> Tuple[np.ndarray, Optional[float]]:
        """The filter's partition of ``labeled`` (no dropout) and its predicted noise rate, computed and seeded
        exactly as the ``is_clean`` that ``run`` returns: for callers that collect the labels themselves
        (annotation workspaces). All clean, rate None, while too few samples are labeled to filter."""
        array, labeled, labels, _ = self._check_inputs(X, labeled, labels, None, "NAS.partition")
        return self._filter(array, labeled, labels, self._rng(labeled.size), final=True)

    def run(self, X, budget: int, annotator: Callable[[np.ndarray], Any], *, labeled=(), labels=(),
            is_clean=None) -> NASResult:
        """Spend ``budget`` picks share by share, asking ``annotator(indices) -> labels`` after each.

        ``labeled``/``labels`` are the samples labeled before this round; ``is_clean`` optionally gives
        their partition (e.g. the previous round's result) so the first share needs no filter call.
        """
        start = time.perf_counter()
        array, labeled, labels, is_clean = self._check_inputs(X, labeled, labels, is_clean, "NAS.run")
        budget = check_int(budget, "NAS.run", "budget", low=1, high=array.shape[0] - labeled.size)
        shares = self.share_sizes(budget, labeled.size)
        history: List[dict] = []
        name = type(self.strategy).__name__
        with tqdm(total=budget, desc=f"NAS[{name}]", unit="pick", disable=not self.progress, leave=False) as bar:
            for number, (size, plain) in enumerate(shares):
                picks, info = self._share(array, labeled, labels, size, plain, is_clean if number == 0 else None)
                t0 = time.perf_counter()
                answers = self._check_answers(annotator(picks), picks.size)
                info["timings"]["annotate"] = time.perf_counter() - t0
                info["share"] = number
                labeled = np.concatenate([labeled, picks])
                labels = np.concatenate([labels, answers])
                history.append(info)
                self.last_share_ = info
                bar.update(size)
                logger.info("NAS share %d/%d (%s): %d labeled, predicted noise %s, %d picks", number + 1,
                            len(shares), info["mode"], info["n_labeled"], _fmt_rate(info["predicted_noise_rate"]),
                            size)
        t0 = time.perf_counter()
        final_mask, _ = self.partition(array, labeled, labels)
        totals: Dict[str, float] = {}
        for info in history:
            for stage, seconds in info["timings"].items():
                totals[stage] = totals.get(stage, 0.0) + seconds
        totals["final_filter"] = time.perf_counter() - t0
        totals["total"] = time.perf_counter() - start
        return NASResult(labeled, labels, final_mask, history, totals)

    # ------------------------------------------------------------------ one share
    def _share(self, X: np.ndarray, labeled: np.ndarray, labels: np.ndarray, size: int, plain: bool,
               is_clean: Optional[np.ndarray]) -> Tuple[np.ndarray, dict]:
        rng = self._rng(labeled.size)
        timings: Dict[str, float] = {"filter": 0.0, "dropout": 0.0}
        predicted = None
        if plain:
            mode, mask = "plain", np.ones(labeled.size, dtype=bool)
        elif is_clean is not None:
            mode, mask = "nas", is_clean.copy()
            predicted = float(1.0 - mask.mean()) if mask.size else 0.0
        else:
            t0 = time.perf_counter()
            mask, predicted = self._filter(X, labeled, labels, rng)
            timings["filter"] = time.perf_counter() - t0
            mode = "nas" if predicted is not None else "unfiltered"
        dropped = 0
        if self.noise_dropout and mode == "nas":
            t0 = time.perf_counter()
            dropped = self._dropout(mask, rng)
            timings["dropout"] = time.perf_counter() - t0
        used = float(1.0 - mask.mean()) if mask.size else 0.0
        clean, noisy = labeled[mask], labeled[~mask]
        extra = {}
        weight = None
        if self.weighted and mode == "nas" and noisy.size:
            weight = 1.0 - used
            extra = {"noisy_weight": weight, "weight_mode": self.weighted_mode}
        picks = self.strategy.select(X, size, clean=clean, noisy=noisy, random_state=rng, **extra)
        strategy_timings = self.strategy.last_timings_
        timings["fit"] = strategy_timings.get("fit", 0.0)
        timings["selection"] = strategy_timings.get("selection", 0.0)
        info = {"size": size, "mode": mode, "n_labeled": int(labeled.size), "picks": picks,
                "predicted_noise_rate": predicted, "noise_rate_used": used, "n_dropped_out": dropped,
                "noisy_weight": weight, "timings": timings, "strategy_timings": dict(strategy_timings)}
        return picks, info

    def _filter(self, X: np.ndarray, labeled: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                *, final: bool = False) -> Tuple[np.ndarray, Optional[float]]:
        """The filter's clean mask over ``labeled`` and its noise rate; all clean (rate None) while nothing
        or, for a non-ideal filter, fewer than n_classes samples are labeled (reference NPC step 5).

        An all-noisy partition is harmless for selection, so the filter's AllNoisyWarning is kept only for
        the ``final`` mask (the one a model is trained on)."""
        from .filters import AllNoisyWarning

        ideal = getattr(self.noise_filter, "is_ideal", False)
        if labeled.size == 0 or (labeled.size < self.n_classes and not ideal):
            return np.ones(labeled.size, dtype=bool), None
        pool = None if ideal else self._pool(X, labeled, rng)
        with warnings.catch_warnings():
            if not final:
                warnings.simplefilter("ignore", AllNoisyWarning)
            mask = self.noise_filter.fit_predict(X[labeled], labels, pool=pool, n_classes=self.n_classes,
                                                 indices=labeled)
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (labeled.size,):
            raise param_error(f"{type(self.noise_filter).__name__}.fit_predict", "return value",
                              f"a bool array of shape ({labeled.size},)", mask, exc=TypeError)
        return mask.copy(), float(1.0 - mask.mean())

    def _pool(self, X: np.ndarray, labeled: np.ndarray, rng: np.random.Generator) -> Optional[np.ndarray]:
        """Features of a seeded random subset of the unlabeled samples (sorted), for the filter's ``pool``.

        Rejection sampling (O(size) draws) while the subset is at most half the unlabeled pool, instead
        of materialising and permuting the whole unlabeled index list every share."""
        n = X.shape[0]
        n_unlabeled = n - labeled.size
        size = self.filter_pool_size if self.filter_pool_size is not None else max(labeled.size, 512)
        size = min(size, n_unlabeled)
        if size == 0:
            return None
        is_labeled = np.zeros(n, dtype=bool)
        is_labeled[labeled] = True
        if 2 * size > n_unlabeled:
            chosen = rng.choice(np.flatnonzero(~is_labeled), size=size, replace=False)
        else:
            chosen = np.empty(0, dtype=np.int64)
            while chosen.size < size:
                draw = rng.integers(0, n, size=2 * (size - chosen.size))
                draw = draw[~is_labeled[draw]]
                merged = np.concatenate([chosen, draw])
                _, first = np.unique(merged, return_index=True)
                chosen = merged[np.sort(first)][:size]
        return X[np.sort(chosen)]

    @staticmethod
    def _dropout(mask: np.ndarray, rng: np.random.Generator) -> int:
        """Noise dropout in place: move floor(h·#noisy) random predicted-noisy entries to clean."""
        noisy = np.flatnonzero(~mask)
        if noisy.size == 0:
            return 0
        rate = noisy.size / mask.size
        h = max(min(rate, 1.0 - rate), 0.1)
        count = int(math.floor(h * noisy.size))
        if count:
            mask[rng.choice(noisy, size=count, replace=False)] = True
        return count

    # ------------------------------------------------------------------ helpers
    def _rng(self, n_labeled: int) -> np.random.Generator:
        if isinstance(self.random_state, np.random.Generator):
            return self.random_state
        if self.random_state is None:
            return np.random.default_rng()
        seed = check_int(self.random_state, "NAS", "random_state", low=0)
        return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(n_labeled,)))

    def _check_inputs(self, X, labeled, labels, is_clean, function: str):
        if self._features.matches(X):
            array = self._features.array
        else:
            array = check_features(X, function)
            self._features.store(X, array)
        labeled = check_indices(labeled, array.shape[0], function, "labeled")
        labels = np.asarray(labels)
        if labels.size == 0 and labeled.size == 0:
            labels = np.empty(0, dtype=np.int64)
        if labels.shape != labeled.shape or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
            raise param_error(function, "labels", f"an int array of shape ({labeled.size},) like 'labeled'", labels)
        labels = labels.astype(np.int64, copy=False)
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
            bad = labels[(labels < 0) | (labels >= self.n_classes)][0]
            raise param_error(function, "labels", f"class ids in [0, {self.n_classes})", f"label {bad}",
                              describe=False)
        if is_clean is not None:
            is_clean = np.asarray(is_clean)
            if is_clean.dtype != bool or is_clean.shape != labeled.shape:
                raise param_error(function, "is_clean", f"a bool array of shape ({labeled.size},)", is_clean)
        if array.shape[0] - labeled.size < 1:
            raise param_error(function, "labeled", "leaving at least one unlabeled sample",
                              f"all {array.shape[0]} samples labeled", describe=False)
        return array, labeled, labels, is_clean

    def _check_answers(self, answers, count: int) -> np.ndarray:
        answers = np.asarray(answers)
        if answers.shape != (count,) or not np.issubdtype(answers.dtype, np.integer):
            raise param_error("NAS.run", "annotator", f"a callable returning {count} int labels", answers,
                              exc=TypeError)
        if answers.min() < 0 or answers.max() >= self.n_classes:
            raise param_error("NAS.run", "annotator", f"labels in [0, {self.n_classes})",
                              f"label {answers[(answers < 0) | (answers >= self.n_classes)][0]}", describe=False)
        return answers.astype(np.int64, copy=False)


def _fmt_rate(rate: Optional[float]) -> str:
    return "n/a" if rate is None else f"{rate:.3f}"


def make_selector(name: str, noise_filter=None, *, n_classes: Optional[int] = None,
                  nas_kwargs: Optional[dict] = None, **strategy_kwargs):
    """The selector behind a CLI strategy name: a ``Strategy`` for plain names (random, probcover,
    maxherding, coreset, typiclust), a ``NAS`` around the base strategy for NAS names (npc,
    weighted_npc, maxherding_nas, coreset_nas), which need ``noise_filter`` and ``n_classes``.

    ``strategy_kwargs`` go to the strategy (e.g. ``delta=0.65``, ``sigma=1.0``), ``nas_kwargs`` to NAS
    (e.g. ``{'noise_dropout': True, 'random_state': 0}``). ProbCover-family names with ``delta=None``
    get ``n_clusters=n_classes`` for the delta heuristic. Callers tell the two apart with
    ``isinstance(selector, NAS)``: a Strategy is driven with ``select``, a NAS with ``run``.
    """
    options = nas_options(name)
    kwargs = dict(strategy_kwargs)
    if (strategy_class(name).__name__ == "ProbCover" and kwargs.get("delta") is None
            and "n_clusters" not in kwargs and n_classes is not None):
        kwargs["n_clusters"] = n_classes
    strategy = make_strategy(name, **kwargs)
    if options is None:
        if nas_kwargs:
            raise param_error("make_selector", "nas_kwargs", f"empty for the plain strategy {name!r}", nas_kwargs)
        return strategy
    if noise_filter is None or n_classes is None:
        raise param_error("make_selector", "noise_filter" if noise_filter is None else "n_classes",
                          f"given for the NAS strategy {name!r}", None)
    options.update(nas_kwargs or {})
    return NAS(strategy, noise_filter, n_classes=n_classes, **options)
