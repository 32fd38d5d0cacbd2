"""The experiment runner: budget arithmetic of reference §11.1, end-to-end runs of every strategy, results files,
seeding."""
import json
import math

import numpy as np
import pytest

from nas.experiment import ExperimentResult, fixed_schedule, make_schedule, spc_budget, spc_schedule, \
    standard_error, summarize


@pytest.mark.parametrize("n_classes, noise_rate, expected", [
    (100, 0.8, [501, 500, 500, 500, 500]),
    (100, 0.2, [125, 125, 125, 125, 125]),
    (100, 0.5, [200, 200, 200, 200, 200]),
    (100, 0.402, [168, 167, 167, 167, 168]),
    (14, 0.38, [23, 23, 22, 23, 22]),
    (50, 0.5, [100, 100, 100, 100, 100]),
])
def test_spc_schedule_reproduces_the_reference_budgets(n_classes, noise_rate, expected):
    schedule = spc_schedule([1, 2, 3, 4, 5], n_classes, noise_rate)
    assert schedule.round_budgets == expected
    assert schedule.cumulative == list(np.cumsum(expected))
    assert schedule.spc == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_the_floating_point_501_is_the_reference_ceiling():
    assert 100 / (1 - 0.8) > 500
    assert spc_budget(1, 100, 0.8) == 501
    assert spc_budget(2, 100, 0.8) == 1001


def test_fixed_schedule_reports_the_expected_spc():
    schedule = fixed_schedule(100, 5, 100, 0.5)
    assert schedule.round_budgets == [100] * 5
    assert schedule.cumulative == [100, 200, 300, 400, 500]
    assert schedule.spc == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.5])


@pytest.mark.parametrize("kwargs, match", [
    (dict(samples_per_class=[2, 1], budget=None), "strictly increasing"),
    (dict(samples_per_class=[], budget=None), "non-empty"),
    (dict(samples_per_class=[1], budget=10), "not both"),
    (dict(samples_per_class=None, budget=None), "not both and not neither"),
    (dict(samples_per_class=[1.01, 1.02], budget=None), "at least one sample"),
])
def test_bad_schedules_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_schedule(n_rounds=None, n_classes=10, noise_rate=0.5, **kwargs)


def test_noise_rate_must_be_below_one():
    with pytest.raises(ValueError, match="noise_rate"):
        spc_schedule([1], 10, 1.0)


def test_standard_error_and_summary():
    assert standard_error([1.0, 3.0]) == pytest.approx(1.0)
    assert math.isnan(standard_error([1.0]))
    assert standard_error([1.0, 3.0, float("nan")]) == pytest.approx(1.0)
    records = [{"repeat": r, "seed": r, "strategy": "a", "round": 0, "budget": 10, "spc": 1.0, "round_budget": 10,
                "accuracy": 50.0 + 2 * r} for r in range(2)]
    (row,) = summarize(records)
    assert row["accuracy_mean"] == 51.0 and row["accuracy_sem"] == pytest.approx(1.0)
    assert row["n_repeats"] == 2 and row["budget"] == 10 and "repeat_mean" not in row
