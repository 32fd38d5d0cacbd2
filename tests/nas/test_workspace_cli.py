"""The workspace CLI end to end: init → query → annotate → query … → export with a simulated annotator,
checked against NAS.run with the same seed."""
import csv
import json

import numpy as np
import pytest
import torch
from helpers.cli import run_nas

from nas.cli import main
from nas.noise import SimulatedAnnotator, SymmetricNoise
from nas.workspace import Workspace
from nas.workspace.selection import build_selector

CLASSES = ["ant", "bee", "cat", "dog"]
N, D, ROUNDS = 400, 16, 3


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """Four Gaussian clusters, ids like image paths, a noisy annotator (30 % symmetric noise)."""
    root = tmp_path_factory.mktemp("pool")
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((len(CLASSES), D))
    truth = rng.integers(0, len(CLASSES), N)
    X = (centres[truth] + 0.4 * rng.standard_normal((N, D))).astype(np.float32)
    np.save(root / "pool.npy", X)
    (root / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    (root / "ids.txt").write_text("".join(f"images/{i:04d}.jpg\n" for i in range(N)))
    return root, X, truth


def annotator(truth):
    return SimulatedAnnotator(truth, SymmetricNoise(0.3), n_classes=len(CLASSES), random_state=1)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def answer(query_csv, out, noisy, *, by="id", label_as="name"):
    rows = read_csv(query_csv)
    picks = np.array([int(r["index"]) for r in rows], dtype=np.int64)
    labels = noisy(picks)
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([by, "label"])
        for r, y in zip(rows, labels):
            w.writerow([r[by], CLASSES[y] if label_as == "name" else int(y)])
    return picks


def test_cli_rounds_match_nas_run_and_export(pool, tmp_path):
    root, X, truth = pool
    ws = tmp_path / "ws"
    run_nas("init", ws, "--features", root / "pool.npy", "--classes", root / "classes.txt", "--ids", root / "ids.txt",
            "--strategy", "npc", "--filter", "cv", "--delta", "0.35", "--seed", "7")
    noisy = annotator(truth)
    picked = []
    for r in range(1, ROUNDS + 1):
        out = run_nas("query", ws).stdout
        query_csv = ws / "queries" / f"round-{r:04d}.csv"
        assert f"round {r}: {len(CLASSES)} samples to label -> {query_csv}" in out
        if r == 1:  # an unanswered query is returned again, not re-drawn
            assert "round 1 is still open: 4 of 4 samples unanswered" in run_nas("query", ws).stdout
        picked.append(answer(query_csv, tmp_path / f"answers-{r}.csv", noisy, by="id" if r % 2 else "index",
                             label_as="name" if r < 3 else "number"))
        assert "recorded 4 labels" in run_nas("annotate", ws, tmp_path / f"answers-{r}.csv").stdout

    with Workspace.open(ws) as w:
        config, n_classes = w.config, len(w.classes)
    reference = build_selector(config, n_classes=n_classes).run(X, ROUNDS * len(CLASSES), annotator(truth))
    np.testing.assert_array_equal(np.concatenate(picked), reference.labeled)

    status = json.loads(run_nas("status", ws, "--json").stdout)
    assert len(status["rounds"]) == ROUNDS and status["n_labels"] == ROUNDS * len(CLASSES)
    assert status["open_round"] is None and 0 < status["coverage"] <= 1
    assert status["predicted_noise_rate"] is not None
    assert {"filter", "selection", "fit", "ingest answers"} <= set(status["stage_seconds"])
    text = run_nas("status", ws).stdout
    assert "predicted noise rate" in text and "time per stage" in text

    out = run_nas("export", ws, "--out", tmp_path / "labeled.csv", "--model", tmp_path / "probe.pt",
                  "--epochs", "5").stdout
    assert f"wrote {ROUNDS * len(CLASSES)} labeled samples" in out
    rows = read_csv(tmp_path / "labeled.csv")
    assert [int(r["index"]) for r in rows] == reference.labeled.tolist()
    assert [r["id"] for r in rows] == [f"images/{i:04d}.jpg" for i in reference.labeled]
    assert [int(r["label_index"]) for r in rows] == reference.labels.tolist()
    assert [r["label"] for r in rows] == [CLASSES[y] for y in reference.labels]
    assert [bool(int(r["is_clean"])) for r in rows] == reference.is_clean.tolist()
    assert all(r["score"] for r in rows)
    probe = torch.load(tmp_path / "probe.pt")
    assert probe["coef"].shape == (len(CLASSES), D) and probe["classes"] == CLASSES
    assert probe["n_train"] == int(reference.is_clean.sum())


def nas_main(capsys, *args):
    """Run the CLI in this process (fast: the imports are shared); returns (exit status, stdout, stderr)."""
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_partial_answers_keep_the_round_open(pool, tmp_path, capsys):
    root, X, truth = pool
    ws = tmp_path / "ws"
    nas_main(capsys, "init", ws, "--features", root / "pool.npy", "--classes", root / "classes.txt", "--strategy",
             "random", "--filter", "knn", "--batch-size", "6")
    nas_main(capsys, "query", ws)
    rows = read_csv(ws / "queries" / "round-0001.csv")
    (tmp_path / "part.csv").write_text("index,label\n" + "".join(f"{r['index']},bee\n" for r in rows[:4]))
    assert "round 1: 2 samples still unanswered" in nas_main(capsys, "annotate", ws, tmp_path / "part.csv")[1]
    assert "round 1 is still open: 2 of 6 samples unanswered" in nas_main(capsys, "query", ws, "--batch-size", "3")[1]
    assert [r["index"] for r in read_csv(ws / "queries" / "round-0001.csv")] == [r["index"] for r in rows[4:]]
    status, out, _ = nas_main(capsys, "annotate", ws, tmp_path / "part.csv")  # sent again: nothing new or doubled
    assert status == 0 and "recorded 0 labels (4 already recorded)" in out


def test_cli_errors_are_one_line_with_exit_status_2(pool, tmp_path, capsys):
    root, X, truth = pool
    ws = tmp_path / "ws"
    status, _, err = nas_main(capsys, "init", ws, "--features", root / "pool.npy", "--classes", root / "classes.txt",
                              "--strategy", "nope")
    assert status == 2 and "unknown strategy 'nope'" in err and not (ws / "nas.sqlite").exists()
    nas_main(capsys, "init", ws, "--features", root / "pool.npy", "--classes", root / "classes.txt", "--strategy",
             "random", "--filter", "knn")
    status, _, err = nas_main(capsys, "init", ws, "--features", root / "pool.npy", "--classes", root / "classes.txt")
    assert status == 2 and "already a nas workspace" in err
    nas_main(capsys, "query", ws)
    (tmp_path / "bad.csv").write_text("index,label\n0,ant\n")
    status, _, err = nas_main(capsys, "annotate", ws, tmp_path / "bad.csv")
    assert status == 2 and "line 2: sample 0 was never queried" in err and len(err.strip().splitlines()) == 1
    status, _, err = nas_main(capsys, "status", tmp_path / "elsewhere")
    assert status == 2 and "is not a nas workspace" in err


def test_changed_features_are_a_clear_error(pool, tmp_path, capsys):
    root, X, truth = pool
    features = tmp_path / "pool.npy"
    np.save(features, X)
    ws = tmp_path / "ws"
    nas_main(capsys, "init", ws, "--features", features, "--classes", root / "classes.txt", "--strategy", "random",
             "--filter", "knn")
    changed = X.copy()
    changed[0, 0] += 1.0
    np.save(features, changed)
    status, _, err = nas_main(capsys, "query", ws)
    assert status == 2 and "changed since `nas init`" in err
    moved = tmp_path / "moved.npy"
    np.save(moved, X)
    np.save(features, X[::-1])
    assert "round 1" in nas_main(capsys, "query", ws, "--features", moved)[1]
