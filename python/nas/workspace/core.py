"""`Workspace`: annotation rounds over days, with the verbs of the CLI (init, query, annotate, status, export).

Each verb reads the database, computes outside any transaction, then stores its result in one
transaction, so a process killed at any instant leaves the workspace as it was before the verb
or as it is after it, and running the verb again continues from there:

- ``query`` returns the open (unanswered or partly answered) batch again; otherwise it computes the
  next batch with the NAS step for the next round and stores batch, filter result and timings together.
  Its randomness derives from (seed, round) only, so a killed query recomputes the same batch.
- ``annotate`` validates a whole answer file before writing any of it; re-sending labels already
  recorded is harmless, so an answer file can be sent again after a crash.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Union

import numpy as np

from . import answers as answer_files
from . import selection
from .errors import WorkspaceError
from .files import write_csv_atomic
from .pool import as_names, describe_features, load_verified
from .report import Status, build_status
from .store import Config, FilterRun, QueryRecord, Store

logger = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]
QUERY_DIR = "queries"


@dataclass(frozen=True)
class Query:
    """A batch to label: ``samples`` (pool indices, pick order) and their ``ids``; ``pending`` = not yet answered.

    ``new`` is False when an open batch was returned again instead of drawing a new one; ``path``
    is the CSV listing the pending samples.
    """

    round: int
    samples: np.ndarray
    ids: List[str]
    pending: np.ndarray
    new: bool
    path: Path


@dataclass(frozen=True)
class AnnotateResult:
    """What one answer file did: labels recorded now, already present, left unanswered."""

    recorded: int
    already_recorded: int
    unanswered: int
    rows: int
    open_round: Optional[int]
    pending: int


@dataclass(frozen=True)
class ExportResult:
    """The exported table, the probe (if asked for) and the filter verdict they are based on."""

    path: Path
    n_labeled: int
    n_clean: int
    predicted_noise_rate: Optional[float]
    model_path: Optional[Path]


class Workspace:
    """One workspace directory; open with :meth:`open`, create with :meth:`init`.

    Example::

        ws = Workspace.init("ws", features="pool.npy", classes=["cat", "dog"], strategy="npc", filter="aum")
        q = ws.query()                      # q.samples: pool rows to label, also written to q.path
        ws.annotate([(int(i), "cat") for i in q.samples])
        print(ws.status().to_text())
    """

    def __init__(self, store: Store, *, features: Optional[PathLike] = None):
        self._store = store
        self._features_path = features
        self._X: Optional[np.ndarray] = None

    # -- lifecycle -------------------------------------------------------------------------------
    @classmethod
    def init(cls, directory: PathLike, *, features: PathLike, classes: Union[PathLike, Sequence[str]],
             ids: Union[PathLike, Sequence[str], None] = None, strategy: str = "npc", filter: str = "aum",
             strategy_params: Optional[Dict] = None, filter_params: Optional[Dict] = None,
             nas_params: Optional[Dict] = None, batch_size: Optional[int] = None, seed: int = 0) -> "Workspace":
        """Create a workspace for the pool in ``features`` (an (N, d) float .npy file, hashed, not copied)."""
        class_names = as_names(classes, "classes")
        if len(class_names) < 2:
            raise WorkspaceError(f"a workspace needs at least 2 classes; got {len(class_names)}.")
        config = Config(strategy=strategy, filter=filter, strategy_params=dict(strategy_params or {}),
                        filter_params=dict(filter_params or {}), nas_params=dict(nas_params or {}),
                        batch_size=None if batch_size is None else int(batch_size), seed=int(seed))
        if config.batch_size is not None and config.batch_size < 1:
            raise WorkspaceError(f"batch_size must be a positive integer; got {batch_size}.")
        if config.seed < 0:
            raise WorkspaceError(f"seed must be a non-negative integer; got {seed}.")
        selection.check_config(config, n_classes=len(class_names))
        pool = describe_features(features)
        sample_ids = None if ids is None else as_names(ids, "ids")
        if sample_ids is not None and len(sample_ids) != pool.n_samples:
            raise WorkspaceError(f"the ids list has {len(sample_ids)} entries but {features} has "
                                 f"{pool.n_samples} rows; give one id per row.")
        store = Store.create(directory, pool, sample_ids, class_names, config)
        return cls(store)

    @classmethod
    def open(cls, directory: PathLike, *, features: Optional[PathLike] = None) -> "Workspace":
        """Open an existing workspace; ``features`` points at the embedding file if it moved (hash-checked)."""
        return cls(Store.open(directory), features=features)

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- facts ---------------------------------------------------------------------------------
    @property
    def directory(self) -> Path:
        return self._store.directory

    @property
    def config(self) -> Config:
        return self._store.config()

    @property
    def classes(self) -> List[str]:
        return self._store.classes()

    @property
    def n_samples(self) -> int:
        return self._store.pool().n_samples

    def features(self) -> np.ndarray:
        """The pool's features, memory-mapped, after checking the file's hash against the recorded one."""
        if self._X is None:
            self._X = load_verified(self._store.pool(), self._features_path)
        return self._X

    def labeled(self) -> tuple:
        """(samples, labels) of every label received, in pick order (int64 arrays)."""
        samples, labels = self._store.labeled_in_query_order()
        return np.asarray(samples, dtype=np.int64), np.asarray(labels, dtype=np.int64)

    # -- verbs ---------------------------------------------------------------------------------
    def query(self, batch_size: Optional[int] = None, *, out: Optional[PathLike] = None) -> Query:
        """Return the open batch again, or compute, store and return the next one.

        ``batch_size`` overrides the configured share size for a new batch (default: the number of
        classes, as NAS does); it is ignored, with a warning, when an open batch is returned.
        """
        record = self._store.open_query()
        if record is not None:
            if batch_size is not None and batch_size != len(record.samples):
                logger.warning("round %d is still open (%d of %d samples unanswered); returning it again and "
                               "ignoring batch_size=%d", record.round, len(record.pending), len(record.samples),
                               batch_size)
            return self._query_result(record, new=False, out=out)
        config = self._store.config()
        size = batch_size if batch_size is not None else config.batch_size
        if size is not None and (int(size) != size or size < 1):
            raise WorkspaceError(f"batch_size must be a positive integer; got {size}.")
        round_ = self._store.last_round() + 1
        rank = selection.distributed_rank(config)  # None unless the strategy runs on torch.distributed
        labeled, labels = self.labeled()
        start = time.perf_counter()
        batch = selection.next_batch(config, self.features(), labeled, labels, n_classes=len(self.classes),
                                     round=round_, batch_size=None if size is None else int(size),
                                     directory=self.directory, features_hash=self._store.pool().hash,
                                     state=self._store.strategy_state())
        seconds = time.perf_counter() - start
        if rank is None or rank == 0:  # distributed: every rank computed the round, rank 0 stores it
            self._store.record_query(round_, batch.picks.tolist(), seconds=seconds, coverage=batch.coverage,
                                     filter_run=batch.filter_run, timings=batch.timings,
                                     strategy_state=batch.strategy_state)
        if rank is not None:
            selection.distributed_barrier()
        record = self._store.open_query()
        if record is None or record.round != round_:
            raise WorkspaceError(f"round {round_} was not stored; another process changed the workspace.")
        return self._query_result(record, new=True, out=out, write=rank is None or rank == 0)

    def _query_result(self, record: QueryRecord, *, new: bool, out: Optional[PathLike], write: bool = True) -> Query:
        pending = list(record.pending)
        path = Path(out) if out is not None else self.directory / QUERY_DIR / f"round-{record.round:04d}.csv"
        ids = self._store.sample_names(record.samples)
        id_of = dict(zip(record.samples, ids))
        if write:
            write_csv_atomic(path, ["index", "id", "label"], [(s, id_of[s], "") for s in pending])
        return Query(round=record.round, samples=np.asarray(record.samples, dtype=np.int64), ids=ids,
                     pending=np.asarray(pending, dtype=np.int64), new=new, path=path)

    def annotate(self, answers: Union[PathLike, Iterable], *, annotator: Optional[str] = None) -> AnnotateResult:
        """Record labels from a CSV answer file or from rows (see :mod:`nas.workspace.answers`); all or nothing."""
        start = time.perf_counter()
        if isinstance(answers, (str, os.PathLike)):
            source = str(answers)
            raw = answer_files.read_answer_file(answers)
        else:
            source = "answers"
            raw = answer_files.rows_to_raw(answers)
        checked = self._store.ingest(source, lambda: answer_files.validate(
            raw, source=source, n_samples=self.n_samples, classes=self.classes,
            lookup_ids=self._store.samples_of_names, queried=self._store.queried_samples(),
            recorded=self._store.labels(), default_annotator=annotator), started=start)
        record = self._store.open_query()
        return AnnotateResult(recorded=len(checked.new), already_recorded=checked.n_already_recorded,
                              unanswered=checked.n_unanswered, rows=checked.n_rows,
                              open_round=None if record is None else record.round,
                              pending=0 if record is None else len(record.pending))

    def status(self) -> Status:
        """Rounds, labels, predicted noise rate, coverage and time per stage."""
        return build_status(self._store)

    def export(self, out: PathLike, *, model: Optional[PathLike] = None, epochs: Optional[int] = None,
               device: str = "cpu", training: str = "probe", mtadcs_params: Optional[dict] = None) -> ExportResult:
        """Write every labeled sample with its label, clean flag and filter score; optionally a trained model:
        ``training="probe"`` a linear probe on the predicted-clean samples, ``"mtadcs"`` MTaDCS (seed 002) on all
        labeled samples starting from the clean ones (``mtadcs_params`` go to ``nas.training.MTaDCS``).

        The clean flags come from the filter run on exactly the current labeled set: the one stored
        with the last query when no label arrived since, otherwise a new run (stored, purpose 'export').
        """
        if training not in ("probe", "mtadcs"):
            raise ValueError(f"The 'training' parameter of Workspace.export must be one of {{'probe', 'mtadcs'}}. "
                             f"Got {training!r} instead.")
        samples, labels = self.labeled()
        if len(samples) == 0:
            raise WorkspaceError("nothing to export yet: no label has been recorded (run `nas annotate`).")
        run = self._current_filter_run(samples, labels)
        clean_of = dict(zip(run.samples, run.is_clean))
        score_of = dict(zip(run.samples, run.scores))
        received = self._store.labels()
        rounds = self._store.queried_samples()
        ids = self._store.sample_names(samples)
        classes = self.classes
        rows = [(int(s), name, classes[int(y)], int(y), rounds[int(s)], received[int(s)][1] or "",
                 int(clean_of[int(s)]), "" if score_of[int(s)] is None else repr(float(score_of[int(s)])))
                for s, name, y in zip(samples, ids, labels)]
        path = write_csv_atomic(out, ["index", "id", "label", "label_index", "round", "annotator", "is_clean",
                                      "score"], rows)
        model_path = None
        if model is not None:
            clean = np.array([clean_of[int(s)] for s in samples], dtype=bool)
            if training == "mtadcs":
                model_path = selection.train_mtadcs(self.features(), samples, labels, clean, classes=classes,
                                                    path=Path(model), seed=self.config.seed, epochs=epochs,
                                                    device=device, params=mtadcs_params)
            else:
                model_path = selection.train_probe(self.features(), samples[clean], labels[clean],
                                                   classes=classes, path=Path(model), seed=self.config.seed,
                                                   epochs=epochs, device=device)
        return ExportResult(path=path, n_labeled=len(samples), n_clean=int(sum(run.is_clean)),
                            predicted_noise_rate=run.predicted_noise_rate, model_path=model_path)

    def _current_filter_run(self, samples: np.ndarray, labels: np.ndarray) -> FilterRun:
        latest = self._store.latest_filter_run()
        if latest is not None and sorted(latest.samples) == sorted(samples.tolist()):
            return latest
        run = selection.filter_labeled(self._store.config(), self.features(), samples, labels,
                                       n_classes=len(self.classes), round=self._store.last_round() + 1)
        self._store.record_filter_run(run)
        return run
