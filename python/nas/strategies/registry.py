"""CLI names of the strategies: ``make_strategy`` builds the base strategy of any name, ``nas_options`` says
whether the name means "wrapped in NAS" and with which NAS options.

The experiment runner and the workspace CLI use ``nas.make_selector``, which combines both.
"""
from __future__ import annotations

from typing import Dict, Optional, Type

from nas_ext._validation import param_error

from .base import Strategy
from .coreset import Coreset
from .maxherding import MaxHerding
from .probcover import ProbCover
from .random import Random
from .typiclust import TypiClust

__all__ = ["STRATEGY_NAMES", "make_strategy", "nas_options", "strategy_class"]

_BASE: Dict[str, Type[Strategy]] = {
    "random": Random,
    "probcover": ProbCover,
    "npc": ProbCover,
    "weighted_npc": ProbCover,
    "maxherding": MaxHerding,
    "maxherding_nas": MaxHerding,
    "coreset": Coreset,
    "coreset_nas": Coreset,
    "typiclust": TypiClust,
}

_NAS: Dict[str, dict] = {
    "npc": {},
    "weighted_npc": {"weighted": True},
    "maxherding_nas": {},
    "coreset_nas": {},
}

#: every name ``make_strategy`` accepts, in a stable order
STRATEGY_NAMES = tuple(_BASE)


def strategy_class(name: str) -> Type[Strategy]:
    """The strategy class behind a CLI name (e.g. 'npc' -> ProbCover)."""
    if name not in _BASE:
        raise param_error("make_strategy", "name", f"one of {{{', '.join(map(repr, STRATEGY_NAMES))}}}", name)
    return _BASE[name]


def make_strategy(name: str, **kwargs) -> Strategy:
    """The base strategy of a CLI name, built with ``kwargs`` (its constructor's parameters).

    'npc' and 'weighted_npc' give a ProbCover, 'maxherding_nas' a MaxHerding, 'coreset_nas' a Coreset:
    the NAS part comes from ``nas_options(name)`` (or use ``nas.make_selector``). Unknown parameters
    are an error naming the ones the strategy accepts.

    >>> from nas.strategies import make_strategy
    >>> make_strategy("npc", delta=0.65)
    ProbCover(delta=0.65, metric='cosine', tie_break='random', delta_policy=None)
    """
    cls = strategy_class(name)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        import inspect

        accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        unknown = sorted(set(kwargs) - set(accepted))
        if not unknown:
            raise
        raise TypeError(f"make_strategy({name!r}): {cls.__name__} does not take {', '.join(map(repr, unknown))}; "
                        f"its parameters are {', '.join(accepted) or 'none'}.") from exc


def nas_options(name: str) -> Optional[dict]:
    """The NAS keyword arguments a name implies ({} for plain NAS, {'weighted': True} for 'weighted_npc'),
    or None for a name that is not wrapped in NAS."""
    strategy_class(name)
    options = _NAS.get(name)
    return None if options is None else dict(options)
