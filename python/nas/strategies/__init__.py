"""Query strategies: which unlabeled samples to label next.

Every strategy has ``select(X, budget, *, clean=(), noisy=(), random_state=None) -> int64 picks``.
Coverage strategies (ProbCover, MaxHerding, Coreset) treat ``clean`` labeled samples as covering and
``noisy`` ones as covering nothing, which is what the NAS meta-strategy (``nas.NAS``) builds on.
"""
from .base import Strategy
from .coreset import Coreset
from .maxherding import MaxHerding
from .probcover import ProbCover
from .random import Random
from .registry import STRATEGY_NAMES, make_strategy, nas_options, strategy_class
from .typiclust import TypiClust

__all__ = ["Strategy", "Random", "ProbCover", "MaxHerding", "Coreset", "TypiClust", "STRATEGY_NAMES",
           "make_strategy", "nas_options", "strategy_class"]
