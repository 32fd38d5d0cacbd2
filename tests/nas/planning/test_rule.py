"""The decision rule (Eqs. 6.1-6.7) and the boundary checks: bad costs, budgets and noise rates are clear errors."""
import math

import numpy as np
import pytest

from nas.planning import check_costs, choose_annotator, counting_rule, decide, estimate_equilibrium_noise

X = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)


@pytest.mark.parametrize("kwargs, argument", [
    ({"cost_oracle": 0.0}, "cost_oracle"), ({"cost_oracle": -1.0}, "cost_oracle"),
    ({"cost_noisy": 0.0}, "cost_noisy"), ({"cost_noisy": -0.5}, "cost_noisy"),
    ({"budget": 0.0}, "budget"), ({"budget": -3.0}, "budget"), ({"budget": math.nan}, "budget"),
    ({"cost_noisy": math.inf}, "cost_noisy"),
])
def test_non_positive_costs_and_budgets_are_errors(kwargs, argument):
    params = {"budget": 10.0, "cost_oracle": 1.0, "cost_noisy": 0.5, **kwargs}
    with pytest.raises(ValueError, match=rf"The '{argument}' parameter of choose_annotator must be a float in "
                                         r"\(0, inf\)\. Got .* instead\."):
        choose_annotator(X, noise_rate=0.2, n_classes=2, **params)


def test_budget_below_one_label_is_an_error():
    with pytest.raises(ValueError, match=r"The 'budget' parameter of estimate_equilibrium_noise must be at least "
                                         r"the cost of one label \(min\(cost_oracle, cost_noisy\) = 0\.8\)\. "
                                         r"Got 0\.5 instead\."):
        estimate_equilibrium_noise(X, budget=0.5, cost_oracle=1.0, cost_noisy=0.8, n_classes=2)


@pytest.mark.parametrize("eta", [-0.01, 1.01, math.nan])
def test_noise_rate_outside_unit_interval_is_an_error(eta):
    with pytest.raises(ValueError, match=r"The 'noise_rate' parameter of choose_annotator must be a float in "
                                         r"\[0, 1\]"):
        choose_annotator(X, budget=10, cost_oracle=1, cost_noisy=0.5, noise_rate=eta, n_classes=2)


def test_non_numbers_are_type_errors():
    with pytest.raises(TypeError, match="'budget' parameter"):
        check_costs("10", 1.0, 0.5, "f")


def test_label_counts_are_floors_robust_to_rounding():
    costs = check_costs(0.3, 0.1, 0.07, "f")
    assert (costs.n_oracle, costs.n_noisy) == (3, 4)
    assert costs.t == pytest.approx(0.7)


def test_counting_rule_is_eq_6_1():
    assert counting_rule(0.5, 0.5) == "oracle"      # t = 1 - eta: equal clean counts, the oracle
    assert counting_rule(0.4, 0.5) == "noisy"
    assert counting_rule(0.0, 0.99) == "noisy"
    assert counting_rule(0.0, 1.0) == "oracle"


def test_decide_is_the_sign_of_eta_minus_n0():
    assert decide(0.6, 0.3)[:2] == ("oracle", 1)
    assert decide(0.1, 0.3)[:2] == ("noisy", -1)
    decision, sign, coin = decide(0.31, 0.3, tie_tolerance=0.02, random_state=4)
    assert (decision, sign) == ("random", 0) and coin in ("oracle", "noisy")
    assert decide(0.31, 0.3, tie_tolerance=0.02, random_state=4) == (decision, sign, coin)
    coins = {decide(0.3, 0.3, random_state=s)[2] for s in range(20)}
    assert coins == {"oracle", "noisy"}


@pytest.mark.parametrize("t", [1.0, 1.5, 4.0])
def test_t_at_least_one_means_the_oracle_for_every_positive_eta(t):
    """Corollary of Eq. 6.4 (f >= 0): n0 <= 1 - t <= 0, so every eta > 0 buys from the oracle; no search runs."""
    for eta in (1e-3, 0.2, 0.9, 1.0):
        plan = choose_annotator(X, budget=10, cost_oracle=1, cost_noisy=t, noise_rate=eta, n_classes=2)
        assert plan.decision == "oracle" and plan.n0 <= 1 - t + 1e-12 and plan.n0 <= 0
        assert plan.estimate.reason == "oracle_dominates" and plan.estimate.n_probes == 0
    if t == 1.0:  # same price, no noise: the annotators are the same
        assert choose_annotator(X, budget=10, cost_oracle=1, cost_noisy=1, noise_rate=0.0,
                                n_classes=2).decision == "random"


def test_an_unaffordable_annotator_leaves_the_other_without_a_search():
    plan = choose_annotator(X, budget=2, cost_oracle=5, cost_noisy=1, noise_rate=0.9, n_classes=2)
    assert plan.decision == "noisy" and plan.estimate.reason == "oracle_unaffordable"
    assert plan.estimate.n_oracle == 0 and plan.estimate.trace == []
