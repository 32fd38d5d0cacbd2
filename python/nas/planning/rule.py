"""The two-annotator decision rule of seed 000 §6 (Eqs. 6.1–6.7): label counts, the cost ratio and sign(η − n0).

With budget B, an accurate oracle at c_o per label and a noisy annotator at c_n per label with noise rate η,
the oracle buys N_o = floor(B/c_o) clean labels and the noisy annotator N_n = floor(B/c_n) labels, N_n·(1 − η) of
them clean. With t = c_n/c_o and n0 the equilibrium noise rate (Algorithm 2), the rule is sign(η − n0):
+1 → oracle, −1 → noisy annotator, 0 (|η − n0| ≤ tie_tolerance) → either, chosen at random.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nas_ext._validation import check_float, param_error

__all__ = ["Costs", "check_costs", "check_noise_rate", "counting_rule", "decide", "DECISIONS"]

DECISIONS = ("oracle", "noisy", "random")


@dataclass(frozen=True)
class Costs:
    """A validated (budget, c_o, c_n) with the label counts they buy."""

    budget: float
    cost_oracle: float
    cost_noisy: float

    @property
    def t(self) -> float:
        """The cost ratio c_n / c_o."""
        return self.cost_noisy / self.cost_oracle

    @property
    def n_oracle(self) -> int:
        """N_o = floor(B / c_o) clean labels."""
        return _n_labels(self.budget, self.cost_oracle)

    @property
    def n_noisy(self) -> int:
        """N_n = floor(B / c_n) noisy labels."""
        return _n_labels(self.budget, self.cost_noisy)


def _n_labels(budget: float, cost: float) -> int:
    """floor(B / c), robust to binary representation (0.3 / 0.1 is 2.9999…)."""
    return int(math.floor(budget / cost + 1e-9))


def check_costs(budget, cost_oracle, cost_noisy, function: str) -> Costs:
    """Validate B, c_o, c_n (finite, > 0) and that B buys at least one label from one of the annotators."""
    cost_oracle = check_float(cost_oracle, function, "cost_oracle", low=0.0, low_open=True, high_open=True)
    cost_noisy = check_float(cost_noisy, function, "cost_noisy", low=0.0, low_open=True, high_open=True)
    budget = check_float(budget, function, "budget", low=0.0, low_open=True, high_open=True)
    costs = Costs(budget, cost_oracle, cost_noisy)
    if costs.n_oracle == 0 and costs.n_noisy == 0:
        cheapest = min(cost_oracle, cost_noisy)
        raise param_error(function, "budget", f"at least the cost of one label (min(cost_oracle, cost_noisy) = "
                          f"{cheapest:g})", budget)
    return costs


def check_noise_rate(noise_rate, function: str, argument: str = "noise_rate") -> float:
    """η must be a float in [0, 1]."""
    return check_float(noise_rate, function, argument, low=0.0, high=1.0)


def counting_rule(noise_rate: float, t: float) -> str:
    """Eq. 6.1, counting clean labels only (noise assumed harmless otherwise): oracle iff t ≥ 1 − η."""
    noise_rate = check_noise_rate(noise_rate, "counting_rule")
    t = check_float(t, "counting_rule", "t", low=0.0, low_open=True, high_open=True)
    return "oracle" if t >= 1.0 - noise_rate else "noisy"


def decide(noise_rate: float, n0: float, *, tie_tolerance: float = 0.0, random_state=None) -> tuple:
    """Eq. 6.7: (decision, sign). sign(η − n0) = +1 → "oracle", −1 → "noisy"; |η − n0| ≤ tie_tolerance is a tie,
    decided by a seeded coin flip ("random" is returned as the decision, the coin's pick as the third item)."""
    noise_rate = check_noise_rate(noise_rate, "decide")
    n0 = check_float(n0, "decide", "n0", high=1.0)
    tie_tolerance = check_float(tie_tolerance, "decide", "tie_tolerance", low=0.0)
    gap = noise_rate - n0
    if abs(gap) <= tie_tolerance:
        coin = "oracle" if np.random.default_rng(random_state).random() < 0.5 else "noisy"
        return "random", 0, coin
    return ("oracle", 1, "oracle") if gap > 0 else ("noisy", -1, "noisy")
