"""The filter-evaluation harness (nas.filters.evaluation): the grid it runs, the budgets it draws, the
metrics it reports, determinism, and its errors. Tiny grids on a 4-class blob embedding."""
import math

import numpy as np
import pytest

from nas.experiment import spc_budget
from nas.filters.evaluation import FilterEvaluation, evaluate_filters
from nas.filters.evaluation_data import load_embedding, nearest_class_transition, synthetic_embedding


def _blobs(n=400, seed=0):
    return synthetic_embedding(n, n_classes=4, n_features=16, spread=0.5, seed=seed)


@pytest.mark.filterwarnings("ignore::nas.filters.base.AllNoisyWarning")  # kNN on a 50%-asymmetric set of 16
def test_grid_budgets_and_oracle():
    X, y = _blobs()
    ev = evaluate_filters(X, y, filters=["ideal", "knn"], noise_types=["sym", "asym", "instance"],
                          noise_rates=[0.2, 0.5], samples_per_class=[2, 5], repeats=2, progress=False)
    assert len(ev.records) == 2 * 3 * 2 * 2 * 2 and len(ev.summary) == 3 * 2 * 2 * 2
    for r in ev.records:
        assert r["budget"] == r["n_samples"] == spc_budget(r["spc"], 4, r["noise_rate"])
        # floor(rate·N) flips of the whole pool: a labeled sample is noisy with about the nominal rate
        assert 0.0 <= r["true_noise_rate"] <= 1.0
    for r in ev.rows(filter="ideal"):  # the oracle is exact, so the harness compares against the right truth
        assert r["noise_f1_mean"] == 1.0 and r["balanced_accuracy_mean"] == 1.0
        assert r["predicted_noise_rate_mean"] == r["true_noise_rate_mean"]
    assert np.mean([r["true_noise_rate"] for r in ev.records if r["noise_rate"] == 0.5]) == pytest.approx(0.5, abs=0.1)


def test_nested_labeled_sets_and_sem():
    X, y = _blobs()
    ev = evaluate_filters(X, y, filters=["knn"], noise_types=["sym"], noise_rates=[0.4], samples_per_class=[1, 3],
                          repeats=3, progress=False)
    row = ev.rows(spc=3)[0]
    values = [r["noise_f1"] for r in ev.records if r["spc"] == 3]
    assert row["n_repeats"] == 3 and row["noise_f1_mean"] == pytest.approx(np.mean(values))
    assert row["noise_f1_sem"] == pytest.approx(np.std(values, ddof=1) / math.sqrt(3))


def test_same_seed_same_numbers_and_filters_independent():
    X, y = _blobs()
    kwargs = dict(noise_types=["sym"], noise_rates=[0.5], samples_per_class=[3], repeats=2, progress=False)
    a = evaluate_filters(X, y, filters=["aum", "cv"], **kwargs)
    b = evaluate_filters(X, y, filters=["cv"], **kwargs)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip([r for r in a.records if r["filter"] == "cv"]) == strip(b.records)
    c = evaluate_filters(X, y, filters=["cv"], seed=1, **kwargs)
    assert strip(c.records) != strip(b.records)


def test_save_load_table(tmp_path):
    X, y = _blobs()
    ev = evaluate_filters(X, y, filters=["knn", "cleanlab"], noise_types=["sym"], noise_rates=[0.3],
                          samples_per_class=[2], repeats=2, progress=False)
    ev.save(tmp_path)
    back = FilterEvaluation.load(tmp_path)
    assert back.filters() == ["knn", "cleanlab"] and len(back.records) == 4
    table = back.table()
    assert table.count("\n") == 3 and "| sym | 0.3 | 2 | 12 | cleanlab |" in table and " ± " in table


def test_nearest_class_transition():
    X = np.array([[0.0], [0.1], [5.0], [5.6], [5.4]])
    y = np.array([0, 1, 2, 3, 2])
    T = nearest_class_transition(X, y, 4)
    np.testing.assert_allclose(T.sum(axis=1), 1.0)
    assert [int(np.argmax(T[c] - 0.5 * np.eye(4)[c])) for c in range(4)] == [1, 0, 3, 2]


def test_builtin_embeddings():
    X, y = load_embedding("digits")
    assert X.shape == (1797, 64) and set(np.unique(y)) == set(range(10))
    X, y = load_embedding("blobs-hard")
    assert X.shape == (3000, 64) and np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)


def test_errors():
    X, y = _blobs(100)
    with pytest.raises(ValueError, match="The 'samples_per_class' parameter of evaluate_filters must be small enough"):
        evaluate_filters(X, y, samples_per_class=[30], noise_rates=[0.5], progress=False)
    with pytest.raises(ValueError, match="The 'filters' parameter of evaluate_filters must be one of"):
        evaluate_filters(X, y, filters=["nope"], progress=False)
    with pytest.raises(ValueError, match="The 'noise_rates' parameter of evaluate_filters must be a float in"):
        evaluate_filters(X, y, noise_rates=[1.0], progress=False)
    with pytest.raises(ValueError, match="The 'y' parameter of evaluate_filters"):
        evaluate_filters(X, y[:-1], progress=False)
