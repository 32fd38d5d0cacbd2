"""Active label correction on an annotation workspace (``nas correct import | queue | answer | status |
export``): labels that came from a noisy source are imported once, then each round the workspace picks the
samples to send back to an accurate annotator, exports them as a CSV (the re-label queue) and takes the
answers back.

Everything lives in the workspace's SQLite database (tables added by :func:`ensure_tables`, versioned by the
``correction_schema_version`` row of ``meta``) and every command is one transaction, as for ``nas annotate``:
an import or an answer file is validated as a whole with the workspace's answer parser (line-numbered errors,
nothing recorded on error; a file sent twice records nothing twice); a queue round is recorded before its CSV
is written (atomically), and ``queue`` hands the open round back until every sample of it is answered, so a
crash loses nothing. Round r's selection is the one ``ActiveLabelCorrection.run`` would make in round r with
the same labels and seed.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

from ..workspace import Workspace, WorkspaceError
from ..workspace.answers import read_answer_file, rows_to_raw, validate
from ..workspace.files import replace_atomically, write_csv_atomic

__all__ = ["CorrectionWorkspace", "ensure_tables", "CORRECTION_SCHEMA_VERSION"]

logger = logging.getLogger(__name__)

CORRECTION_SCHEMA_VERSION = 1

_TABLES = """
CREATE TABLE IF NOT EXISTS correction_ingests (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('import', 'answer')),
    source      TEXT NOT NULL,
    received_at REAL NOT NULL,
    n_rows      INTEGER NOT NULL,
    n_new       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS observed_labels (
    sample INTEGER PRIMARY KEY,
    label  INTEGER NOT NULL REFERENCES classes(label),
    ingest INTEGER NOT NULL REFERENCES correction_ingests(id)
);
CREATE TABLE IF NOT EXISTS correction_rounds (
    round      INTEGER PRIMARY KEY,
    batch_size INTEGER NOT NULL,
    method     TEXT NOT NULL,
    created_at REAL NOT NULL,
    seconds    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS correction_queue (
    round    INTEGER NOT NULL REFERENCES correction_rounds(round),
    position INTEGER NOT NULL,
    sample   INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (round, position)
);
CREATE TABLE IF NOT EXISTS corrections (
    sample      INTEGER PRIMARY KEY REFERENCES correction_queue(sample),
    label       INTEGER NOT NULL REFERENCES classes(label),
    annotator   TEXT,
    received_at REAL NOT NULL,
    ingest      INTEGER NOT NULL REFERENCES correction_ingests(id)
)
"""


def ensure_tables(conn) -> None:
    """Create the correction tables inside the caller's transaction (idempotent) and stamp their version;
    refuse a database written by a newer layout."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'correction_schema_version'").fetchone()
    if row is not None:
        if int(row[0]) > CORRECTION_SCHEMA_VERSION:
            raise WorkspaceError(f"this workspace's correction tables were written by a newer nas (version {row[0]}; "
                                 f"this nas reads {CORRECTION_SCHEMA_VERSION}). Upgrade nas to open it.")
        return
    for statement in _TABLES.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO meta (key, value) VALUES ('correction_schema_version', ?)",
                 (str(CORRECTION_SCHEMA_VERSION),))


@dataclass(frozen=True)
class QueueBatch:
    """One re-label round: its number (1-based), the samples in pick order, those still unanswered, the CSV."""

    round: int
    samples: Tuple[int, ...]
    pending: Tuple[int, ...]
    path: Optional[Path]
    new: bool


