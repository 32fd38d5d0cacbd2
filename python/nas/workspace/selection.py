"""The bridge from a workspace to the library: build NAS from the stored configuration and run one round.

Imports of the selection machinery (and torch) happen inside the functions, so the verbs that only
touch the database (`annotate`, `status`) start fast.
"""
from __future__ import annotations

from .store import Config


def check_config(config: Config, *, n_classes: int) -> None:
    """Build the strategy, filter and NAS once so that a bad name or parameter fails at `nas init`."""
    build_nas(config, n_classes=n_classes, batch_size=config.batch_size, round=1)


def build_nas(config: Config, *, n_classes: int, batch_size, round: int):
    from nas.filters import make_filter
    from nas.nas import NAS
    from nas.strategies import make_strategy

    strategy = make_strategy(config.strategy, **config.strategy_params)
    noise_filter = make_filter(config.filter, **config.filter_params)
    return NAS(strategy, noise_filter, n_classes=n_classes, batch_size=batch_size, random_state=config.seed,
               **config.nas_params)
