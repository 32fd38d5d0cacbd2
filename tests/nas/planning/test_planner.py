"""choose_annotator / plan_rounds: the decision follows sign(eta - n0), estimates are reused, rounds are cached."""
import numpy as np
import pytest

from nas.planning import choose_annotator, decide, explain, plan_rounds
from nas.planning.plot import plot_plan


def blobs(n=240, k=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    return (3.0 * np.eye(k, 6)[y] + 0.8 * rng.standard_normal((n, 6))).astype(np.float32)


FAST = dict(repeats=2, tolerance=1 / 4, epochs=20, random_state=0)


@pytest.fixture(scope="module")
def plan():
    return choose_annotator(blobs(), budget=12, cost_oracle=1, cost_noisy=0.25, noise_rate=0.6, n_classes=4,
                            curve_rates=(0.0, 1.0), **FAST)


def test_decision_follows_the_sign_of_eta_minus_n0(plan):
    assert plan.decision == decide(0.6, plan.n0, tie_tolerance=1 / 8)[0]
    assert plan.tie_tolerance == 1 / 8 and plan.estimate.reason == "search"
    for eta in (0.0, 1.0):  # the same estimate, other noise rates: no new search
        other = choose_annotator(None, budget=12, cost_oracle=1, cost_noisy=0.25, noise_rate=eta, n_classes=4,
                                 estimate=plan.estimate, **FAST)
        assert other.estimate is plan.estimate
        assert other.decision == ("noisy" if eta < plan.n0 - 1 / 8 else "oracle" if eta > plan.n0 + 1 / 8
                                  else "random")


def test_an_estimate_for_other_costs_is_refused(plan):
    with pytest.raises(ValueError, match="estimate was made for B=12"):
        choose_annotator(None, budget=13, cost_oracle=1, cost_noisy=0.25, noise_rate=0.2, n_classes=4,
                         estimate=plan.estimate)


def test_explain_and_json_carry_the_reasoning(plan):
    text = explain(plan)
    assert text.startswith("Decision: buy from the")
    assert "N_o = 12" in text and "N_n = 48" in text and "n0 = " in text and "sign(eta - n0)" in text
    record = plan.to_dict()
    assert record["estimate"]["n_oracle"] == 12 and len(record["estimate"]["acc_oracle"]) == 2
    assert len(record["estimate"]["trace"]) == 2 and record["reasoning"] == text.splitlines()
    assert record["bound_1_minus_t"] == 0.75


def test_plot_writes_png_and_points(plan, tmp_path):
    path = plot_plan(plan, tmp_path / "plan.png")
    assert path.stat().st_size > 0
    rows = (tmp_path / "plan.csv").read_text().splitlines()
    assert rows[0] == "series,kind,noise_rate,mean,sem,repeats"
    assert len(rows) == 1 + 2 + 2 + 1  # header, 2 search steps, 2 curve points, the oracle


def test_rounds_use_cumulative_budgets_and_the_cache():
    X = blobs()
    cache = {}
    plans = plan_rounds(X, round_budgets=[8, 8], cost_oracle=1, cost_noisy=0.5, noise_rates=[0.1, 0.7],
                        n_classes=4, cache=cache, **FAST)
    assert [p.costs.budget for p in plans] == [8, 16] and sorted(cache) == [(8.0, 0.5), (16.0, 0.5)]
    again = plan_rounds(X, round_budgets=[8, 8], cost_oracle=1, cost_noisy=0.5, noise_rates=0.9, n_classes=4,
                        cache=cache, **FAST)
    assert [a.estimate for a in again] == [p.estimate for p in plans]  # no new search
    with pytest.raises(ValueError, match="one noise rate per round"):
        plan_rounds(X, round_budgets=[8, 8], cost_oracle=1, cost_noisy=0.5, noise_rates=[0.1], n_classes=4)
