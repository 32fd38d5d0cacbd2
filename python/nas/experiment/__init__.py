"""Simulated active-learning experiments with a noisy annotator (the paper's protocol).

:func:`run` compares strategies over a budget schedule (cumulative E[SPC] targets or a fixed per-round budget)
and repeats; :class:`ExperimentResult` holds per-round records, their mean and standard error, and saves them
as JSON/CSV. :func:`spc_schedule` reproduces the reference's budget arithmetic.
"""
from .budgets import BudgetSchedule, fixed_schedule, make_schedule, spc_budget, spc_schedule
from .results import ExperimentResult, standard_error, summarize
from .runner import run
from .selection import NAS_STRATEGIES, STRATEGY_NAMES, strategy_options

__all__ = ["BudgetSchedule", "ExperimentResult", "NAS_STRATEGIES", "STRATEGY_NAMES", "fixed_schedule",
           "make_schedule", "run", "spc_budget", "spc_schedule", "standard_error", "strategy_options", "summarize"]
