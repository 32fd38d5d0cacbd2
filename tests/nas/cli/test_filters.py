"""`nas filters evaluate`: a tiny grid on a built-in embedding and on user files writes the table, the results
and one Fig. 3.1-style plot per noise type; bad input is a one-line error with exit status 2."""
import json

import numpy as np

from nas.cli import main

TINY = ["--noise-rates", "0.3", "0.6", "--spc", "1", "2", "--repeats", "2", "--quiet"]


def test_builtin_embedding(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["filters", "evaluate", "--embedding", "blobs-easy", "--filters", "knn", "cleanlab",
                 "--noise-types", "sym", "instance", "--out", str(out)] + TINY) == 0
    text = capsys.readouterr().out
    assert "blobs-easy: 3000 samples, 64 features, 10 classes" in text and "| instance | 0.6 | 2 | 50 | knn |" in text
    results = json.loads((out / "results.json").read_text())
    assert len(results["records"]) == 2 * 2 * 2 * 2 * 2 and results["config"]["embedding"] == "blobs-easy"
    for noise in ("sym", "instance"):
        assert (out / f"filter_evaluation_{noise}.png").stat().st_size > 0
        assert (out / f"filter_evaluation_{noise}.csv").read_text().startswith("filter,noise_type,spc,noise_rate")


def test_user_files_and_transition(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    np.save(tmp_path / "X.npy", (np.eye(3, 5)[y] * 3 + rng.standard_normal((300, 5))).astype(np.float32))
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "T.npy", np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]]))
    assert main(["filters", "evaluate", "--features", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.npy"),
                 "--transition", str(tmp_path / "T.npy"), "--noise-types", "asym", "--filters", "cv",
                 "--no-plot", "--out", str(tmp_path / "o")] + TINY) == 0
    assert "| asym | 0.3 | 1 | 5 | cv |" in capsys.readouterr().out
    assert not (tmp_path / "o" / "filter_evaluation_asym.png").exists()


def test_errors(tmp_path, capsys):
    assert main(["filters", "evaluate", "--features", str(tmp_path / "missing.npy"), "--out", str(tmp_path)]) == 2
    assert "--features needs --labels" in capsys.readouterr().err
    assert main(["filters", "evaluate", "--embedding", "digits", "--spc", "200", "--out", str(tmp_path)] + TINY[:3]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "The 'samples_per_class' parameter of evaluate_filters" in err


def test_filter_params_reach_the_filters(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["filters", "evaluate", "--embedding", "blobs-easy", "--filters", "knn", "aum", "--noise-types", "sym",
                 "--filter-param", "aum.epochs=3", "--filter-param", "knn.mode=reference", "--no-plot",
                 "--out", str(out)] + TINY) == 0
    config = json.loads((out / "results.json").read_text())["config"]
    assert config["filter_params"] == {"aum": {"epochs": 3}, "knn": {"mode": "reference"}}


def test_bad_filter_params_are_one_line_errors(tmp_path, capsys):
    base = ["filters", "evaluate", "--embedding", "blobs-easy", "--filters", "knn", "--out", str(tmp_path)] + TINY
    for bad, message in ((["--filter-param", "knn"], "expects FILTER.KEY=VALUE"),
                         (["--filter-param", "aum.epochs=3"], "not among --filters"),
                         (["--filter-param", "knn.size=3"], "for the filter 'knn'"),
                         (["--filter-param", "knn.mode=best"], "'mode' parameter of KNN")):
        assert main(base + bad) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
