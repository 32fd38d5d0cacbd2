"""Budget schedules of an experiment: how many samples each round queries, and the E[SPC] each round reaches.

With a noise rate p, a budget B over C classes yields B·(1 − p)/C clean samples per class in expectation
(E[SPC]). The paper states budgets as cumulative E[SPC] targets s₁ < s₂ < …: the cumulative budget for target s is
ceil(s·C / (1 − p)) and each round queries the difference to the previous one (reference §11.1). The arithmetic is
done in Python floats in that order, as the reference does, so C = 100 at p = 0.8 gives 501, 500, 500, 500, 500
(100 / 0.19999999999999996 = 500.00000000000006).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence

from nas_ext._validation import check_float, check_int, param_error

__all__ = ["BudgetSchedule", "spc_budget", "spc_schedule", "fixed_schedule", "make_schedule"]


@dataclass(frozen=True)
class BudgetSchedule:
    """Per-round budgets, the cumulative budget after each round and the E[SPC] it stands for."""

    round_budgets: List[int]
    cumulative: List[int]
    spc: List[float]

    @property
    def n_rounds(self) -> int:
        return len(self.round_budgets)


def spc_budget(samples_per_class: float, n_classes: int, noise_rate: float) -> int:
    """Cumulative budget for an expected number of clean samples per class: ceil(s·C / (1 − p))."""
    return math.ceil(samples_per_class * n_classes / (1 - noise_rate))


def spc_schedule(samples_per_class: Sequence[float], n_classes: int, noise_rate: float) -> BudgetSchedule:
    """Rounds reaching the cumulative E[SPC] targets ``samples_per_class`` (strictly increasing, > 0)."""
    owner = "spc_schedule"
    n_classes = check_int(n_classes, owner, "n_classes", low=1)
    noise_rate = check_float(noise_rate, owner, "noise_rate", low=0.0, high=1.0, high_open=True)
    targets = [check_float(s, owner, "samples_per_class", low=0.0, low_open=True) for s in samples_per_class]
    if not targets:
        raise param_error(owner, "samples_per_class", "a non-empty list of targets", list(samples_per_class))
    if any(b <= a for a, b in zip(targets, targets[1:])):
        raise param_error(owner, "samples_per_class", "strictly increasing", targets)
    cumulative = [spc_budget(s, n_classes, noise_rate) for s in targets]
    rounds = [cumulative[0]] + [b - a for a, b in zip(cumulative, cumulative[1:])]
    if min(rounds) < 1:
        raise param_error(owner, "samples_per_class", "targets far enough apart that every round queries at "
                          "least one sample", targets)
    return BudgetSchedule(rounds, cumulative, targets)


def fixed_schedule(budget: int, n_rounds: int, n_classes: int, noise_rate: float) -> BudgetSchedule:
    """``n_rounds`` rounds of ``budget`` samples; E[SPC] after round r is r·budget·(1 − p)/C."""
    owner = "fixed_schedule"
    budget = check_int(budget, owner, "budget", low=1)
    n_rounds = check_int(n_rounds, owner, "n_rounds", low=1)
    n_classes = check_int(n_classes, owner, "n_classes", low=1)
    noise_rate = check_float(noise_rate, owner, "noise_rate", low=0.0, high=1.0, high_open=True)
    cumulative = [budget * (r + 1) for r in range(n_rounds)]
    return BudgetSchedule([budget] * n_rounds, cumulative, [b * (1 - noise_rate) / n_classes for b in cumulative])


def make_schedule(*, samples_per_class: Optional[Sequence[float]], budget: Optional[int],
                  n_rounds: Optional[int], n_classes: int, noise_rate: float) -> BudgetSchedule:
    """Exactly one of ``samples_per_class`` or ``budget`` (+ ``n_rounds``, default 5)."""
    if (samples_per_class is None) == (budget is None):
        raise ValueError("Give either samples_per_class (cumulative E[SPC] targets) or budget (+ n_rounds), "
                         "not both and not neither.")
    if budget is None:
        return spc_schedule(samples_per_class, n_classes, noise_rate)
    return fixed_schedule(budget, 5 if n_rounds is None else n_rounds, n_classes, noise_rate)
