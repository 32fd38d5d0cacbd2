"""The pool a workspace refers to: the embedding file (hashed, memory-mapped) and text lists.

The workspace stores the embedding file's path and a BLAKE2b hash of its bytes, never a copy of
the features: a pool can be gigabytes. Every time the features are loaded the hash is checked, so
a changed or swapped file is an error instead of a silent mix-up of sample indices.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Sequence, Union

import numpy as np

from .errors import WorkspaceError

HASH_CHUNK_BYTES = 1 << 24
PathLike = Union[str, os.PathLike]


def hash_file(path: PathLike) -> str:
    """BLAKE2b-256 hex digest of a file's bytes, streamed in 16 MiB chunks (a 1.5 GB file: seconds)."""
    digest = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as f:
        while True:
            chunk = f.read(HASH_CHUNK_BYTES)
            if not chunk:
                break
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class PoolInfo:
    """What the workspace records about the embedding file."""

    path: str
    hash: str
    n_bytes: int
    n_samples: int
    n_features: int
    dtype: str


def open_features(path: PathLike) -> np.ndarray:
    """Memory-map an (N, d) float ``.npy`` file; shape and dtype errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise WorkspaceError(f"features file {path} does not exist.")
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise WorkspaceError(f"features file {path} is not a readable .npy array ({exc}).") from exc
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise WorkspaceError(f"features file {path} must hold a 2-D (n_samples, n_features) array; "
                             f"it holds shape {X.shape}.")
    if not np.issubdtype(X.dtype, np.floating):
        raise WorkspaceError(f"features file {path} must hold float32 or float64 values; it holds {X.dtype}.")
    return X


def describe_features(path: PathLike) -> PoolInfo:
    """Open, check (finite values) and hash an embedding file for ``nas init``."""
    path = Path(path).resolve()
    X = open_features(path)
    rows = max(1, (64 << 20) // (X.shape[1] * X.dtype.itemsize))
    for start in range(0, X.shape[0], rows):
        finite = np.isfinite(X[start:start + rows]).all(axis=1)
        if not finite.all():
            bad = start + int(np.flatnonzero(~finite)[0])
            raise WorkspaceError(f"features file {path} has a NaN or infinite value in row {bad}.")
    return PoolInfo(path=str(path), hash=hash_file(path), n_bytes=path.stat().st_size,
                    n_samples=int(X.shape[0]), n_features=int(X.shape[1]), dtype=str(X.dtype))


def load_verified(info: PoolInfo, path: PathLike = None) -> np.ndarray:
    """Memory-map the recorded embedding file (or ``path``, a moved copy) after checking its hash."""
    path = Path(path if path is not None else info.path)
    if not path.is_file():
        raise WorkspaceError(f"the workspace's features file {path} is missing. Restore it, or open the "
                             "workspace with the file's new location (Workspace.open(..., features=PATH) / "
                             "--features PATH).")
    size = path.stat().st_size
    if size != info.n_bytes or hash_file(path) != info.hash:
        raise WorkspaceError(f"features file {path} changed since `nas init` (content hash differs: recorded "
                             f"{info.hash[:16]}..., {info.n_bytes} bytes; found {size} bytes). Sample indices "
                             "would no longer match the recorded queries and labels; restore the original file "
                             "or start a new workspace.")
    X = open_features(path)
    if X.shape != (info.n_samples, info.n_features):
        raise WorkspaceError(f"features file {path} has shape {X.shape}, the workspace expects "
                             f"{(info.n_samples, info.n_features)}.")
    return X


def read_lines(path: PathLike, what: str) -> List[str]:
    """Read a UTF-8 list file, one entry per line; blank lines inside the list and duplicates are errors."""
    path = Path(path)
    if not path.is_file():
        raise WorkspaceError(f"{what} file {path} does not exist.")
    with open(path, encoding="utf-8-sig") as f:
        lines = [line.strip() for line in f.read().splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return check_names(lines, f"{what} file {path}")


def check_names(names: Iterable[str], where: str) -> List[str]:
    """Validate a list of names: non-empty strings without duplicates; errors name the line (1-based)."""
    names = [str(name).strip() for name in names]
    if not names:
        raise WorkspaceError(f"{where} is empty.")
    seen = {}
    for line, name in enumerate(names, start=1):
        if not name:
            raise WorkspaceError(f"{where}: line {line} is blank.")
        if name in seen:
            raise WorkspaceError(f"{where}: line {line} repeats '{name}' (first on line {seen[name]}).")
        seen[name] = line
    return names


def as_names(value: Union[PathLike, Sequence[str]], what: str) -> List[str]:
    """Accept a list of names or the path of a list file."""
    if isinstance(value, (str, os.PathLike)):
        return read_lines(value, what)
    return check_names(value, f"the {what} list")
