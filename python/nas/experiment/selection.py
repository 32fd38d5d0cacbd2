"""How the experiment runner queries one round with a strategy named on the command line.

Plain strategies (random, probcover, maxherding, coreset, typiclust) select the whole round budget at once and,
as in the reference, treat every labeled sample as covering. NAS strategies (npc, weighted_npc, maxherding_nas,
coreset_nas) run :class:`nas.NAS`, which alternates shares of b samples with calls to the noise filter; they start
from the partition the pre-training filter produced in the previous round (reference §11.3).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

__all__ = ["STRATEGY_NAMES", "NAS_STRATEGIES", "LabeledSet", "Query", "Selector", "make_selector"]

NAS_STRATEGIES = ("npc", "weighted_npc", "maxherding_nas", "coreset_nas")
STRATEGY_NAMES = ("random", "probcover", "maxherding", "coreset", "typiclust") + NAS_STRATEGIES


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
    """The samples one round queried, with what the NAS filter calls inside the round reported."""

    picks: np.ndarray
    labels: np.ndarray
    n_filter_calls: int = 0
    internal_noise_rate: float = float("nan")


class Selector:
    """One strategy, ready to query rounds: ``query(X, labeled, budget, annotator, random_state) -> Query``."""

    def __init__(self, name: str, strategy, nas=None):
        self.name = name
        self.strategy = strategy
        self.nas = nas

    def query(self, X, labeled: LabeledSet, budget: int, annotator: Callable, random_state) -> Query:
        if self.nas is None:
            picks = self.strategy.select(X, budget, clean=labeled.indices, random_state=random_state)
            picks = np.asarray(picks, np.int64)
            return Query(picks, np.asarray(annotator(picks), np.int64))
        return self._query_nas(X, labeled, budget, annotator)

    def _query_nas(self, X, labeled: LabeledSet, budget: int, annotator: Callable) -> Query:
        result = self.nas.run(X, budget, annotator, labeled=labeled.indices, labels=labeled.labels,
                              is_clean=labeled.is_clean)
        picks = np.asarray(result.labeled, np.int64)[labeled.indices.size:]
        labels = np.asarray(result.labels, np.int64)[labeled.indices.size:]
        rates = [h["predicted_noise_rate"] for h in result.history if h.get("predicted_noise_rate") is not None]
        return Query(picks, labels, n_filter_calls=len(rates),
                     internal_noise_rate=float(rates[-1]) if rates else float("nan"))


def make_selector(name: str, *, n_classes: int, noise_filter, strategy_params: Optional[dict] = None,
                  nas_params: Optional[dict] = None, random_state=None) -> Selector:
    """Build the strategy ``name`` (a CLI name); NAS strategies wrap their base strategy and ``noise_filter``."""
    from nas import NAS
    from nas.strategies import make_strategy

    if name not in STRATEGY_NAMES:
        raise ValueError(f"Unknown strategy {name!r}; choose from {', '.join(STRATEGY_NAMES)}.")
    strategy = make_strategy(name, **(strategy_params or {}).get(name, {}))
    if name not in NAS_STRATEGIES:
        return Selector(name, strategy)
    nas = NAS(strategy, noise_filter, n_classes=n_classes, weighted=(name == "weighted_npc"),
              random_state=random_state, **(nas_params or {}))
    return Selector(name, strategy, nas)
