"""`nas plan`: the decision on one screen, plan.json + plot, the pilot, a workspace's next round, the digits check;
bad input is a one-line error with exit status 2."""
import json

import numpy as np
import pytest

from nas.cli import main
from nas.noise import SimulatedAnnotator, SymmetricNoise

FAST = ["--repeats", "2", "--tolerance", "0.25", "--epochs", "20", "--curve-points", "3", "--quiet"]


def _blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    return (3.0 * np.eye(4, 6)[y] + 0.8 * rng.standard_normal((n, 6))).astype(np.float32), y


@pytest.fixture
def pool(tmp_path):
    X, y = _blobs()
    np.save(tmp_path / "pool.npy", X)
    return tmp_path, y


def test_plan_prints_the_decision_and_writes_json_and_plot(pool, capsys):
    root, _ = pool
    code = main(["plan", "--features", str(root / "pool.npy"), "--n-classes", "4", "--budget", "12",
                 "--cost-oracle", "1", "--cost-noisy", "0.25", "--noise-rate", "0.9", "--out", str(root / "out"),
                 *FAST])
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("Decision: buy from the ORACLE")    # eta = 0.9 is far above any n0 <= 1 - t = 0.75
    assert "N_o = 12" in out and "N_n = 48" in out and "probe fits" in out
    record = json.loads((root / "out" / "plan.json").read_text())
    assert record["decision"] == "oracle" and record["noise_rate"] == 0.9
    assert record["estimate"]["n_probes"] == 2 * (1 + len({s["noise_rate"] for s in record["estimate"]["trace"]}
                                                         | {0.0, 0.5, 1.0}))
    assert (root / "out" / "plan.png").stat().st_size > 0 and (root / "out" / "plan.csv").exists()


def test_pilot_estimates_eta_and_pays_for_itself(pool, capsys):
    root, y = pool
    idx = np.arange(40)
    noisy = SymmetricNoise(0.5).apply(y[idx], n_classes=4, random_state=0)
    (root / "pilot.csv").write_text("index,label\n" + "".join(f"{i},{l}\n" for i, l in zip(idx, noisy)))
    code = main(["plan", "--features", str(root / "pool.npy"), "--n-classes", "4", "--budget", "30",
                 "--cost-oracle", "1", "--cost-noisy", "0.25", "--pilot-labels", str(root / "pilot.csv"),
                 "--out", str(root / "out"), "--no-plot", *FAST])
    assert code == 0
    record = json.loads((root / "out" / "plan.json").read_text())
    assert record["noise_rate_source"] == "pilot" and record["pilot"]["cost"] == 10.0
    assert record["estimate"]["budget"] == 20.0 and 0.0 < record["noise_rate"] <= 1.0
    assert "came off the budget (30 -> 20)" in capsys.readouterr().out
    assert not (root / "out" / "plan.png").exists()


@pytest.mark.parametrize("extra, message", [
    (["--cost-oracle", "0"], "'cost_oracle' parameter of nas plan must be a float in (0, inf)"),
    (["--cost-noisy", "-1"], "'cost_noisy' parameter of nas plan must be a float in (0, inf)"),
    (["--budget", "0.5"], "'budget' parameter of nas plan must be at least the cost of one label"),
    (["--noise-rate", "1.5"], "--noise-rate must be in [0, 1]; got 1.5"),
    (["--noise-rate", "-0.1"], "--noise-rate must be in [0, 1]; got -0.1"),
])
def test_bad_input_is_a_one_line_error(pool, capsys, extra, message):
    root, _ = pool
    base = {"--budget": "12", "--cost-oracle": "1", "--cost-noisy": "0.8", "--noise-rate": "0.2"}
    for flag, value in zip(extra[::2], extra[1::2]):
        base[flag] = value
    args = ["plan", "--features", str(root / "pool.npy"), "--n-classes", "4"]
    for flag, value in base.items():
        args += [flag, value]
    assert main(args + FAST) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("args, message", [
    (["--budget", "5", "--cost-oracle", "1", "--cost-noisy", "0.5", "--noise-rate", "0.1"], "--n-classes"),
    (["--n-classes", "4", "--cost-oracle", "1", "--cost-noisy", "0.5", "--noise-rate", "0.1"], "missing --budget"),
    (["--n-classes", "4", "--budget", "5", "--cost-oracle", "1", "--cost-noisy", "0.5"], "--noise-rate ETA or"),
])
def test_missing_arguments_are_named(pool, capsys, args, message):
    root, _ = pool
    assert main(["plan", "--features", str(root / "pool.npy"), *args, "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_workspace_round_uses_its_predicted_noise_rate_and_spend(pool, capsys):
    from nas.workspace import Workspace

    root, y = pool
    annotator = SimulatedAnnotator(y, SymmetricNoise(0.3), n_classes=4, random_state=1)
    with Workspace.init(root / "ws", features=root / "pool.npy", classes=["a", "b", "c", "d"], strategy="random",
                        filter="knn", batch_size=12, seed=0) as ws:
        q = ws.query()
        ws.annotate([(int(i), ["a", "b", "c", "d"][int(annotator([i])[0])]) for i in q.samples])
        ws.export(root / "labeled.csv")         # runs the filter on the 12 labels
        eta = ws.status().predicted_noise_rate
    assert eta is not None
    code = main(["plan", "--workspace", str(root / "ws"), "--budget", "6", "--cost-oracle", "1", "--cost-noisy",
                 "0.5", *FAST])
    assert code == 0
    out = capsys.readouterr().out
    record = json.loads((root / "ws" / "plans" / "round-0002" / "plan.json").read_text())
    assert record["noise_rate"] == eta and record["noise_rate_source"] == "workspace"
    assert record["workspace"]["spent"] == 6.0 and record["estimate"]["budget"] == 12.0  # 12 labels x 0.5 + 6
    assert record["estimate"]["n_rows"] == 200 - 12                                    # the unlabeled pool
    assert "workspace round 2" in out


def test_validate_digits_quick_prints_the_table(tmp_path, capsys):
    assert main(["plan", "--validate-digits", "--quick", "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| B (= N_o) | t = c_n/c_o |" in out and "| all |" in out
    result = json.loads((tmp_path / "validation.json").read_text())
    assert result["summary"]["n_cases"] == 6 and len(result["plans"]) == 2
