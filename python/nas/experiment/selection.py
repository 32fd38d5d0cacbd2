"""How the experiment runner queries one round with a strategy named on the command line.

Plain strategies (random, probcover, maxherding, coreset, typiclust) select the whole round budget at once and,
as in the reference, treat every labeled sample as covering. NAS strategies (npc, weighted_npc, maxherding_nas,
coreset_nas) run :class:`nas.NAS`, which alternates shares of b samples with calls to the noise filter; its first
share starts from the partition the pre-training filter produced in the previous round (reference §11.3).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Optional

import numpy as np

__all__ = ["STRATEGY_NAMES", "NAS_STRATEGIES", "LabeledSet", "Query", "Selector", "SharedGraphs",
           "strategy_options"]

NAS_STRATEGIES = ("npc", "weighted_npc", "maxherding_nas", "coreset_nas")
STRATEGY_NAMES = ("random", "probcover", "maxherding", "coreset", "typiclust") + NAS_STRATEGIES
_PROBCOVER = ("probcover", "npc", "weighted_npc")
_MAXHERDING = ("maxherding", "maxherding_nas")
_CORESET = ("coreset", "coreset_nas")
DELTA_POLICY_ALIASES = {"constant": None, "none": None, "max_degree": "max_degree",
                        "max_deg_after_lt_2_take_min": "max_degree"}


@dataclass
class LabeledSet:
    """The labeled pool of one strategy: sample ids, their annotated labels, the latest pre-training filter mask."""

    indices: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    labels: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    is_clean: np.ndarray = field(default_factory=lambda: np.empty(0, bool))

    def add(self, picks: np.ndarray, labels: np.ndarray) -> None:
        """Append queried samples; they count as clean until the filter says otherwise."""
        self.indices = np.concatenate([self.indices, np.asarray(picks, np.int64)])
        self.labels = np.concatenate([self.labels, np.asarray(labels, np.int64)])
        self.is_clean = np.concatenate([self.is_clean, np.ones(len(picks), bool)])


@dataclass
class Query:
    """The samples one round queried, with the strategy's timings and what NAS's filter calls reported."""

    picks: np.ndarray
    labels: np.ndarray
    timings: Dict[str, float] = field(default_factory=dict)
    n_filter_calls: int = 0
    internal_noise_rate: float = float("nan")


class SharedGraphs:
    """One radius graph for every ProbCover-family strategy (probcover, npc, weighted_npc) on the same pool.

    The graph depends only on the features, δ and the metric, and at 100k samples building it is by far the most
    expensive step of a round (see bench/bench_experiment.py); without sharing, each strategy of each repeat would
    build the same one. With ``delta=None`` (ProbCover's purity rule, seeded by the repeat) the graph and the δ it
    chose are shared by the strategies of one repeat.
    """

    def __init__(self) -> None:
        self._graphs: Dict[tuple, tuple] = {}

    def fit(self, strategy, X) -> None:
        """Fit ``strategy`` on ``X``, adopting a graph built before for the same settings when there is one."""
        from nas.strategies import ProbCover

        if not isinstance(strategy, ProbCover):
            return
        key = self._key(strategy)
        if key not in self._graphs:
            strategy.fit(X)
            self._graphs[key] = (strategy.graph_, strategy.delta_)
            return
        graph, delta = self._graphs[key]
        if strategy.delta is None:
            strategy.delta = delta
        strategy.fit(X, graph=graph)

    @staticmethod
    def _key(strategy) -> tuple:
        common = (strategy.metric, str(strategy.device))
        if strategy.delta is not None:
            return ("delta", strategy.delta) + common
        grid = None if strategy.purity_grid is None else tuple(strategy.purity_grid)
        return ("purity", strategy.n_clusters, strategy.purity, grid, strategy.purity_max_samples,
                strategy.random_state) + common


class Selector:
    """One strategy, ready to query rounds: ``query(X, labeled, budget, annotator, random_state) -> Query``.

    Wraps what ``nas.make_selector`` returns: a Strategy (driven with ``select``) or a NAS (driven with ``run``).
    Strategies that take a ``random_state`` (ProbCover's δ rule) get ``random_state`` unless it is given. The first
    query fits the strategy on the pool through ``graphs`` (a :class:`SharedGraphs`), when given.
    """

    def __init__(self, name: str, *, n_classes: int, noise_filter, strategy_params: Optional[dict] = None,
                 nas_params: Optional[dict] = None, random_state: Optional[int] = None,
                 graphs: Optional[SharedGraphs] = None):
        from nas import NAS, make_selector

        self.name = name
        is_nas = name in NAS_STRATEGIES
        nas_kwargs = dict({"random_state": random_state, "progress": False}, **(nas_params or {})) if is_nas else None
        params = dict(strategy_params or {})
        if "random_state" in _constructor_parameters(name):
            params.setdefault("random_state", random_state)
        self.selector = make_selector(name, noise_filter if is_nas else None, n_classes=n_classes,
                                      nas_kwargs=nas_kwargs, **params)
        self.is_nas = isinstance(self.selector, NAS)
        self.strategy = self.selector.strategy if self.is_nas else self.selector
        self._graphs = graphs
        self._fitted = graphs is None

    def query(self, X, labeled: LabeledSet, budget: int, annotator: Callable, random_state) -> Query:
        if not self._fitted:
            self._graphs.fit(self.strategy, X)
            self._fitted = True
        if self.is_nas:
            return self._query_nas(X, labeled, budget, annotator)
        picks = np.asarray(self.selector.select(X, budget, clean=labeled.indices, random_state=random_state),
                           np.int64)
        return Query(picks, np.asarray(annotator(picks), np.int64), timings=dict(self.selector.last_timings_))

    def _query_nas(self, X, labeled: LabeledSet, budget: int, annotator: Callable) -> Query:
        result = self.selector.run(X, budget, annotator, labeled=labeled.indices, labels=labeled.labels,
                                   is_clean=labeled.is_clean)
        start = labeled.indices.size
        rates = [share["predicted_noise_rate"] for share in result.history
                 if share["predicted_noise_rate"] is not None and share["timings"].get("filter", 0.0) > 0]
        timings = {k: v for k, v in result.timings.items() if k != "total"}
        return Query(result.labeled[start:], result.labels[start:], timings=timings,
                     n_filter_calls=len(rates), internal_noise_rate=float(rates[-1]) if rates else float("nan"))


def _constructor_parameters(name: str) -> tuple:
    import inspect

    from nas.strategies import strategy_class

    return tuple(inspect.signature(strategy_class(name).__init__).parameters)


def strategy_options(names: Iterable[str], *, delta: Optional[float] = None, delta_policy: Optional[str] = None,
                     metric: Optional[str] = None, device: Optional[str] = None) -> Dict[str, dict]:
    """Constructor arguments per strategy name from the research code's flags.

    ``delta`` is ProbCover's ball radius and, as ``--initial_delta`` in the reference, MaxHerding's kernel
    length-scale σ; ``delta_policy`` ('constant' / None or 'max_degree', alias 'max_deg_after_lt_2_take_min');
    ``metric`` goes to ProbCover and Coreset; ``device`` to every strategy that has one.
    """
    if delta_policy is not None and delta_policy not in DELTA_POLICY_ALIASES:
        raise ValueError(f"Unknown delta policy {delta_policy!r}; choose from "
                         f"{', '.join(DELTA_POLICY_ALIASES)}.")
    options: Dict[str, dict] = {}
    for name in names:
        kwargs: dict = {}
        if name in _PROBCOVER:
            kwargs.update(delta=delta, delta_policy=DELTA_POLICY_ALIASES.get(delta_policy, None))
            if metric is not None:
                kwargs["metric"] = metric
        elif name in _MAXHERDING and delta is not None:
            kwargs["sigma"] = delta
        elif name in _CORESET and metric is not None:
            kwargs["metric"] = metric
        if device is not None and name != "random":
            kwargs["device"] = device
        options[name] = kwargs
    return options
