"""The workspace database: schema versioning, one transaction per change, pool hash checks."""
import sqlite3

import numpy as np
import pytest

from nas.workspace import schema
from nas.workspace.errors import WorkspaceError
from nas.workspace.pool import describe_features, hash_file, load_verified
from nas.workspace.store import Config, FilterRun, LabelRow, Store


@pytest.fixture
def pool_file(tmp_path):
    path = tmp_path / "pool.npy"
    np.save(path, np.random.default_rng(0).standard_normal((30, 4)).astype(np.float32))
    return path


@pytest.fixture
def store(tmp_path, pool_file):
    s = Store.create(tmp_path / "ws", describe_features(pool_file), None, ["a", "b", "c"],
                     Config(strategy="random", filter="cv", seed=3))
    yield s
    s.close()


def test_create_records_pool_classes_and_config(store, pool_file):
    pool = store.pool()
    assert (pool.n_samples, pool.n_features, pool.dtype) == (30, 4, "float32")
    assert pool.hash == hash_file(pool_file) and pool.path == str(pool_file.resolve())
    assert store.classes() == ["a", "b", "c"]
    assert store.config() == Config(strategy="random", filter="cv", seed=3)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store.sample_names([4, 0]) == ["4", "0"]


def test_ids_map_both_ways(tmp_path, pool_file):
    ids = [f"img/{i:03d}.jpg" for i in range(30)]
    s = Store.create(tmp_path / "w2", describe_features(pool_file), ids, ["a", "b"], Config("random", "cv"))
    assert s.sample_names([5, 29]) == ["img/005.jpg", "img/029.jpg"]
    assert s.samples_of_names(["img/007.jpg", "nope"]) == {"img/007.jpg": 7}
    s.close()


def test_create_refuses_existing_workspace(store, tmp_path, pool_file):
    with pytest.raises(WorkspaceError, match="already a nas workspace"):
        Store.create(tmp_path / "ws", describe_features(pool_file), None, ["a", "b"], Config("random", "cv"))


def test_create_replaces_an_interrupted_init(tmp_path, pool_file):
    directory = tmp_path / "half"
    directory.mkdir()
    sqlite3.connect(str(directory / schema.DB_NAME)).close()  # an init killed before its commit
    with pytest.raises(WorkspaceError, match="interrupted"):
        Store.open(directory)
    Store.create(directory, describe_features(pool_file), None, ["a", "b"], Config("random", "cv")).close()
    Store.open(directory).close()


def test_newer_schema_is_refused(store, tmp_path):
    store.conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(schema.SCHEMA_VERSION + 1),))
    with pytest.raises(WorkspaceError, match="newer nas"):
        Store.open(tmp_path / "ws")


def test_missing_workspace_is_a_clear_error(tmp_path):
    with pytest.raises(WorkspaceError, match="not a nas workspace"):
        Store.open(tmp_path / "nothing")


def test_query_round_trip_and_open_query(store):
    run = FilterRun(round=1, purpose="query", filter="cv", samples=(), is_clean=(), scores=(),
                    predicted_noise_rate=None, seconds=0.0)
    store.record_query(1, [5, 2, 9], seconds=0.5, coverage=0.25, filter_run=run, timings={"select": 0.1})
    store.record_query(1, [7, 8, 0], seconds=0.5)  # a second writer of round 1 changes nothing
    (q,) = store.queries()
    assert q.samples == (5, 2, 9) and q.pending == (5, 2, 9) and q.is_open
    store.record_labels("f.csv", 2, [LabelRow(2, 1, "ann"), LabelRow(9, 0)], seconds=0.01)
    q = store.open_query()
    assert q.pending == (5,)
    assert store.labeled_in_query_order() == ([2, 9], [1, 0])
    store.record_labels("g.csv", 1, [LabelRow(5, 2)], seconds=0.01)
    assert store.open_query() is None
    assert store.labeled_in_query_order() == ([5, 2, 9], [2, 1, 0])
    assert store.stage_seconds() == {"select": (1, 0.1)}
    assert store.query_coverage() == {1: 0.25}


def test_a_failed_transaction_writes_nothing(store):
    store.record_query(1, [1, 2], seconds=0.0)
    with pytest.raises(sqlite3.IntegrityError):  # sample 1 twice: the whole file is rolled back
        store.record_labels("f.csv", 2, [LabelRow(2, 0), LabelRow(2, 1)], seconds=0.0)
    assert store.labels() == {}
    assert store.ingest_summary() == (0, 0.0)
    with pytest.raises(sqlite3.IntegrityError):  # a label for a sample never queried
        store.record_labels("f.csv", 1, [LabelRow(3, 0)], seconds=0.0)
    assert store.labels() == {}


def test_a_sample_is_queried_at_most_once(store):
    store.record_query(1, [1, 2], seconds=0.0)
    with pytest.raises(sqlite3.IntegrityError):
        store.record_query(2, [3, 2], seconds=0.0)
    assert store.last_round() == 1


def test_filter_runs_keep_per_sample_results(store):
    store.record_query(1, [1, 2, 3], seconds=0.0)
    run = FilterRun(round=2, purpose="export", filter="cv", samples=(1, 2, 3), is_clean=(True, False, True),
                    scores=(0.9, 0.1, None), predicted_noise_rate=1 / 3, seconds=0.2)
    store.record_filter_run(run)
    assert store.latest_filter_run() == run
    assert store.filter_history() == [(2, "export", 3, pytest.approx(1 / 3))]


def test_changed_features_are_detected(pool_file):
    info = describe_features(pool_file)
    assert load_verified(info).shape == (30, 4)
    X = np.load(pool_file)
    X[3, 1] += 1.0
    np.save(pool_file, X)
    with pytest.raises(WorkspaceError, match="changed since `nas init`"):
        load_verified(info)
    pool_file.unlink()
    with pytest.raises(WorkspaceError, match="missing"):
        load_verified(info)


@pytest.mark.parametrize("array, match", [(np.zeros(5, np.float32), "2-D"), (np.zeros((3, 2), np.int64), "float"),
                                          (np.array([[0.0, 1.0], [np.nan, 0.0]]), "NaN or infinite value in row 1")])
def test_features_file_must_be_a_float_matrix(tmp_path, array, match):
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(WorkspaceError, match=match):
        describe_features(tmp_path / "x.npy")
