"""`choose_annotator`: which annotator to buy from, with n0 from Algorithm 2 and the reasoning behind it.

One-shot mode plans the whole budget; :func:`plan_rounds` plans round by round (spec §3.3(3)): round r runs
Algorithm 2 with B = the cumulative spend after round r, caching n0 by (B, t), and gives the whole round to one
annotator.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from nas_ext._validation import check_float

from .equilibrium import EquilibriumEstimate, estimate_equilibrium_noise
from .rule import Costs, check_costs, check_noise_rate, counting_rule, decide

__all__ = ["Plan", "choose_annotator", "plan_rounds", "explain"]

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """The decision ("oracle", "noisy" or "random"), the annotator a tie's coin picked (``choice``), η, n0 and
    the Algorithm-2 diagnostics (``estimate``)."""

    decision: str
    choice: str
    sign: int
    noise_rate: float
    n0: float
    tie_tolerance: float
    counting_decision: str
    estimate: EquilibriumEstimate
    noise_rate_source: str = "given"
    pilot: Optional[dict] = None

    @property
    def costs(self) -> Costs:
        return self.estimate.costs

    def to_dict(self) -> dict:
        return {"decision": self.decision, "choice": self.choice, "sign": self.sign, "noise_rate": self.noise_rate,
                "noise_rate_source": self.noise_rate_source, "pilot": self.pilot, "n0": self.n0,
                "tie_tolerance": self.tie_tolerance, "counting_rule_decision": self.counting_decision,
                "bound_1_minus_t": 1.0 - self.costs.t, "reasoning": explain(self).splitlines(),
                "estimate": self.estimate.to_dict()}


def choose_annotator(X, *, budget: float, cost_oracle: float, cost_noisy: float, noise_rate: float,
                     n_classes: int, tie_tolerance: Optional[float] = None, estimate: Optional[EquilibriumEstimate]
                     = None, noise_rate_source: str = "given", pilot: Optional[dict] = None,
                     **search) -> Plan:
    """Decide between the oracle and the noisy annotator for budget B (Eq. 6.7 with n0 from Algorithm 2).

    X: (N, d) unlabeled pool; ``noise_rate`` η in [0, 1] (a prior, or a pilot estimate: see ``nas.planning.pilot``);
    ``search`` goes to :func:`estimate_equilibrium_noise` (repeats, tolerance, epochs, strategy, random_state, ...).
    ``tie_tolerance`` defaults to tolerance/2 (spec §3.3(6)), or 0 when n0 is known without a search (t ≥ 1, an
    unaffordable annotator); a tie is settled by a coin seeded with random_state.
    Pass a precomputed ``estimate`` for the same (B, c_o, c_n) to skip the search.

    >>> from nas.demo import digits_data
    >>> X, *_ = digits_data()
    >>> plan = choose_annotator(X, budget=30, cost_oracle=1, cost_noisy=0.2, noise_rate=0.9, n_classes=10,
    ...                         repeats=2, tolerance=0.25, epochs=50)
    >>> plan.decision
    'oracle'
    """
    owner = "choose_annotator"
    costs = check_costs(budget, cost_oracle, cost_noisy, owner)
    noise_rate = check_noise_rate(noise_rate, owner)
    if tie_tolerance is not None:
        tie_tolerance = check_float(tie_tolerance, owner, "tie_tolerance", low=0.0)
    if estimate is None:
        estimate = estimate_equilibrium_noise(X, budget=costs.budget, cost_oracle=costs.cost_oracle,
                                              cost_noisy=costs.cost_noisy, n_classes=n_classes, **search)
    elif (estimate.costs.budget, estimate.costs.t) != (costs.budget, costs.t):
        raise ValueError(f"The estimate was made for B={estimate.costs.budget:g}, t={estimate.costs.t:g}; "
                         f"this plan has B={costs.budget:g}, t={costs.t:g}.")
    if tie_tolerance is None:
        tie_tolerance = estimate.settings["tolerance"] / 2 if estimate.reason == "search" else 0.0
    decision, sign, choice = decide(noise_rate, estimate.n0, tie_tolerance=tie_tolerance,
                                    random_state=search.get("random_state", 0))
    return Plan(decision=decision, choice=choice, sign=sign, noise_rate=noise_rate, n0=estimate.n0,
                tie_tolerance=tie_tolerance, counting_decision=counting_rule(noise_rate, costs.t), estimate=estimate,
                noise_rate_source=noise_rate_source, pilot=pilot)


def plan_rounds(X, *, round_budgets: Sequence[float], cost_oracle: float, cost_noisy: float,
                noise_rates, n_classes: int, cache: Optional[Dict[tuple, EquilibriumEstimate]] = None,
                **search) -> List[Plan]:
    """Per-round plans: round r uses B = sum(round_budgets[:r+1]) and η = noise_rates[r] (or one η for all).

    n0 depends on (B, t) only, so it is cached by that key in ``cache`` (pass the same dict to later calls, e.g.
    when η is re-estimated after each round, and a cumulative budget already searched costs nothing)."""
    budgets = [check_float(b, "plan_rounds", "round_budgets", low=0.0, low_open=True) for b in round_budgets]
    if not budgets:
        raise ValueError("The 'round_budgets' parameter of plan_rounds must be a non-empty list. Got [] instead.")
    rates = list(noise_rates) if np.ndim(noise_rates) else [noise_rates] * len(budgets)
    if len(rates) != len(budgets):
        raise ValueError(f"plan_rounds needs one noise rate per round ({len(budgets)}); got {len(rates)}.")
    cache = {} if cache is None else cache
    plans, spent = [], 0.0
    for b, eta in zip(budgets, rates):
        spent += b
        key = (spent, cost_noisy / cost_oracle)
        plan = choose_annotator(X, budget=spent, cost_oracle=cost_oracle, cost_noisy=cost_noisy, noise_rate=eta,
                                n_classes=n_classes, estimate=cache.get(key), **search)
        cache[key] = plan.estimate
        plans.append(plan)
    return plans


def explain(plan: Plan) -> str:
    """The decision and its reasoning in a few lines (what `nas plan` prints)."""
    est, costs = plan.estimate, plan.costs
    who = {"oracle": "the ORACLE (accurate annotator)", "noisy": "the NOISY annotator"}
    lines = [f"Decision: buy from {who[plan.choice]}"
             + (f" (tie |eta - n0| <= {plan.tie_tolerance:g}: coin flip)" if plan.decision == "random" else "")]
    lines.append(f"  budget B = {costs.budget:g}; oracle c_o = {costs.cost_oracle:g} -> N_o = {costs.n_oracle} "
                 f"clean labels; noisy c_n = {costs.cost_noisy:g} -> N_n = {costs.n_noisy} labels; "
                 f"t = c_n/c_o = {costs.t:.3g}")
    source = {"given": "given", "pilot": "estimated from the pilot", "workspace": "the workspace's predicted noise "
              "rate"}.get(plan.noise_rate_source, plan.noise_rate_source)
    lines.append(f"  noise rate eta = {plan.noise_rate:.3f} ({source})")
    if est.reason == "search":
        lo, hi = est.interval
        lines.append(f"  equilibrium noise rate n0 = {plan.n0:.3f} (bracket [{lo:.3f}, {hi:.3f}], "
                     f"{len(est.trace)} steps x {est.settings['repeats']} probes; the two annotators tie at "
                     "eta = n0)")
        lines.append(f"  pseudo-task: Acc_o = {est.oracle_mean:.1f}% with {est.n_oracle} clean labels; noisy "
                     + ", ".join(f"{s.mean:.1f}% @ {s.noise_rate:.3f}" for s in est.trace))
    else:
        lines.append(f"  n0 = {plan.n0:.3f} without a search: " + {
            "oracle_dominates": "t >= 1, the noisy annotator buys no more labels than the oracle (n0 <= 1 - t)",
            "oracle_unaffordable": "the budget buys no oracle label",
            "noisy_unaffordable": "the budget buys no noisy label"}[est.reason])
    verdict = {1: "eta > n0: the noise costs more accuracy than the extra labels give back",
               -1: "eta < n0: the extra labels outweigh their noise", 0: "eta ~ n0: both give about the same"}
    lines.append(f"  sign(eta - n0) = {plan.sign:+d}: {verdict[plan.sign]}")
    counting = "agrees" if plan.counting_decision == plan.choice else "disagrees"
    lines.append(f"  counting clean labels only (Eq. 6.1, oracle iff t >= 1 - eta = {1 - plan.noise_rate:.3f}): "
                 f"{plan.counting_decision} ({counting}); n0 <= 1 - t = {1 - costs.t:.3f} "
                 + ("holds" if plan.n0 <= 1 - costs.t + 0.05 else "VIOLATED: noisy labels helped the pseudo-task"))
    return "\n".join(lines)
