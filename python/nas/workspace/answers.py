"""Answer files: parse, resolve and validate every row before anything is written.

An answer file is a CSV with a header naming its columns: ``label`` and at least one of ``index``
(pool row, 0-based) or ``id`` (from the workspace's id file), optionally ``annotator``; other
columns are ignored, so the CSV written by ``nas query`` with a ``label`` column added is a valid
answer file. A label is a class name or a class number (a name wins when a name looks like a
number). Rows with an empty label are left unanswered. Any problem (unknown id or class, a sample
given twice, a sample never queried, a label that contradicts one already recorded) rejects the
whole file with line numbers.
"""
from __future__ import annotations

import csv
import io
import numbers
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import AnswerFileError, WorkspaceError
from .store import LabelRow

SAMPLE_COLUMNS = ("index", "id")


@dataclass(frozen=True)
class RawAnswer:
    """One row as given: where it came from and its cells as text (``None`` when the column is absent)."""

    line: int
    index: Optional[str]
    id: Optional[str]
    label: str
    annotator: Optional[str]


@dataclass(frozen=True)
class ValidatedAnswers:
    """The outcome of validation: labels to record and what was left aside."""

    new: Tuple[LabelRow, ...]
    n_rows: int
    n_already_recorded: int
    n_unanswered: int


