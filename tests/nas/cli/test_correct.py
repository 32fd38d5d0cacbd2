"""`nas correct simulate` and the workspace actions through the CLI entry point."""
import json

import numpy as np

from nas.cli import main


def _data(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 30)
    X = (np.repeat(np.eye(3, 5) * 4, 30, axis=0) + rng.standard_normal((90, 5))).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    return y


FAST = ["--epochs", "5", "--lr", "0.1", "--quiet"]


def test_simulate_prints_both_measures_and_writes_json_csv_png(tmp_path, capsys):
    _data(tmp_path)
    out = tmp_path / "out"
    code = main(["correct", "simulate", "--features", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.npy"),
                 "--noise-type", "sym", "--noise-rate", "0.3", "--budget", "20", "--batch", "10", "--repeats", "2",
                 "--methods", "random", "loss", "alc", "--out", str(out), *FAST])
    assert code == 0
    text = capsys.readouterr().out
    assert "hit_rate (%) mean ± sem" in text and "accuracy mean ± sem" in text and "AUROC" in text
    for name in ("results.json", "records.csv", "summary.csv", "accuracy.png", "hit_rate.png", "accuracy.csv"):
        assert (out / name).stat().st_size > 0
    config = json.loads((out / "results.json").read_text())["config"]
    assert config["budget"] == 20 and config["methods"] == ["random", "loss", "alc"]


def test_simulate_runs_dalc_and_pinning(tmp_path, capsys):
    _data(tmp_path)
    out = tmp_path / "out"
    code = main(["correct", "simulate", "--features", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.npy"),
                 "--noise-type", "sym", "--noise-rate", "0.3", "--budget", "20", "--batch", "10", "--repeats", "1",
                 "--methods", "alc", "dalc", "--pin-relabelled", "--no-plot", "--out", str(out), *FAST])
    assert code == 0
    assert "transition_error mean ± sem" in capsys.readouterr().out
    result = json.loads((out / "results.json").read_text())
    assert result["config"]["params"]["pin_relabelled"] is True
    assert {r["strategy"] for r in result["records"]} == {"alc", "dalc"}


def test_simulate_bad_input_exits_2_with_one_line(tmp_path, capsys):
    _data(tmp_path)
    base = ["correct", "simulate", "--features", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.npy"),
            "--batch", "10", *FAST]
    assert main(base + ["--budget", "1000"]) == 2
    err = capsys.readouterr().err
    assert "'budget' parameter of simulate must be an int in [1, 60]" in err and err.count("\n") == 1
    X = np.load(tmp_path / "X.npy")
    X[3, 1] = np.nan
    np.save(tmp_path / "X.npy", X)
    assert main(base + ["--budget", "10"]) == 2
    assert "finite" in capsys.readouterr().err


def test_workspace_round_trip(tmp_path, capsys):
    y = _data(tmp_path)
    (tmp_path / "classes.txt").write_text("a\nb\nc\n")
    ws = str(tmp_path / "ws")
    assert main(["init", ws, "--features", str(tmp_path / "X.npy"), "--classes", str(tmp_path / "classes.txt")]) == 0
    noisy = (y + (np.arange(90) % 4 == 0)) % 3
    (tmp_path / "noisy.csv").write_text("index,label\n" + "".join(f"{i},{l}\n" for i, l in enumerate(noisy)))
    assert main(["correct", "import", ws, str(tmp_path / "noisy.csv"), "--batch-size", "6",
                 "--param", "epochs=5"]) == 0
    queue = tmp_path / "q.csv"
    assert main(["correct", "queue", ws, "--out", str(queue)]) == 0
    rows = queue.read_text().splitlines()[1:]
    answers = "index,label\n" + "".join(f"{r.split(',')[0]},{y[int(r.split(',')[0])]}\n" for r in rows)
    (tmp_path / "a.csv").write_text(answers)
    assert main(["correct", "answer", ws, str(tmp_path / "a.csv")]) == 0
    assert main(["correct", "status", ws]) == 0
    out = capsys.readouterr().out
    assert "6 answered" in out and "round 1: 6/6 answered" in out
    (tmp_path / "bad.csv").write_text("index,label\n0,zebra\n")
    assert main(["correct", "answer", ws, str(tmp_path / "bad.csv")]) == 2
    assert "unknown class 'zebra'" in capsys.readouterr().err
