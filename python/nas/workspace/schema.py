"""The workspace database schema: tables, version stamp, and the check made on every open.

One SQLite file holds everything a run of annotation rounds needs to resume exactly. A schema
version in the ``meta`` table lets newer code refuse to guess at a layout it does not know.
"""
from __future__ import annotations

import sqlite3

from .errors import WorkspaceError

SCHEMA_VERSION = 1
DB_NAME = "nas.sqlite"

_TABLES = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE pool (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    features_path  TEXT NOT NULL,
    features_hash  TEXT NOT NULL,
    features_bytes INTEGER NOT NULL,
    n_samples      INTEGER NOT NULL,
    n_features     INTEGER NOT NULL,
    dtype          TEXT NOT NULL,
    has_ids        INTEGER NOT NULL
);
CREATE TABLE sample_ids (
    sample INTEGER PRIMARY KEY,
    name   TEXT NOT NULL UNIQUE
);
CREATE TABLE classes (
    label INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);
CREATE TABLE config (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    strategy        TEXT NOT NULL,
    strategy_params TEXT NOT NULL,
    filter          TEXT NOT NULL,
    filter_params   TEXT NOT NULL,
    nas_params      TEXT NOT NULL,
    batch_size      INTEGER,
    seed            INTEGER NOT NULL
);
CREATE TABLE queries (
    round      INTEGER PRIMARY KEY,
    batch_size INTEGER NOT NULL,
    created_at REAL NOT NULL,
    seconds    REAL NOT NULL,
    coverage   REAL,
    strategy_state TEXT
);
CREATE TABLE query_samples (
    round    INTEGER NOT NULL REFERENCES queries(round),
    position INTEGER NOT NULL,
    sample   INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (round, position)
);
CREATE TABLE ingests (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    received_at REAL NOT NULL,
    n_rows      INTEGER NOT NULL,
    n_new       INTEGER NOT NULL,
    seconds     REAL NOT NULL
);
CREATE TABLE labels (
    sample      INTEGER PRIMARY KEY REFERENCES query_samples(sample),
    label       INTEGER NOT NULL REFERENCES classes(label),
    annotator   TEXT,
    received_at REAL NOT NULL,
    ingest      INTEGER NOT NULL REFERENCES ingests(id)
);
CREATE TABLE filter_runs (
    id                   INTEGER PRIMARY KEY,
    round                INTEGER NOT NULL,
    purpose              TEXT NOT NULL CHECK (purpose IN ('query', 'export')),
    filter               TEXT NOT NULL,
    n_labeled            INTEGER NOT NULL,
    predicted_noise_rate REAL,
    created_at           REAL NOT NULL,
    seconds              REAL NOT NULL
);
CREATE TABLE filter_results (
    run      INTEGER NOT NULL REFERENCES filter_runs(id),
    sample   INTEGER NOT NULL,
    is_clean INTEGER NOT NULL,
    score    REAL,
    PRIMARY KEY (run, sample)
);
CREATE TABLE timings (
    round   INTEGER NOT NULL,
    stage   TEXT NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (round, stage)
);
"""


def create(conn: sqlite3.Connection) -> None:
    """Create every table inside the caller's open transaction and stamp the schema version."""
    for statement in _TABLES.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def check_version(conn: sqlite3.Connection, path: str) -> int:
    """Return the schema version of an opened database, refusing one this code cannot read."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() if has_meta else None
    if row is None:
        raise WorkspaceError(f"{path} is not a nas workspace (no schema version; an interrupted `nas init`?). "
                             "Run `nas init` again.")
    version = int(row[0])
    if version > SCHEMA_VERSION:
        raise WorkspaceError(f"{path} was written by a newer nas (workspace schema {version}; this nas reads "
                             f"schema {SCHEMA_VERSION} and older). Upgrade nas to open it.")
    return version
