"""Two-annotator planning (seed 000 §6): buy labels from an accurate oracle or a cheaper noisy annotator?

:func:`estimate_equilibrium_noise` runs Algorithm 2 (n0 from the unlabeled pool with KMeans pseudo-labels and a
binary search over injected noise), :func:`choose_annotator` applies the rule sign(η − n0), :func:`plan_rounds`
does it per round, :mod:`nas.planning.pilot` estimates η from a pilot batch and :mod:`nas.planning.validation`
checks the choices against simulated ground truth on the built-in digits.
"""
from .equilibrium import SEARCH_STRATEGIES, EquilibriumEstimate, SearchStep, estimate_equilibrium_noise, \
    pseudo_labels, search_steps
from .pilot import PilotEstimate, estimate_noise_rate, read_pilot_labels
from .planner import Plan, choose_annotator, explain, plan_rounds
from .rule import DECISIONS, Costs, check_costs, counting_rule, decide

__all__ = ["Costs", "DECISIONS", "EquilibriumEstimate", "PilotEstimate", "Plan", "SEARCH_STRATEGIES", "SearchStep",
           "check_costs", "choose_annotator", "counting_rule", "decide", "estimate_equilibrium_noise",
           "estimate_noise_rate", "explain", "plan_rounds", "pseudo_labels", "read_pilot_labels", "search_steps"]
