"""`nas simulate --training mtadcs`: MTaDCS plugs into the experiment runner; its per-epoch diagnostics are
written (results.json, training_history.csv) and drawn (mtadcs_history.png)."""
import csv
import json

import numpy as np
import pytest

from helpers.data import save_blob_pool
from nas.cli import main


@pytest.fixture
def files(tmp_path):
    _, X_test, y_test = save_blob_pool(tmp_path)
    np.save(tmp_path / "test_features.npy", X_test)
    np.save(tmp_path / "test_labels.npy", y_test)
    return tmp_path


def _args(files, *extra):
    return ["simulate", "--features", str(files / "features.npy"), "--labels", str(files / "labels.npy"),
            "--test-features", str(files / "test_features.npy"), "--test-labels", str(files / "test_labels.npy"),
            "--al", "random", "--lnl", "knn", "--noise-rate", "0.4", "--spc", "4", "8", "--quiet",
            "--out", str(files / "out"), *extra]


def test_simulate_trains_mtadcs_and_writes_its_diagnostics(files):
    code = main(_args(files, "--training", "mtadcs", "--mtadcs-epochs", "6", "--mtadcs-warmup", "2",
                      "--mtadcs-queue-size", "64", "--mtadcs-no-contrastive", "--repeats", "2"))
    assert code == 0
    results = json.loads((files / "out" / "results.json").read_text())
    assert results["config"]["training"] == "mtadcs"
    assert results["config"]["mtadcs_params"] == {"epochs": 6, "warmup_epochs": 2, "queue_size": 64,
                                                  "contrastive_weight": 0.0}
    history = results["training_history"]
    assert len(history) == 2 * 2 * 6                      # repeats x rounds x epochs
    assert {(h["repeat"], h["round"]) for h in history} == {(0, 0), (0, 1), (1, 0), (1, 1)}
    for record in results["records"]:
        last = [h for h in history if (h["repeat"], h["round"]) == (record["repeat"], record["round"])][-1]
        assert record["mtadcs_size_G"] == last["size_G"] == record["n_train"]
        assert record["mtadcs_precision_G"] == pytest.approx(last["precision_G"])
        assert 0 <= record["accuracy"] <= 100
    with open(files / "out" / "training_history.csv") as f:
        assert len(list(csv.DictReader(f))) == len(history)
    assert (files / "out" / "mtadcs_history.png").stat().st_size > 0
    with open(files / "out" / "mtadcs_history.csv") as f:
        plotted = list(csv.DictReader(f))
    assert {row["metric"] for row in plotted} >= {"size_G", "precision_G", "n_flipped_wrong"}


def test_mtadcs_options_without_the_mtadcs_trainer_are_an_error(files, capsys):
    assert main(_args(files, "--mtadcs-epochs", "5")) == 2
    err = capsys.readouterr().err.strip()
    assert "need --training mtadcs" in err and "\n" not in err


def test_a_bad_mtadcs_option_is_a_one_line_error(files, capsys):
    assert main(_args(files, "--training", "mtadcs", "--mtadcs-gamma", "1.5")) == 2
    err = capsys.readouterr().err.strip()
    assert "'gamma' parameter of MTaDCS.fit" in err and "\n" not in err
