"""Algorithm 2: determinism, the coupled (nested) noise draws, and the spec's checks on the digits (P1, P2, P5)."""
import numpy as np
import pytest
from scipy.stats import spearmanr

from nas.demo import digits_data
from nas.planning import estimate_equilibrium_noise, search_steps
from nas.planning.equilibrium import _NoisyArm

FAST = dict(repeats=2, tolerance=1 / 8, epochs=60)


@pytest.fixture(scope="module")
def digits():
    return digits_data()[0]


@pytest.fixture(scope="module")
def searches(digits):
    """n0 for t = 0.2, 0.5, 0.8 at B = 30 (N_o = 3 per class)."""
    return {t: estimate_equilibrium_noise(digits, budget=30, cost_oracle=1, cost_noisy=t, n_classes=10,
                                          repeats=3, tolerance=1 / 16, epochs=100, random_state=1)
            for t in (0.2, 0.5, 0.8)}


def test_search_steps():
    assert [search_steps(e) for e in (0.5, 0.25, 1 / 32, 0.03)] == [1, 2, 5, 6]


def test_trace_bracket_and_probe_count(searches):
    est = searches[0.5]
    assert est.reason == "search" and len(est.trace) == search_steps(1 / 16) == 4
    assert est.n_probes == 3 * (1 + 4) and est.acc_oracle.shape == (3,)
    lo, hi = est.interval
    assert hi - lo <= 1 / 16 and est.n0 == pytest.approx((lo + hi) / 2)
    assert (est.n_oracle, est.n_noisy) == (30, 60)
    assert est.trace[0].noise_rate == 0.5
    for step, following in zip(est.trace, est.trace[1:]):  # the bracket follows the comparisons
        assert following.noise_rate == pytest.approx(step.noise_rate + (-1 if step.oracle_wins else 1)
                                                     * abs(following.noise_rate - step.noise_rate))
        assert step.oracle_wins == (est.oracle_mean > step.mean)


def test_n0_respects_the_bound_and_falls_with_t(searches):
    """Spec P2 (n0 <= 1 - t + 0.05) and P5 (n0 non-increasing in t, up to the search tolerance)."""
    n0 = {t: est.n0 for t, est in searches.items()}
    for t, value in n0.items():
        assert value <= 1 - t + 0.05, (t, value)
    assert n0[0.2] >= n0[0.5] - 1 / 16 >= n0[0.8] - 2 / 16
    assert n0[0.2] > n0[0.8]


def test_same_seed_same_answer_and_seeds_matter(digits):
    a = estimate_equilibrium_noise(digits, budget=30, cost_oracle=1, cost_noisy=0.4, n_classes=10, random_state=3,
                                   **FAST)
    b = estimate_equilibrium_noise(digits, budget=30, cost_oracle=1, cost_noisy=0.4, n_classes=10, random_state=3,
                                   **FAST)
    assert a.n0 == b.n0 and np.array_equal(a.acc_oracle, b.acc_oracle)
    assert all(np.array_equal(s.accuracies, u.accuracies) for s, u in zip(a.trace, b.trace))


def test_coupled_noise_sets_are_nested_and_exact():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 2)).astype(np.float32)
    y = rng.integers(0, 4, 50)
    from nas.strategies import Random

    arm = _NoisyArm(probe=None, strategy=Random(), X_train=X, y_train=y, size=40, n_classes=4, repeats=2, seed=0,
                    coupled=True, model_seeds=[0, 1])
    for r in range(2):
        rows, clean = arm.labels(r, 0.0, 0)
        previous = np.zeros(40, dtype=bool)
        for rate in (0.1, 0.25, 0.5, 0.75, 1.0):
            rows_r, noisy = arm.labels(r, rate, 0)
            assert np.array_equal(rows_r, rows)             # the same subset at every rate
            flipped = noisy != clean
            assert flipped.sum() == int(np.floor(rate * 40 + 1e-9))
            assert not (previous & ~flipped).any()          # nested in the rate
            previous = flipped
    rows0, _ = arm.labels(0, 0.5, 0)
    rows1, _ = arm.labels(1, 0.5, 0)
    assert not np.array_equal(rows0, rows1)                 # repeats draw different subsets


