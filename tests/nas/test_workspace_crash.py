"""SIGKILL at random instants during `nas annotate` and `nas query`: no acknowledged label is lost, none is
duplicated, the database stays consistent, and re-running the command continues where it stopped."""
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
from helpers.cli import cli_env, nas_command, neutral_cwd, run_nas

from nas.workspace import Workspace
from nas.workspace.pool import describe_features
from nas.workspace.store import Config, Store

pytestmark = pytest.mark.slow

N_FILES = 4
ROWS_PER_FILE = 400
KILLS_PER_FILE = 3
CLASSES = ["a", "b", "c", "d"]


def run_killed(args, delay: float):
    """Start `nas ARGS`, SIGKILL it after ``delay`` seconds (never when None); returns (stdout, finished,
    seconds it ran)."""
    start = time.perf_counter()
    proc = subprocess.Popen(nas_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env(), cwd=neutral_cwd())
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    finished = proc.returncode == 0
    assert finished or proc.returncode == -signal.SIGKILL, err
    return out, finished, seconds


class KillAim:
    """Kill delays aimed below the fastest uninterrupted run seen so far.

    A single calibration run can be slow (a loaded machine, cold caches) and then every later run would
    finish before its kill; tracking the fastest finished run keeps the aim inside the run however the
    machine's speed drifts, so the kills land without loosening what is asserted."""

    def __init__(self, rng, fastest: float, low: float, high: float):
        self.rng, self.fastest, self.low, self.high = rng, fastest, low, high

    def delay(self) -> float:
        return self.rng.uniform(self.low, self.high) * self.fastest

    def finished_in(self, seconds: float) -> None:
        self.fastest = min(self.fastest, seconds)


def timed_run(directory, copy, verb, *args) -> float:
    """Seconds an uninterrupted `nas VERB` takes on a copy of the workspace (to aim the kills)."""
    shutil.copytree(directory, copy)
    start = time.perf_counter()
    run_nas(verb, copy, *args)
    return time.perf_counter() - start


def labels_in(directory):
    with Workspace.open(directory) as ws:
        assert ws._store.integrity_check() == "ok"
        return {s: lab for s, (lab, _, _) in ws._store.labels().items()}


def test_sigkill_during_annotate_loses_and_duplicates_nothing(tmp_path):
    rng = np.random.default_rng(0)
    n = N_FILES * ROWS_PER_FILE + 100
    np.save(tmp_path / "pool.npy", rng.standard_normal((n, 8)).astype(np.float32))
    directory = tmp_path / "ws"
    queried = rng.permutation(n)[:N_FILES * ROWS_PER_FILE]
    store = Store.create(directory, describe_features(tmp_path / "pool.npy"), None, CLASSES, Config("random", "cv"))
    store.record_query(1, queried.tolist(), seconds=0.0)
    store.close()
    truth = {int(s): int(rng.integers(len(CLASSES))) for s in queried}
    files = []
    for k in range(N_FILES):
        path = tmp_path / f"answers-{k}.csv"
        rows = queried[k * ROWS_PER_FILE:(k + 1) * ROWS_PER_FILE]
        path.write_text("index,label\n" + "".join(f"{s},{CLASSES[truth[int(s)]]}\n" for s in rows))
        files.append((path, {int(s) for s in rows}))

    aim = KillAim(rng, min(timed_run(directory, tmp_path / f"calibration-{k}", "annotate", files[0][0])
                           for k in range(2)), low=0.4, high=1.0)
    acknowledged, done, kills = set(), set(), 0
    for k, (path, samples) in enumerate(files):
        for attempt in range(KILLS_PER_FILE + 1):
            out, finished, seconds = run_killed(["annotate", directory, path],
                                                delay=aim.delay() if attempt < KILLS_PER_FILE else None)
            if "recorded" in out:
                acknowledged |= samples
            recorded = labels_in(directory)
            assert acknowledged <= set(recorded), "an acknowledged label was lost"
            assert {s: truth[s] for s in recorded} == recorded
            whole_files = [other for _, other in files if other & set(recorded)]
            assert set(recorded) == set().union(*whole_files), "a file was partly recorded"
            if finished:
                aim.finished_in(seconds)
                done |= samples
                assert set(recorded) == done
                break
            kills += 1
    assert kills >= 3, "the random delays never interrupted a run; the test would not test anything"
    assert labels_in(directory) == truth
    with Workspace.open(directory) as ws:
        n_files, _ = ws._store.ingest_summary()
        assert n_files == N_FILES  # a file re-sent after a kill that had committed records nothing twice
        assert ws.status().open_round is None


def test_sigkill_during_query_stores_the_batch_once_and_resumes_it(tmp_path):
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((len(CLASSES), 12))
    truth = rng.integers(0, len(CLASSES), 300)
    np.save(tmp_path / "pool.npy", (centres[truth] + 0.5 * rng.standard_normal((300, 12))).astype(np.float32))
    directory = tmp_path / "ws"
    with Workspace.init(directory, features=tmp_path / "pool.npy", classes=CLASSES, strategy="npc", filter="cv",
                        strategy_params={"delta": 0.4}, seed=5) as ws:
        for _ in range(2):
            query = ws.query()
            ws.annotate([(int(s), int((truth[s] + (s % 3 == 0)) % len(CLASSES))) for s in query.samples])
    aim = KillAim(rng, min(timed_run(directory, tmp_path / f"calibration-{k}", "query") for k in range(2)),
                  low=0.1, high=0.8)
    with Workspace.open(tmp_path / "calibration-0") as ws:
        expected = ws.query().samples.tolist()

    kills = 0
    for attempt in range(KILLS_PER_FILE + 1):
        _, finished, _ = run_killed(["query", directory], delay=aim.delay() if attempt < KILLS_PER_FILE else None)
        kills += not finished
        with Workspace.open(directory) as ws:
            assert ws._store.integrity_check() == "ok"
            rounds = ws._store.queries()
            assert [q.round for q in rounds] in ([1, 2], [1, 2, 3])
            if len(rounds) == 3:
                assert list(rounds[2].samples) == expected
                assert len(ws._store.stage_seconds()) > 0
        if finished:
            break
    assert kills >= 1
    with Workspace.open(directory) as ws:
        query = ws.query()
        assert query.round == 3 and not query.new and query.samples.tolist() == expected
        assert query.path.read_text().count("\n") == len(expected) + 1


def test_concurrent_annotate_of_the_same_file_records_it_once(tmp_path):
    rng = np.random.default_rng(2)
    np.save(tmp_path / "pool.npy", rng.standard_normal((500, 4)).astype(np.float32))
    directory = tmp_path / "ws"
    store = Store.create(directory, describe_features(tmp_path / "pool.npy"), None, CLASSES, Config("random", "cv"))
    store.record_query(1, list(range(400)), seconds=0.0)
    store.close()
    path = tmp_path / "answers.csv"
    path.write_text("index,label\n" + "".join(f"{s},{CLASSES[s % 4]}\n" for s in range(400)))
    procs = [subprocess.Popen(nas_command("annotate", directory, path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=neutral_cwd()) for _ in range(3)]
    outputs = [p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sorted(out.splitlines()[0] for out, _ in outputs) == \
        ["recorded 0 labels (400 already recorded)"] * 2 + ["recorded 400 labels"]
    assert labels_in(directory) == {s: s % 4 for s in range(400)}
