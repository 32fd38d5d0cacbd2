"""Plots: PNG files and the CSV data behind them, from a result object or a saved results.json."""
import csv
import math

import numpy as np
import pytest

from nas.experiment import ExperimentResult
from nas.plots import plot_accuracy_difference, plot_experiment, plot_filter_metrics


def _result(repeats=3):
    rng = np.random.default_rng(0)
    records = []
    for repeat in range(repeats):
        for strategy, gain in [("random", 0.0), ("probcover", 2.0), ("npc", 4.0)]:
            for round_ in range(3):
                accuracy = 50.0 + 5 * round_ + gain + rng.normal()
                records.append({"repeat": repeat, "seed": repeat, "strategy": strategy, "round": round_,
                                "round_budget": 20, "budget": 20 * (round_ + 1), "spc": float(round_ + 1),
                                "accuracy": accuracy, "noise_precision": 0.8, "noise_recall": 0.7,
                                "predicted_noise_rate": 0.45, "true_noise_rate": 0.5})
    baseline = {(r["repeat"], r["round"]): r["accuracy"] for r in records if r["strategy"] == "random"}
    for r in records:
        r["accuracy_diff"] = r["accuracy"] - baseline[(r["repeat"], r["round"])]
    return ExperimentResult(config={"noise": {"model": "SymmetricNoise", "rate": 0.5}, "noise_filter": "aum",
                                    "framework": "linear", "repeats": repeats}, records=records)


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_accuracy_difference_plot_writes_png_and_its_data(tmp_path):
    png = plot_accuracy_difference(_result(), tmp_path / "diff.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = _rows(tmp_path / "diff.csv")
    assert {r["strategy"] for r in rows} == {"probcover", "npc"}
    npc = [float(r["mean"]) for r in rows if r["strategy"] == "npc"]
    assert npc == pytest.approx([4.0, 4.0, 4.0], abs=2.0)
    assert all(float(r["sem"]) >= 0 for r in rows)


def test_filter_metric_plot_has_each_panel_in_its_data(tmp_path):
    plot_filter_metrics(_result(), tmp_path / "filter.png")
    metrics = {r["metric"] for r in _rows(tmp_path / "filter.csv")}
    assert metrics == {"noise_precision", "noise_recall", "predicted_noise_rate", "true_noise_rate"}


def test_plots_from_saved_results_with_a_single_repeat(tmp_path):
    result = _result(repeats=1)
    result.save(tmp_path)
    assert math.isnan(result.summary[0]["accuracy_sem"])
    paths = plot_experiment(tmp_path / "results.json", tmp_path / "figures")
    for path in paths.values():
        assert path.exists() and path.with_suffix(".csv").exists()


def test_training_history_plot_from_one_mtadcs_fit(tmp_path):
    from nas.plots import plot_training_history

    history = {"epoch": np.arange(4), "size_G": np.array([5, 9, 12, 12]), "precision_G": np.array([1.0, .9, .8, .8]),
               "recall_G": np.array([.2, .4, .5, .5]), "n_flipped_right": np.array([0, 0, 3, 1]),
               "n_flipped_wrong": np.array([0, 0, 1, 0])}
    png = plot_training_history(history, tmp_path / "history.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = _rows(tmp_path / "history.csv")
    sizes = [float(r["mean"]) for r in rows if r["metric"] == "size_G"]
    assert sizes == [5.0, 9.0, 12.0, 12.0]
    with pytest.raises(ValueError, match="at least one epoch"):
        plot_training_history([], tmp_path / "empty.png")


def test_filter_evaluation_plot(tmp_path):
    from nas.filters.evaluation import FilterEvaluation
    from nas.plots import plot_filter_evaluation

    records = [{"repeat": r, "noise_type": "sym", "noise_rate": q, "spc": s, "budget": 10, "filter": f,
                "seconds": 0.1, "true_noise_rate": q, "predicted_noise_rate": q * (0.5 if f == "aum" else 1.0),
                "noise_precision": 0.9, "noise_recall": 0.8, "noise_f1": 0.85, "balanced_accuracy": 0.8}
               for r in range(2) for q in (0.2, 0.8) for s in (1, 5) for f in ("cv", "aum")]
    ev = FilterEvaluation({"noise_types": ["sym"], "samples_per_class": [1, 5], "repeats": 2}, records)
    ev.save(tmp_path)
    path = plot_filter_evaluation(tmp_path / "results.json", tmp_path / "fig.png")
    assert path.stat().st_size > 0
    with open(tmp_path / "fig.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * 2 * 2 * 2  # panels x E[SPC] x filters x rates
    aum = [r for r in rows if r["filter"] == "aum" and r["metric"] == "predicted_noise_rate" and r["noise_rate"] == "0.8"]
    assert {float(r["mean"]) for r in aum} == {0.4}
