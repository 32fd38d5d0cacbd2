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


# ---------------------------------------------------------------------------------------------- end to end
import csv  # noqa: E402

import nas.noise  # noqa: E402
from nas.experiment import STRATEGY_NAMES, run, strategy_options  # noqa: E402
from nas.noise import SymmetricNoise  # noqa: E402
from nas.training._sgd import one_cpu_thread  # noqa: E402

N_CLASSES = 4
# Filters on a handful of labeled samples may call everything noisy; the runner then trains on all of them.
quiet_filters = [pytest.mark.filterwarnings("ignore::nas.filters.AllNoisyWarning"),
                 pytest.mark.filterwarnings("ignore:The noise filter marked all:UserWarning")]


def _blobs(n, seed):
    rng = np.random.default_rng(seed)
    centres = 3.0 * np.eye(N_CLASSES, 8)
    y = rng.integers(0, N_CLASSES, n)
    return (centres[y] + 0.6 * rng.standard_normal((n, 8))).astype(np.float32), y


@pytest.fixture(scope="module")
def data():
    X, y = _blobs(160, 0)
    X_test, y_test = _blobs(60, 1)
    return X, y, X_test, y_test


def _run(data, **kwargs):
    X, y, X_test, y_test = data
    options = dict(noise=SymmetricNoise(0.5), strategies=["random", "probcover", "npc"], noise_filter="knn",
                   samples_per_class=[2, 4], epochs=5, repeats=1, seed=3, progress=False,
                   strategy_params=strategy_options(STRATEGY_NAMES, delta=1.5, metric="euclidean"))
    options.update(kwargs)
    return run(X, y, X_test, y_test, **options)


