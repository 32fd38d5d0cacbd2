"""`nas correct` on a workspace: import, queue, answer; all-or-nothing files, resends, resume = run."""
import csv

import numpy as np
import pytest

from nas.correction import ActiveLabelCorrection
from nas.correction.workspace import CorrectionWorkspace
from nas.workspace import AnswerFileError, Workspace, WorkspaceError

CLASSES = ["a", "b", "c"]
PARAMS = {"epochs": 10, "lr": 0.1, "train_batch_size": 20}


@pytest.fixture
def pool(tmp_path):
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(3), 40)
    X = (np.repeat(np.eye(3, 6) * 4, 40, axis=0) + rng.standard_normal((120, 6))).astype(np.float32)
    noisy = truth.copy()
    wrong = rng.choice(120, 30, replace=False)
    noisy[wrong] = (noisy[wrong] + 1) % 3
    np.save(tmp_path / "pool.npy", X)
    Workspace.init(tmp_path / "ws", features=tmp_path / "pool.npy", classes=CLASSES, seed=3).close()
    with open(tmp_path / "noisy.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["index", "label"])
        w.writerows((i, CLASSES[y]) for i, y in enumerate(noisy))
    return tmp_path, X, truth, noisy


def _answer_file(path, samples, truth):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["index", "label"])
        w.writerows((s, CLASSES[truth[s]]) for s in samples)
    return path


def test_rounds_match_an_uninterrupted_run_and_files_are_all_or_nothing(pool):
    tmp, X, truth, noisy = pool
    with CorrectionWorkspace.open(tmp / "ws") as ws:
        assert ws.import_labels(tmp / "noisy.csv", batch_size=10, params=PARAMS) == 120
        assert ws.import_labels(tmp / "noisy.csv", batch_size=10, params=PARAMS) == 0    # resend: nothing new
        first = ws.queue(out=tmp / "q1.csv")
        assert first.new and len(first.pending) == 10
        assert ws.queue().round == 1 and not ws.queue().new                             # the open round again
        with open(tmp / "q1.csv") as f:
            assert [int(r["index"]) for r in csv.DictReader(f)] == list(first.samples)
        bad = _answer_file(tmp / "bad.csv", first.samples, truth)
        with open(bad, "a") as f:
            f.write("119,b\n")                                                          # never queued
        with pytest.raises(AnswerFileError, match="line 12"):
            ws.answer(bad)
        assert ws.status()["n_corrected"] == 0                                          # nothing recorded
        ws.answer(_answer_file(tmp / "a1.csv", first.samples[:4], truth))
        assert ws.queue().pending == first.samples[4:]                                  # partial answers
        ws.answer(_answer_file(tmp / "a1b.csv", first.samples, truth))                  # resend incl. old
        second = ws.queue()
        assert second.round == 2 and second.new
    expected = ActiveLabelCorrection(batch_size=10, random_state=3, **PARAMS).fit(X, noisy) \
        .run(lambda idx: truth[idx], budget=20)
    assert list(first.samples) + list(second.samples) == expected.order.tolist()


@pytest.mark.parametrize("params", [{"method": "dalc"}, {"method": "alc", "pin_relabelled": True}])
def test_dalc_and_pinning_rounds_match_an_uninterrupted_run(pool, params):
    tmp, X, truth, noisy = pool
    settings = {**PARAMS, **{k: v for k, v in params.items() if k != "method"}}
    with CorrectionWorkspace.open(tmp / "ws") as ws:
        ws.import_labels(tmp / "noisy.csv", method=params["method"], batch_size=8, params=settings)
        picked = []
        for _ in range(3):
            batch = ws.queue()
            ws.answer([(int(s), CLASSES[truth[s]]) for s in batch.samples])
            picked += batch.samples
    expected = ActiveLabelCorrection(method=params["method"], batch_size=8, random_state=3, **settings) \
        .fit(X, noisy).run(lambda idx: truth[idx], budget=24)
    assert picked == expected.order.tolist()


def test_reopened_workspace_resumes_and_exports(pool):
    tmp, X, truth, noisy = pool
    with CorrectionWorkspace.open(tmp / "ws") as ws:
        ws.import_labels(tmp / "noisy.csv", batch_size=5, params=PARAMS)
        batch = ws.queue()
        ws.answer([(int(s), CLASSES[truth[s]]) for s in batch.samples])
    with CorrectionWorkspace.open(tmp / "ws") as ws:                                   # a new process
        status = ws.status()
        assert status["n_corrected"] == 5 and status["rounds"][0]["answered"] == 5
        assert ws.queue().round == 2
        path = ws.export(tmp / "out.csv")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 120 and sum(int(r["relabelled"]) for r in rows) == 5
    for r in rows:
        if r["relabelled"] == "1":
            assert r["label"] == CLASSES[truth[int(r["index"])]]


def test_bad_imports_and_states_are_clear_errors(pool):
    tmp, *_ = pool
    with CorrectionWorkspace.open(tmp / "ws") as ws:
        with pytest.raises(WorkspaceError, match="import"):
            ws.queue()
        with open(tmp / "partial.csv", "w") as f:
            f.write("index,label\n0,a\n1,b\n")
        with pytest.raises(WorkspaceError, match="every pool sample needs a label"):
            ws.import_labels(tmp / "partial.csv")
        with open(tmp / "unknown.csv", "w") as f:
            f.write("index,label\n0,zebra\n")
        with pytest.raises(AnswerFileError, match="unknown class 'zebra'"):
            ws.import_labels(tmp / "unknown.csv")
        assert ws.status()["n_imported"] == 0
        with pytest.raises(ValueError, match="method"):
            ws.import_labels(tmp / "noisy.csv", method="nope")


def test_two_queue_commands_at_once_hand_out_one_round(pool):
    tmp, *_ = pool
    with CorrectionWorkspace.open(tmp / "ws") as ws:
        ws.import_labels(tmp / "noisy.csv", batch_size=5, params=PARAMS)
    first, second = CorrectionWorkspace.open(tmp / "ws"), CorrectionWorkspace.open(tmp / "ws")
    try:
        model = second._model
        other = {}

        def racing_model(*args, **kwargs):            # the other process commits while this one selects
            other["batch"] = first.queue()
            return model(*args, **kwargs)

        second._model = racing_model
        batch = second.queue()
        assert not batch.new and batch.samples == other["batch"].samples and batch.round == 1
        assert len(second.rounds()) == 1
    finally:
        first.close()
        second.close()