class CorrectionWorkspace:
    """Active label correction rounds on a workspace created by ``nas init`` / ``Workspace.init``.

    >>> # ws = CorrectionWorkspace.open("my-labels")
    >>> # ws.import_labels("noisy.csv", method="alc", batch_size=100)   # once
    >>> # batch = ws.queue(out="relabel.csv"); ...; ws.answer("answers.csv")
    """

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self._store = workspace._store
        with self._store.transaction() as c:
            ensure_tables(c)

    @classmethod
    def open(cls, directory, *, features=None) -> "CorrectionWorkspace":
        return cls(Workspace.open(directory, features=features))

    def close(self) -> None:
        self.workspace.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- facts ----------------------------------------------------------------------------------------
    def _conn(self):
        return self._store.conn

    def settings(self) -> Optional[dict]:
        row = self._conn().execute("SELECT value FROM meta WHERE key = 'correction_config'").fetchone()
        return None if row is None else json.loads(row[0])

    def observed(self) -> Dict[int, int]:
        return dict(self._conn().execute("SELECT sample, label FROM observed_labels"))

    def corrections(self) -> Dict[int, Tuple[int, Optional[str], float]]:
        return {s: (l, a, t) for s, l, a, t in
                self._conn().execute("SELECT sample, label, annotator, received_at FROM corrections")}

    def queued(self) -> Dict[int, int]:
        return dict(self._conn().execute("SELECT sample, round FROM correction_queue"))

    def rounds(self) -> List[Tuple[int, Tuple[int, ...]]]:
        out: Dict[int, List[int]] = {}
        for round_, sample in self._conn().execute(
                "SELECT round, sample FROM correction_queue ORDER BY round, position"):
            out.setdefault(round_, []).append(sample)
        return [(r, tuple(s)) for r, s in sorted(out.items())]

    def current_labels(self) -> np.ndarray:
        """int64 (n,): the imported label, replaced by the correction where one was received."""
        observed = self.observed()
        n = self.workspace.n_samples
        if len(observed) != n:
            raise WorkspaceError("no noisy labels imported yet; run `nas correct import DIR LABELS.csv` first.")
        y = np.empty(n, dtype=np.int64)
        y[list(observed)] = list(observed.values())
        for sample, (label, _, _) in self.corrections().items():
            y[sample] = label
        return y

    # -- import ---------------------------------------------------------------------------------------
    def import_labels(self, answers: Union[str, Path, Iterable], *, method: str = "alc", batch_size: int = 100,
                      params: Optional[dict] = None) -> int:
        """Record the noisy labels of every pool sample (CSV with index or id, and label; or rows), and the
        correction settings, in one transaction. Returns the number of labels recorded (0 when the same
        labels were imported before). Every sample must get a label."""
        from .alc import ActiveLabelCorrection

        ActiveLabelCorrection(method=method, batch_size=batch_size, **dict(params or {}))   # validate settings
        source, raw = self._raw(answers)
        n = self.workspace.n_samples
        settings = {"method": method, "batch_size": int(batch_size), "params": dict(params or {}),
                    "seed": int(self.workspace.config.seed)}
        with self._store.transaction() as c:
            ensure_tables(c)
            recorded = {s: (l, None, 0.0) for s, l in c.execute("SELECT sample, label FROM observed_labels")}
            checked = validate(raw, source=source, n_samples=n, classes=self.workspace.classes,
                               lookup_ids=self._store.samples_of_names, queried={i: 0 for i in range(n)},
                               recorded=recorded)
            if len(recorded) + len(checked.new) != n:
                given = {r.sample for r in checked.new} | set(recorded)
                missing = [i for i in range(n) if i not in given][:5]
                raise WorkspaceError(f"{source} rejected, nothing recorded: every pool sample needs a label; "
                                     f"{n - len(given)} have none (e.g. index {', '.join(map(str, missing))}).")
            previous = self.settings()
            if previous is not None and previous != settings:
                raise WorkspaceError(f"this workspace already corrects with {previous}; it cannot switch to "
                                     f"{settings}.")
            if checked.new:
                cur = c.execute("INSERT INTO correction_ingests (kind, source, received_at, n_rows, n_new) "
                                "VALUES ('import', ?, ?, ?, ?)", (source, time.time(), checked.n_rows, len(checked.new)))
                c.executemany("INSERT INTO observed_labels (sample, label, ingest) VALUES (?, ?, ?)",
                              [(r.sample, r.label, cur.lastrowid) for r in checked.new])
            if previous is None:
                c.execute("INSERT INTO meta (key, value) VALUES ('correction_config', ?)", (json.dumps(settings),))
        return len(checked.new)

    def _raw(self, answers):
        if isinstance(answers, (str, Path)):
            return str(answers), read_answer_file(answers)
        return "answers", rows_to_raw(answers)

    # -- queue ----------------------------------------------------------------------------------------
    def queue(self, *, batch_size: Optional[int] = None, out=None) -> QueueBatch:
        """The samples to re-label now. An open round (some samples unanswered) is returned again; otherwise
        the classifier is retrained on the current labels and a new batch selected and recorded. With
        ``out``, the round's unanswered samples are written there (index,id,current_label,label)."""
        settings = self.settings()
        if settings is None:
            raise WorkspaceError("no noisy labels imported yet; run `nas correct import DIR LABELS.csv` first.")
        rounds = self.rounds()
        answered = set(self.corrections())
        if rounds and any(s not in answered for s in rounds[-1][1]):
            r, samples = rounds[-1]
            return self._batch(r, samples, answered, out, new=False)
        n = self.workspace.n_samples
        size = int(batch_size or settings["batch_size"])
        if size < 1:
            raise WorkspaceError(f"batch_size must be a positive integer; got {size}.")
        relabelled = np.zeros(n, dtype=bool)
        relabelled[list(self.queued())] = True
        left = int((~relabelled).sum())
        if left == 0:
            raise WorkspaceError("every sample has been re-labelled; nothing left to queue.")
        start = time.perf_counter()
        alc = self._model(relabelled, len(rounds))
        picks = alc.select(min(size, left))
        seconds = time.perf_counter() - start
        r = len(rounds) + 1
        with self._store.transaction() as c:
            if c.execute("SELECT 1 FROM correction_rounds WHERE round = ?", (r,)).fetchone() is not None:
                done = True     # another `queue` recorded this round while we selected: hand that one out
            else:
                done = False
                c.execute("INSERT INTO correction_rounds (round, batch_size, method, created_at, seconds) "
                          "VALUES (?, ?, ?, ?, ?)", (r, int(picks.size), settings["method"], time.time(), seconds))
                c.executemany("INSERT INTO correction_queue (round, position, sample) VALUES (?, ?, ?)",
                              [(r, p, int(s)) for p, s in enumerate(picks)])
        if done:
            return self._batch(r, self.rounds()[r - 1][1], set(self.corrections()), out, new=False)
        logger.info("correction round %d: %d samples queued in %.2fs", r, picks.size, seconds)
        return self._batch(r, tuple(int(s) for s in picks), answered, out, new=True)

    def _model(self, relabelled: np.ndarray, start_round: int):
        from .alc import ActiveLabelCorrection

        settings = self.settings()
        X = self.workspace.features()
        alc = ActiveLabelCorrection(method=settings["method"], batch_size=settings["batch_size"],
                                    random_state=settings["seed"], **settings["params"])
        graph = self._graph(X, alc.n_neighbors) if settings["method"] == "alc" else None
        observed = self.observed()
        return alc.fit(X, self.current_labels(), n_classes=len(self.workspace.classes), graph=graph,
                       relabelled=relabelled, start_round=start_round,
                       observed=np.array([observed[i] for i in range(X.shape[0])], dtype=np.int64))

    def _graph(self, X, k: int):
        """The pool's kNN graph, cached next to the database (a derived file: missing or bad means rebuild)."""
        import nas_ext
        from nas_ext.graph import Graph

        path = Path(self.workspace.directory) / "cache" / f"knn-{self._store.pool().hash[:16]}-{k}.npz"
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as f:
                    graph = Graph(f["indptr"], f["indices"], f["dist"], k=k, symmetric=True)
                    graph.meta["mean_pairwise_distance"] = float(f["mean"])
                if graph.n == X.shape[0]:
                    return graph
            except (OSError, KeyError, ValueError) as exc:
                logger.warning("ignoring the graph cache %s (%s); rebuilding", path, exc)
        graph = nas_ext.knn_graph(X, k)
        replace_atomically(path, lambda f: np.savez(f, indptr=graph.indptr, indices=graph.indices, dist=graph.dist,
                                                    mean=np.array(graph.meta["mean_pairwise_distance"])), binary=True)
        return graph

    def _batch(self, r: int, samples, answered, out, *, new: bool) -> QueueBatch:
        pending = tuple(s for s in samples if s not in answered)
        path = None
        if out is not None:
            names = self._store.sample_names(pending)
            labels = self.current_labels()
            classes = self.workspace.classes
            path = write_csv_atomic(out, ["index", "id", "current_label", "label"],
                                    [(s, name, classes[labels[s]], "") for s, name in zip(pending, names)])
        return QueueBatch(round=r, samples=tuple(samples), pending=pending, path=path, new=new)

    # -- answers --------------------------------------------------------------------------------------
    def answer(self, answers, *, annotator: Optional[str] = None) -> dict:
        """Record the accurate annotator's labels for queued samples (CSV or rows), all or nothing, in one
        transaction. Returns counts: ``n_new``, ``n_already_recorded``, ``n_unanswered``, ``n_changed``."""
        source, raw = self._raw(answers)
        with self._store.transaction() as c:
            ensure_tables(c)
            queued = dict(c.execute("SELECT sample, round FROM correction_queue"))
            recorded = {s: (l, a, t) for s, l, a, t in
                        c.execute("SELECT sample, label, annotator, received_at FROM corrections")}
            checked = validate(raw, source=source, n_samples=self.workspace.n_samples,
                               classes=self.workspace.classes, lookup_ids=self._store.samples_of_names,
                               queried=queued, recorded=recorded, default_annotator=annotator)
            observed = dict(c.execute("SELECT sample, label FROM observed_labels"))
            if checked.new:
                now = time.time()
                cur = c.execute("INSERT INTO correction_ingests (kind, source, received_at, n_rows, n_new) "
                                "VALUES ('answer', ?, ?, ?, ?)", (source, now, checked.n_rows, len(checked.new)))
                c.executemany("INSERT INTO corrections (sample, label, annotator, received_at, ingest) "
                              "VALUES (?, ?, ?, ?, ?)",
                              [(r.sample, r.label, r.annotator, now, cur.lastrowid) for r in checked.new])
        return {"n_new": len(checked.new), "n_already_recorded": checked.n_already_recorded,
                "n_unanswered": checked.n_unanswered,
                "n_changed": sum(observed.get(r.sample) != r.label for r in checked.new)}

    # -- reports --------------------------------------------------------------------------------------
    def status(self) -> dict:
        settings = self.settings()
        observed, corrections = self.observed(), self.corrections()
        rounds = self.rounds()
        per_round = []
        for r, samples in rounds:
            done = [s for s in samples if s in corrections]
            changed = sum(corrections[s][0] != observed.get(s) for s in done)
            per_round.append({"round": r, "queued": len(samples), "answered": len(done), "changed": changed})
        return {"settings": settings, "n_samples": self.workspace.n_samples, "n_imported": len(observed),
                "n_queued": sum(len(s) for _, s in rounds), "n_corrected": len(corrections),
                "n_changed": sum(corrections[s][0] != observed.get(s) for s in corrections), "rounds": per_round}

    def export(self, out) -> Path:
        """CSV of every sample: index,id,observed_label,label,relabelled,changed,round (atomic write)."""
        labels = self.current_labels()
        observed, queued, corrections = self.observed(), self.queued(), self.corrections()
        classes = self.workspace.classes
        n = self.workspace.n_samples
        names = self._store.sample_names(range(n))
        rows = [(i, names[i], classes[observed[i]], classes[labels[i]], int(i in corrections),
                 int(i in corrections and corrections[i][0] != observed[i]), queued.get(i, "")) for i in range(n)]
        return write_csv_atomic(out, ["index", "id", "observed_label", "label", "relabelled", "changed", "round"],
                                rows)
