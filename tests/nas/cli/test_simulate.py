"""`nas simulate`: reads .npy/.npz/.pt inputs, runs the experiment, writes results and plots; bad input is a
one-line error with exit status 2."""
import json

import numpy as np
import pytest
import torch

from helpers.data import save_blob_pool
from nas.cli import main


@pytest.fixture
def files(tmp_path):
    y, X_test, y_test = save_blob_pool(tmp_path)
    np.savez(tmp_path / "test.npz", features=X_test, labels=y_test)
    noisy = y.copy()
    noisy[::3] = (noisy[::3] + 1) % 4
    torch.save({"noisy_label": torch.from_numpy(noisy)}, tmp_path / "noisy.pt")
    return tmp_path


def _args(files, *extra):
    return ["simulate", "--features", str(files / "features.npy"), "--labels", str(files / "labels.npy"),
            "--test-features", f"{files / 'test.npz'}:features", "--test-labels", f"{files / 'test.npz'}:labels",
            "--epochs", "3", "--quiet", "--out", str(files / "out"), *extra]


def test_simulate_writes_results_table_and_plots(files, capsys):
    code = main(_args(files, "--al", "probcover", "npc", "--lnl", "knn", "--spc", "2", "4", "--noise-type", "sym",
                      "--noise-rate", "0.5", "--initial-delta", "1.5", "--metric", "euclidean", "--seed", "2"))
    assert code == 0
    out = capsys.readouterr().out
    assert "accuracy_diff (mean ± sem)" in out and "npc" in out
    results = json.loads((files / "out" / "results.json").read_text())
    assert results["config"]["strategies"] == ["random", "probcover", "npc"]
    assert results["config"]["round_budgets"] == [16, 16]
    assert results["config"]["strategy_params"]["npc"] == {"delta": 1.5, "delta_policy": None,
                                                           "metric": "euclidean", "device": "cpu"}
    for name in ("records.csv", "summary.csv", "accuracy_difference.png", "accuracy_difference.csv",
                 "filter_metrics.png", "filter_metrics.csv"):
        assert (files / "out" / name).stat().st_size > 0


def test_simulate_with_file_noise_and_a_fixed_budget(files):
    code = main(_args(files, "--al", "random", "--lnl", "ideal", "--noise-type", "file", "--noisy-labels",
                      f"{files / 'noisy.pt'}:noisy_label", "--budget", "10", "--rounds", "2", "--no-plot"))
    assert code == 0
    results = json.loads((files / "out" / "results.json").read_text())
    assert results["config"]["budget_noise_rate"] == pytest.approx(40 / 120)
    assert results["config"]["cumulative_budgets"] == [10, 20]
    assert all(r["filter_accuracy"] == 1.0 for r in results["records"])
    assert not (files / "out" / "accuracy_difference.png").exists()


def test_simulate_passes_nas_filter_and_training_options(files):
    code = main(_args(files, "--al", "npc", "--lnl", "aum", "--noise-rate", "0.5", "--spc", "2", "4",
                      "--noise-dropout", "--share-size", "8", "--nas-after-spc", "2", "--filter-noise-rate", "0.5",
                      "--lr", "0.05", "--batch-size", "10", "--delta-policy", "max_degree", "--no-plot"))
    assert code == 0
    config = json.loads((files / "out" / "results.json").read_text())["config"]
    assert config["nas_params"] == {"noise_dropout": True, "batch_size": 8, "start_after": 16}
    assert config["filter_params"] == {"noise_rate": 0.5}
    assert config["training_params"] == {"lr": 0.05, "batch_size": 10}
    assert config["strategy_params"]["npc"]["delta_policy"] == "max_degree"


def test_simulate_trains_a_resnet_on_images(files):
    rng = np.random.default_rng(0)
    np.save(files / "images.npy", rng.integers(0, 256, (120, 8, 8, 3), dtype=np.uint8))
    np.save(files / "test_images.npy", rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8))
    code = main(_args(files, "--al", "random", "--lnl", "ideal", "--noise-rate", "0.5", "--spc", "1",
                      "--images", str(files / "images.npy"), "--test-images", str(files / "test_images.npy"),
                      "--epochs", "1", "--no-plot"))
    assert code == 0
    assert json.loads((files / "out" / "results.json").read_text())["config"]["framework"] == "resnet18"


@pytest.mark.parametrize("extra, message", [
    (["--noise-type", "sym"], "needs --noise-rate"),
    (["--noise-type", "file"], "needs --noisy-labels"),
    (["--noise-type", "asym", "--noise-rate", "0.2"], "needs --transition"),
    (["--noise-rate", "0.5", "--images", "missing.npy"], "needs --test-images"),
    (["--noise-rate", "0.5", "--noisy-labels", "nowhere.npy", "--noise-type", "file"], "No such file"),
    (["--noise-rate", "0.5", "--spc", "2", "60"], "pool has only 120"),
])
def test_simulate_reports_bad_input_in_one_line(files, capsys, extra, message):
    assert main(_args(files, *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("nas simulate: error:") and "\n" not in err
