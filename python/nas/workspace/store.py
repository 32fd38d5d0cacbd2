"""Typed reads and writes over the workspace database; every write is one transaction.

The database runs in WAL mode with ``synchronous=FULL``: once a write method returns, its
transaction is on disk and survives a SIGKILL or power loss; a write interrupted before then
leaves no trace. Write methods take everything they store as arguments and do all of it between
one ``BEGIN IMMEDIATE`` and one ``COMMIT``.
"""
from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Protocol, Sequence, Tuple

from . import schema
from .errors import WorkspaceError
from .pool import PoolInfo


@dataclass(frozen=True)
class Config:
    """How a workspace selects: strategy and filter (CLI names + keyword arguments), NAS options, seed."""

    strategy: str
    filter: str
    strategy_params: Dict = field(default_factory=dict)
    filter_params: Dict = field(default_factory=dict)
    nas_params: Dict = field(default_factory=dict)
    batch_size: Optional[int] = None
    seed: int = 0


@dataclass(frozen=True)
class QueryRecord:
    """One query batch: its round (1-based), the samples in pick order, and which are answered."""

    round: int
    samples: Tuple[int, ...]
    answered: frozenset
    created_at: float

    @property
    def pending(self) -> Tuple[int, ...]:
        return tuple(s for s in self.samples if s not in self.answered)

    @property
    def is_open(self) -> bool:
        return len(self.answered) < len(self.samples)


@dataclass(frozen=True)
class FilterRun:
    """A filter's verdict on the labeled set at one point: clean flags and scores per sample."""

    round: int
    purpose: str
    filter: str
    samples: Tuple[int, ...]
    is_clean: Tuple[bool, ...]
    scores: Tuple[Optional[float], ...]
    predicted_noise_rate: Optional[float]
    seconds: float


@dataclass(frozen=True)
class LabelRow:
    """One label to record: pool index, class number, who gave it."""

    sample: int
    label: int
    annotator: Optional[str] = None


class CheckedRows(Protocol):
    """What ``Store.ingest`` needs from a validation: the rows read and the new labels to record."""

    n_rows: int
    new: Sequence[LabelRow]


