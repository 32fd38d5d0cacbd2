"""Crash-safe file output: write to a temporary file, fsync, then atomically rename into place."""
from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterable, Sequence


def replace_atomically(path, write: Callable[[IO], None], *, binary: bool = False) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it and rename it over ``path``,
    so that ``path`` holds either its old content or the complete new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", newline="", encoding="utf-8")) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    return path


def write_csv_atomic(path, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    """Write a CSV atomically (see :func:`replace_atomically`)."""
    def write(f) -> None:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)

    return replace_atomically(path, write)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(str(directory), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