def _without_timings(records):
    """Records minus wall-clock timings, NaN as None (NaN != NaN)."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()
             if not k.endswith("_seconds")} for r in records]


@quiet_filters[0]
@quiet_filters[1]
def test_every_strategy_runs_end_to_end_with_a_cheap_filter(data, tmp_path):
    result = _run(data, strategies=list(STRATEGY_NAMES), repeats=2, out_dir=tmp_path)
    assert len(result.records) == len(STRATEGY_NAMES) * 2 * 2
    assert result.config["round_budgets"] == [16, 16] and result.config["cumulative_budgets"] == [16, 32]
    for record in result.records:
        assert record["n_labeled"] == record["budget"]
        assert 0.0 <= record["accuracy"] <= 100.0
        assert 0 < record["n_train"] <= record["n_labeled"]
        if record["strategy"] == "random":
            assert record["accuracy_diff"] == 0.0
    nas_rounds = [r for r in result.records if r["strategy"] in ("npc", "weighted_npc", "maxherding_nas",
                                                                 "coreset_nas")]
    assert all(r["nas_filter_calls"] >= 1 for r in nas_rounds if r["round"] == 1)
    assert {row["strategy"] for row in result.summary} == set(STRATEGY_NAMES)

    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["config"]["strategies"] == list(STRATEGY_NAMES)
    assert len(saved["records"]) == len(result.records) and len(saved["summary"]) == len(result.summary)
    with open(tmp_path / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(STRATEGY_NAMES) * 2
    assert float(rows[0]["accuracy_mean"]) == pytest.approx(result.summary[0]["accuracy_mean"])
    loaded = ExperimentResult.load(tmp_path / "results.json")
    assert loaded.strategies() == list(STRATEGY_NAMES)


@quiet_filters[0]
@quiet_filters[1]
def test_same_seed_same_numbers_on_cpu(data):
    settings = dict(noise_filter="aum", strategies=["random", "npc"])
    with one_cpu_thread():  # AUM's tiny steps are slow on shared cores with several threads
        first, second, other = _run(data, **settings), _run(data, **settings), _run(data, seed=4, **settings)
    assert _without_timings(first.records) == _without_timings(second.records)
    assert _without_timings(other.records) != _without_timings(first.records)


@quiet_filters[0]
@quiet_filters[1]
def test_one_noise_realisation_per_repeat_shared_by_the_strategies(data, monkeypatch):
    made = []

    class Counting(nas.noise.SimulatedAnnotator):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self.noisy_labels.copy())

    monkeypatch.setattr(nas.noise, "SimulatedAnnotator", Counting)
    _run(data, repeats=2)
    assert len(made) == 2 and not np.array_equal(made[0], made[1])


def test_the_ideal_filter_sees_the_same_noise_as_the_annotator(data):
    result = _run(data, noise_filter="ideal")
    for record in result.records:
        assert record["predicted_noise_rate"] == record["true_noise_rate"]
        assert record["filter_accuracy"] == 1.0


@quiet_filters[0]
@quiet_filters[1]
def test_fixed_budget_rounds_and_random_is_added(data):
    result = _run(data, strategies=["probcover"], samples_per_class=None, budget=10, n_rounds=3)
    assert result.config["strategies"] == ["random", "probcover"]
    assert [r["budget"] for r in result.records if r["strategy"] == "probcover"] == [10, 20, 30]
    assert result.summary[0]["spc"] == pytest.approx(10 * 0.5 / N_CLASSES)


@quiet_filters[0]
@quiet_filters[1]
def test_training_on_all_labeled_samples(data):
    result = _run(data, train_on_all_labeled=True)
    assert all(r["n_train"] == r["n_labeled"] for r in result.records)


@quiet_filters[0]
@quiet_filters[1]
def test_resnet_framework_trains_on_images(data):
    X, y, X_test, y_test = data
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (len(y), 8, 8, 3), dtype=np.uint8)
    test_images = rng.integers(0, 256, (len(y_test), 8, 8, 3), dtype=np.uint8)
    result = run(X, y, None, y_test, noise=SymmetricNoise(0.5), strategies=["random"], noise_filter="knn",
                 samples_per_class=[2], framework="resnet18", train_images=images, test_images=test_images,
                 epochs=1, training_params={"width": 4, "batch_size": 16}, progress=False)
    assert result.config["framework"] == "resnet18"
    assert 0.0 <= result.records[0]["accuracy"] <= 100.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(samples_per_class=[2, 40]), "pool has only 160"),
    (dict(strategies=["badge"]), "strategies"),
    (dict(framework="resnet18"), "train_images"),
    (dict(repeats=0), "repeats"),
    (dict(n_classes=3), "must lie in \\[0, 3\\)"),
])
def test_bad_experiments_are_rejected(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _run(data, **kwargs)


def test_bad_test_labels_are_rejected(data):
    X, y, X_test, y_test = data
    for labels, match in [(y_test.astype(float), "integer array of length 60"), (y_test[:5], "length 60")]:
        with pytest.raises(ValueError, match=match):
            run(X, y, X_test, labels, noise=SymmetricNoise(0.5), progress=False)


@quiet_filters[0]
@quiet_filters[1]
def test_probcover_family_shares_one_graph_without_changing_picks(data, monkeypatch):
    import nas_ext

    alone = _run(data, strategies=["random", "npc"], repeats=2)
    built = []
    original = nas_ext.radius_graph

    def counting(*args, **kwargs):
        built.append(kwargs.get("metric"))
        return original(*args, **kwargs)

    monkeypatch.setattr(nas_ext, "radius_graph", counting)
    shared = _run(data, strategies=["random", "probcover", "npc", "weighted_npc"], repeats=2)
    assert len(built) == 1
    npc = lambda result: _without_timings([r for r in result.records if r["strategy"] == "npc"])
    assert npc(shared) == npc(alone)


@quiet_filters[0]
@quiet_filters[1]
def test_the_purity_rule_delta_is_seeded_and_shared_within_a_repeat(data):
    options = dict(strategies=["random", "probcover", "npc"], strategy_params={}, repeats=2)
    first, second = _run(data, **options), _run(data, **options)
    assert _without_timings(first.records) == _without_timings(second.records)