class Store:
    """The open database of one workspace directory."""

    def __init__(self, conn: sqlite3.Connection, directory: Path):
        self.conn = conn
        self.directory = directory

    # -- opening -----------------------------------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=60.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @classmethod
    def open(cls, directory) -> "Store":
        directory = Path(directory)
        path = directory / schema.DB_NAME
        if not path.is_file():
            raise WorkspaceError(f"{directory} is not a nas workspace (no {schema.DB_NAME}); create one with "
                                 "`nas init`.")
        conn = cls._connect(path)
        try:
            schema.check_version(conn, str(directory))
        except BaseException:
            conn.close()
            raise
        return cls(conn, directory)

    @classmethod
    def create(cls, directory, pool: PoolInfo, ids: Optional[Sequence[str]], classes: Sequence[str],
               config: Config) -> "Store":
        """Create the database and fill it in one transaction (an interrupted init leaves no workspace)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / schema.DB_NAME
        if path.exists():
            conn = cls._connect(path)
            try:
                schema.check_version(conn, str(directory))
            except WorkspaceError:
                conn.close()
                _remove_database(path)
            else:
                conn.close()
                raise WorkspaceError(f"{directory} is already a nas workspace; choose a new directory.")
        conn = cls._connect(path)
        store = cls(conn, directory)
        with store.transaction() as c:
            schema.create(c)
            c.execute("INSERT INTO meta (key, value) VALUES ('created_at', ?)", (repr(time.time()),))
            c.execute("INSERT INTO pool (id, features_path, features_hash, features_bytes, n_samples, n_features,"
                      " dtype, has_ids) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                      (pool.path, pool.hash, pool.n_bytes, pool.n_samples, pool.n_features, pool.dtype,
                       int(ids is not None)))
            if ids is not None:
                c.executemany("INSERT INTO sample_ids (sample, name) VALUES (?, ?)", enumerate(ids))
            c.executemany("INSERT INTO classes (label, name) VALUES (?, ?)", enumerate(classes))
            c.execute("INSERT INTO config (id, strategy, strategy_params, filter, filter_params, nas_params,"
                      " batch_size, seed) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                      (config.strategy, json.dumps(config.strategy_params, sort_keys=True), config.filter,
                       json.dumps(config.filter_params, sort_keys=True),
                       json.dumps(config.nas_params, sort_keys=True), config.batch_size, config.seed))
        return store

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; any exception rolls everything back."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- fixed facts ---------------------------------------------------------------------------
    def pool(self) -> PoolInfo:
        row = self.conn.execute("SELECT features_path, features_hash, features_bytes, n_samples, n_features, dtype"
                                " FROM pool WHERE id = 1").fetchone()
        return PoolInfo(path=row[0], hash=row[1], n_bytes=row[2], n_samples=row[3], n_features=row[4],
                        dtype=row[5])

    def has_ids(self) -> bool:
        return bool(self.conn.execute("SELECT has_ids FROM pool WHERE id = 1").fetchone()[0])

    def classes(self) -> List[str]:
        return [name for (name,) in self.conn.execute("SELECT name FROM classes ORDER BY label")]

    def config(self) -> Config:
        row = self.conn.execute("SELECT strategy, strategy_params, filter, filter_params, nas_params, batch_size,"
                                " seed FROM config WHERE id = 1").fetchone()
        return Config(strategy=row[0], strategy_params=json.loads(row[1]), filter=row[2],
                      filter_params=json.loads(row[3]), nas_params=json.loads(row[4]), batch_size=row[5],
                      seed=row[6])

    def sample_names(self, samples: Sequence[int]) -> List[str]:
        """The id of each sample (its index as text when the workspace has no id file)."""
        if not self.has_ids():
            return [str(int(s)) for s in samples]
        names = {}
        for chunk in _chunks([int(s) for s in samples]):
            marks = ",".join("?" * len(chunk))
            names.update(self.conn.execute(f"SELECT sample, name FROM sample_ids WHERE sample IN ({marks})", chunk))
        return [names[int(s)] for s in samples]

    def samples_of_names(self, names: Sequence[str]) -> Dict[str, int]:
        """Pool index of each known id among ``names`` (unknown ids are absent from the result)."""
        if not self.has_ids():
            n = self.pool().n_samples
            return {name: int(name) for name in names if name.isdigit() and int(name) < n}
        found: Dict[str, int] = {}
        for chunk in _chunks(list(names)):
            marks = ",".join("?" * len(chunk))
            found.update(self.conn.execute(f"SELECT name, sample FROM sample_ids WHERE name IN ({marks})", chunk))
        return found

    # -- queries -------------------------------------------------------------------------------
    def queries(self) -> List[QueryRecord]:
        """Every query batch in round order, with the answered samples of each."""
        samples: Dict[int, List[int]] = {}
        answered: Dict[int, set] = {}
        for rnd, sample, labeled in self.conn.execute(
                "SELECT q.round, q.sample, l.sample IS NOT NULL FROM query_samples q"
                " LEFT JOIN labels l ON l.sample = q.sample ORDER BY q.round, q.position"):
            samples.setdefault(rnd, []).append(sample)
            if labeled:
                answered.setdefault(rnd, set()).add(sample)
        created = dict(self.conn.execute("SELECT round, created_at FROM queries"))
        return [QueryRecord(round=r, samples=tuple(s), answered=frozenset(answered.get(r, ())),
                            created_at=created[r]) for r, s in sorted(samples.items())]

    def open_query(self) -> Optional[QueryRecord]:
        """The (first) query that still has unanswered samples, if any."""
        for record in self.queries():
            if record.is_open:
                return record
        return None

    def strategy_state(self) -> Dict:
        """What the strategy carried out of the last round (e.g. its radius and graph file); {} before round 1."""
        row = self.conn.execute("SELECT strategy_state FROM queries ORDER BY round DESC LIMIT 1").fetchone()
        return {} if row is None or row[0] is None else json.loads(row[0])

    def last_round(self) -> int:
        return int(self.conn.execute("SELECT COALESCE(MAX(round), 0) FROM queries").fetchone()[0])

    def record_query(self, round: int, samples: Sequence[int], *, seconds: float,
                     coverage: Optional[float] = None, filter_run: Optional[FilterRun] = None,
                     timings: Optional[Dict[str, float]] = None, strategy_state: Optional[Dict] = None) -> None:
        """Store a new query batch with the filter run, stage timings and strategy state that produced it,
        atomically. A concurrent ``query`` that already stored this round wins; the call then changes nothing.
        """
        with self.transaction() as c:
            if c.execute("SELECT 1 FROM queries WHERE round = ?", (round,)).fetchone():
                return
            c.execute("INSERT INTO queries (round, batch_size, created_at, seconds, coverage, strategy_state)"
                      " VALUES (?, ?, ?, ?, ?, ?)",
                      (round, len(samples), time.time(), seconds, coverage,
                       None if strategy_state is None else json.dumps(strategy_state, sort_keys=True)))
            c.executemany("INSERT INTO query_samples (round, position, sample) VALUES (?, ?, ?)",
                          [(round, pos, int(s)) for pos, s in enumerate(samples)])
            if filter_run is not None:
                self._insert_filter_run(c, filter_run)
            for stage, value in (timings or {}).items():
                c.execute("INSERT INTO timings (round, stage, seconds) VALUES (?, ?, ?)",
                          (round, stage, float(value)))

    # -- labels --------------------------------------------------------------------------------
    def labels(self) -> Dict[int, Tuple[int, Optional[str], float]]:
        """sample -> (label, annotator, received_at) for every label received."""
        return {s: (lab, who, at) for s, lab, who, at in
                self.conn.execute("SELECT sample, label, annotator, received_at FROM labels")}

    def labeled_in_query_order(self) -> Tuple[List[int], List[int]]:
        """Labeled samples and their labels in the order they were picked (round, then position)."""
        rows = self.conn.execute("SELECT q.sample, l.label FROM query_samples q JOIN labels l ON l.sample = q.sample"
                                 " ORDER BY q.round, q.position").fetchall()
        return [r[0] for r in rows], [r[1] for r in rows]

    def queried_samples(self) -> Dict[int, int]:
        """sample -> round for every sample ever queried."""
        return dict(self.conn.execute("SELECT sample, round FROM query_samples"))

    def record_labels(self, source: str, n_rows: int, rows: Sequence[LabelRow], *, seconds: float) -> None:
        """Store new labels from one answer file in one transaction."""
        with self.transaction() as c:
            self._insert_labels(c, source, n_rows, rows, seconds)

    def ingest(self, source: str, check: Callable[[], "CheckedRows"], *, started: float) -> "CheckedRows":
        """Run ``check()`` and store the labels it returns in the same transaction.

        The check reads the workspace (queried samples, labels already recorded) inside the write lock, so
        two ``annotate`` commands running at once cannot both add a label for the same sample: the second
        one sees the first one's labels. A check that raises writes nothing.
        """
        with self.transaction() as c:
            checked = check()
            if checked.new:
                self._insert_labels(c, source, checked.n_rows, checked.new, time.perf_counter() - started)
        return checked

    @staticmethod
    def _insert_labels(c: sqlite3.Connection, source: str, n_rows: int, rows: Sequence[LabelRow],
                       seconds: float) -> None:
        now = time.time()
        cur = c.execute("INSERT INTO ingests (source, received_at, n_rows, n_new, seconds) VALUES (?, ?, ?, ?, ?)",
                        (source, now, n_rows, len(rows), seconds))
        c.executemany("INSERT INTO labels (sample, label, annotator, received_at, ingest) VALUES (?, ?, ?, ?, ?)",
                      [(int(r.sample), int(r.label), r.annotator, now, cur.lastrowid) for r in rows])

    # -- filter runs -----------------------------------------------------------------------------
    @staticmethod
    def _insert_filter_run(c: sqlite3.Connection, run: FilterRun) -> None:
        cur = c.execute("INSERT INTO filter_runs (round, purpose, filter, n_labeled, predicted_noise_rate,"
                        " created_at, seconds) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (run.round, run.purpose, run.filter, len(run.samples),
                         None if run.predicted_noise_rate is None else float(run.predicted_noise_rate),
                         time.time(), run.seconds))
        c.executemany("INSERT INTO filter_results (run, sample, is_clean, score) VALUES (?, ?, ?, ?)",
                      [(cur.lastrowid, int(s), int(bool(k)), None if v is None else float(v))
                       for s, k, v in zip(run.samples, run.is_clean, run.scores)])

    def record_filter_run(self, run: FilterRun) -> None:
        with self.transaction() as c:
            self._insert_filter_run(c, run)

    def latest_filter_run(self) -> Optional[FilterRun]:
        row = self.conn.execute("SELECT id, round, purpose, filter, predicted_noise_rate, seconds FROM filter_runs"
                                " ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        results = self.conn.execute("SELECT sample, is_clean, score FROM filter_results WHERE run = ?"
                                    " ORDER BY rowid", (row[0],)).fetchall()
        return FilterRun(round=row[1], purpose=row[2], filter=row[3], samples=tuple(r[0] for r in results),
                         is_clean=tuple(bool(r[1]) for r in results), scores=tuple(r[2] for r in results),
                         predicted_noise_rate=row[4], seconds=row[5])

    # -- summaries -----------------------------------------------------------------------------
    def stage_seconds(self) -> Dict[str, Tuple[int, float]]:
        """stage -> (number of rounds timed, total seconds)."""
        return {stage: (n, total) for stage, n, total in
                self.conn.execute("SELECT stage, COUNT(*), SUM(seconds) FROM timings GROUP BY stage ORDER BY stage")}

    def ingest_summary(self) -> Tuple[int, float]:
        """(number of answer files ingested, total seconds spent ingesting)."""
        n, total = self.conn.execute("SELECT COUNT(*), COALESCE(SUM(seconds), 0) FROM ingests").fetchone()
        return int(n), float(total)

    def filter_history(self) -> List[Tuple[int, str, int, Optional[float]]]:
        """(round, purpose, n_labeled, predicted noise rate) of every filter run, oldest first."""
        return self.conn.execute("SELECT round, purpose, n_labeled, predicted_noise_rate FROM filter_runs"
                                 " ORDER BY id").fetchall()

    def query_seconds(self) -> float:
        """Wall seconds spent computing all query batches."""
        return float(self.conn.execute("SELECT COALESCE(SUM(seconds), 0) FROM queries").fetchone()[0])

    def query_coverage(self) -> Dict[int, Optional[float]]:
        return dict(self.conn.execute("SELECT round, coverage FROM queries"))

    def integrity_check(self) -> str:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]


def _chunks(values: list, size: int = 900) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _remove_database(path: Path) -> None:
    """Delete an incomplete database (an init killed before its commit) and its WAL side files."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