def test_coupled_accuracy_falls_monotonically_with_noise(digits):
    """Spec P1: Acc_n on a 0..0.9 grid has Spearman rho <= -0.9 with coupled noise."""
    grid = [i / 10 for i in range(10)]
    est = estimate_equilibrium_noise(digits, budget=30, cost_oracle=1, cost_noisy=0.5, n_classes=10,
                                     curve_rates=grid, random_state=0, **FAST)
    means = [est.curve[r].mean() for r in grid]
    assert spearmanr(grid, means)[0] <= -0.9
    measured = {s.noise_rate for s in est.trace} | set(grid)  # a rate both searched and plotted is trained once
    assert est.n_probes == 2 * (1 + len(measured)) < 2 * (1 + 3 + 10)


def test_exclude_and_given_labels(digits):
    y = digits_data()[1]
    est = estimate_equilibrium_noise(digits, budget=20, cost_oracle=1, cost_noisy=0.5, n_classes=10, labels=y,
                                     exclude=np.arange(100), random_state=0, **FAST)
    assert est.n_rows == digits.shape[0] - 100 and est.n_kmeans_rows == 0
    with pytest.raises(ValueError, match="'labels' parameter"):
        estimate_equilibrium_noise(digits, budget=20, cost_oracle=1, cost_noisy=0.5, n_classes=10, labels=y[:5])


def test_a_budget_larger_than_the_pool_warns_and_caps():
    rng = np.random.default_rng(0)
    X = (np.eye(2, 4)[rng.integers(0, 2, 60)] * 4 + rng.standard_normal((60, 4))).astype(np.float32)
    with pytest.warns(UserWarning, match="simulating 48"):
        est = estimate_equilibrium_noise(X, budget=20, cost_oracle=1, cost_noisy=0.1, n_classes=2,
                                         repeats=1, tolerance=0.5, epochs=5)
    assert est.n_noisy == 48 and est.costs.n_noisy == 200


@pytest.mark.parametrize("strategy, params", [("coreset", {}), ("probcover", {"delta": 1.5, "metric": "euclidean"})])
def test_other_selection_strategies_pick_the_simulated_subsets(strategy, params):
    rng = np.random.default_rng(0)
    X = (3 * np.eye(3, 4)[rng.integers(0, 3, 150)] + rng.standard_normal((150, 4))).astype(np.float32)
    est = estimate_equilibrium_noise(X, budget=9, cost_oracle=1, cost_noisy=0.5, n_classes=3, strategy=strategy,
                                     strategy_params=params, repeats=2, tolerance=0.5, epochs=10)
    assert est.settings["strategy"] == strategy and est.n_probes == 4 and 0 < est.n0 < 1
    with pytest.raises(ValueError, match="'strategy' parameter of estimate_equilibrium_noise"):
        estimate_equilibrium_noise(X, budget=9, cost_oracle=1, cost_noisy=0.5, n_classes=3, strategy="npc")


def test_bit_identical_at_any_thread_count(digits):
    import torch

    previous = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            results.append(estimate_equilibrium_noise(digits, budget=20, cost_oracle=1, cost_noisy=0.5,
                                                      n_classes=10, random_state=5, **FAST))
    finally:
        torch.set_num_threads(previous)
    a, b = results
    assert a.n0 == b.n0 and np.array_equal(a.acc_oracle, b.acc_oracle)
    assert [s.accuracies.tolist() for s in a.trace] == [s.accuracies.tolist() for s in b.trace]


def test_uncoupled_mode_draws_fresh_noise_per_step(digits):
    est = estimate_equilibrium_noise(digits, budget=20, cost_oracle=1, cost_noisy=0.5, n_classes=10,
                                     coupled=False, random_state=0, **FAST)
    assert est.settings["coupled"] is False and len(est.trace) == 3 and 0 < est.n0 < 1
