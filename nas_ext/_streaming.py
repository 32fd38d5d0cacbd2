"""Row-streamed access to large feature matrices (np.memmap / .npy opened with mmap_mode="r").

The graph kernels read their input in row chunks and keep their float32 working copy either in memory or
in an unlinked temporary file; pages of file-backed arrays that a pass has finished with are handed back to
the kernel (``madvise(MADV_DONTNEED)``: the data stay in the page cache and on disk, the process's resident
set shrinks), so a pool larger than RAM is processed with a resident set of a few tiles.
"""
from __future__ import annotations

import mmap
import os
import tempfile
from typing import Optional

import numpy as np

__all__ = ["find_mmap", "release_pages", "is_file_backed", "working_array", "available_memory_bytes"]

CHUNK_BYTES = 32 << 20  # rows per streamed chunk: about 32 MiB of input


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo where there is one, else the free physical pages (8 GiB if unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def find_mmap(arr) -> Optional[mmap.mmap]:
    """The mmap object behind ``arr`` (an np.memmap, a view or an ascontiguousarray of one), else None."""
    obj, seen = arr, 0
    while obj is not None and seen < 16:
        if isinstance(obj, mmap.mmap):
            return obj
        mm = getattr(obj, "_mmap", None)
        if isinstance(mm, mmap.mmap):
            return mm
        obj, seen = getattr(obj, "base", None), seen + 1
    return None


def is_file_backed(arr) -> bool:
    """True when ``arr`` lives in a memory-mapped file (its pages can be released and re-read)."""
    return find_mmap(arr) is not None


def release_pages(arr) -> None:
    """Drop the resident pages of the file mapping behind ``arr`` (no-op for in-memory arrays).

    Safe for read-only and shared writable mappings: the data stay in the file / page cache and are
    faulted back in on the next access.
    """
    mm = find_mmap(arr)
    if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        try:
            mm.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):  # a closed mapping, or a platform without the advice
            pass


def chunk_rows(n_features: int, itemsize: int = 4) -> int:
    """Rows per streamed chunk for rows of ``n_features`` values (at least 256)."""
    return max(256, CHUNK_BYTES // max(1, n_features * itemsize))


def working_array(shape, low_memory: bool, work_dir: Optional[str] = None) -> np.ndarray:
    """An uninitialised float32 array: in memory, or (``low_memory``) backed by an unlinked temporary file."""
    if not low_memory:
        return np.empty(shape, dtype=np.float32)
    handle = tempfile.TemporaryFile(dir=work_dir, prefix="nas_ext_rows_")
    n_bytes = int(np.prod(shape)) * 4
    handle.truncate(max(1, n_bytes))
    out = np.memmap(handle, dtype=np.float32, mode="r+", shape=tuple(shape))
    handle.close()  # the mapping keeps the (unlinked) file alive
    return out