def read_answer_file(path: Union[str, os.PathLike]) -> List[RawAnswer]:
    """Parse a CSV answer file into raw rows; a malformed header is an error with a line number."""
    path = Path(path)
    if not path.is_file():
        raise WorkspaceError(f"answer file {path} does not exist.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnswerFileError(str(path), [(1, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from exc
    return parse_answer_text(text, str(path))


def parse_answer_text(text: str, source: str) -> List[RawAnswer]:
    """Parse CSV text (see the module docstring for the columns)."""
    if "\x00" in text:
        raise AnswerFileError(source, [(text[:text.index("\x00")].count("\n") + 1, "contains a NUL byte")])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise AnswerFileError(source, [(1, f"unreadable CSV header ({exc})")]) from exc
    if header is None or not any(cell.strip() for cell in header):
        raise AnswerFileError(source, [(1, "empty file; expected a header such as 'index,label' or 'id,label'")])
    columns = [cell.strip().lower() for cell in header]
    problems = _check_header(columns)
    if problems:
        raise AnswerFileError(source, problems)
    where = {name: columns.index(name) for name in ("index", "id", "label", "annotator") if name in columns}
    rows: List[RawAnswer] = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise AnswerFileError(source, [(start, f"malformed CSV ({exc})")]) from exc
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue

        def cell(name: str) -> Optional[str]:
            if name not in where:
                return None
            return cells[where[name]].strip() if where[name] < len(cells) else ""

        rows.append(RawAnswer(line=start, index=cell("index"), id=cell("id"), label=cell("label") or "",
                              annotator=cell("annotator") or None))
    return rows


def _check_header(columns: Sequence[str]) -> List[Tuple[int, str]]:
    problems = []
    if "label" not in columns:
        problems.append((1, f"header {','.join(columns)} has no 'label' column"))
    if not any(name in columns for name in SAMPLE_COLUMNS):
        problems.append((1, "header needs an 'index' or an 'id' column to say which sample each label is for"))
    for name in ("index", "id", "label", "annotator"):
        if columns.count(name) > 1:
            problems.append((1, f"header names the column '{name}' twice"))
    return problems


def rows_to_raw(rows: Iterable) -> List[RawAnswer]:
    """Turn Python rows into raw answers numbered from 1.

    A row is a mapping with keys ``index``/``id``, ``label`` and optionally ``annotator``, or a tuple
    ``(sample, label[, annotator])`` where an integer sample is a pool index and a string is an id.
    """
    out = []
    for number, row in enumerate(rows, start=1):
        if isinstance(row, Mapping):
            index, ident = row.get("index"), row.get("id")
            label, annotator = row.get("label"), row.get("annotator")
        else:
            row = tuple(row)
            if len(row) not in (2, 3):
                raise AnswerFileError("answers", [(number, f"expected (sample, label[, annotator]); got {row!r}")])
            sample, label = row[0], row[1]
            annotator = row[2] if len(row) == 3 else None
            is_index = isinstance(sample, numbers.Integral) and not isinstance(sample, bool)
            index, ident = (sample, None) if is_index else (None, sample)
        out.append(RawAnswer(line=number, index=None if index is None else str(index),
                             id=None if ident is None else str(ident),
                             label="" if label is None else str(label).strip(),
                             annotator=None if annotator in (None, "") else str(annotator)))
    return out


def validate(raw: Sequence[RawAnswer], *, source: str, n_samples: int, classes: Sequence[str],
             lookup_ids: Callable[[Sequence[str]], Dict[str, int]], queried: Mapping[int, int],
             recorded: Mapping[int, Tuple[int, Optional[str], float]],
             default_annotator: Optional[str] = None) -> ValidatedAnswers:
    """Resolve every raw row to (sample, class) and check it against the workspace; all or nothing."""
    class_of_name = {name: i for i, name in enumerate(classes)}
    ids = lookup_ids(sorted({r.id for r in raw if r.id}))
    problems: List[Tuple[int, str]] = []
    first_line: Dict[int, int] = {}
    new: List[LabelRow] = []
    n_already = n_unanswered = 0
    for row in raw:
        sample = _resolve_sample(row, n_samples, ids, problems)
        if not row.label:
            n_unanswered += 1
            continue
        label = _resolve_label(row, class_of_name, classes, problems)
        if sample is None:
            continue
        if sample in first_line:
            problems.append((row.line, f"sample {sample} is answered twice (first on line {first_line[sample]})"))
            continue
        first_line[sample] = row.line
        if label is None:
            continue
        if sample not in queried:
            problems.append((row.line, f"sample {sample}{_id_note(row)} was never queried; answer only samples "
                                       "listed by `nas query`"))
            continue
        if sample in recorded:
            if recorded[sample][0] == label:
                n_already += 1
            else:
                problems.append((row.line, f"sample {sample}{_id_note(row)} already has the label "
                                           f"'{classes[recorded[sample][0]]}'; got '{classes[label]}'"))
            continue
        new.append(LabelRow(sample=sample, label=label, annotator=row.annotator or default_annotator))
    if problems:
        raise AnswerFileError(source, sorted(problems))
    return ValidatedAnswers(new=tuple(new), n_rows=len(raw), n_already_recorded=n_already,
                            n_unanswered=n_unanswered)


def _id_note(row: RawAnswer) -> str:
    return f" (id '{row.id}')" if row.id else ""


def _resolve_sample(row: RawAnswer, n_samples: int, ids: Dict[str, int],
                    problems: List[Tuple[int, str]]) -> Optional[int]:
    by_index = by_id = None
    if row.index:
        if row.index.isascii() and row.index.isdigit() and int(row.index) < n_samples:
            by_index = int(row.index)
        else:
            problems.append((row.line, f"index '{row.index}' is not a pool index (an integer in 0..{n_samples - 1})"))
            return None
    if row.id:
        if row.id not in ids:
            problems.append((row.line, f"unknown id '{row.id}'"))
            return None
        by_id = ids[row.id]
    if by_index is not None and by_id is not None and by_index != by_id:
        problems.append((row.line, f"index {by_index} and id '{row.id}' name different samples "
                                   f"(that id is index {by_id})"))
        return None
    if by_index is None and by_id is None:
        problems.append((row.line, "no index or id given"))
        return None
    return by_index if by_index is not None else by_id


def _resolve_label(row: RawAnswer, class_of_name: Dict[str, int], classes: Sequence[str],
                   problems: List[Tuple[int, str]]) -> Optional[int]:
    if row.label in class_of_name:
        return class_of_name[row.label]
    if row.label.isascii() and row.label.isdigit() and int(row.label) < len(classes):
        return int(row.label)
    shown = ", ".join(classes[:10]) + (", ..." if len(classes) > 10 else "")
    problems.append((row.line, f"unknown class '{row.label}' (expected a class name ({shown}) or a number "
                               f"0..{len(classes) - 1})"))
    return None
