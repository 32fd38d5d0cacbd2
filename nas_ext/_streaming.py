"""Row-streamed access to large feature matrices (np.memmap / .npy opened with mmap_mode="r").

The graph kernels read their input in row chunks and keep their float32 working copy either in memory or
in an unlinked temporary file; pages of file-backed arrays that a pass has finished with are handed back to
the kernel (``madvise(MADV_DONTNEED)``: the data stay in the page cache and on disk, the process's resident
set shrinks), so a pool larger than RAM is processed with a resident set of a few tiles.

A file mapping's resident set grows faster than the bytes read through it: a fault on a page in the page
cache maps its neighbourhood (fault-around, 64 KiB by default) or, where the page cache holds large folios
(ext4/xfs on recent kernels), the whole folio, up to 2 MiB. A gather of a few hundred scattered rows can
thus map a whole file. :func:`take_rows` therefore reads scattered rows with ``pread`` (through the page
cache, never mapped; nearby rows coalesced into one read), and :class:`PageWindow` measures the
process's resident file pages (``/proc/self/statm``) instead of counting bytes for the sequential passes.
"""
from __future__ import annotations

import mmap
import os
import tempfile
import weakref
from typing import Optional

import numpy as np

__all__ = ["find_mmap", "release_pages", "is_file_backed", "working_array", "available_memory_bytes",
           "PageWindow", "take_rows", "resident_file_bytes"]

CHUNK_BYTES = 8 << 20  # rows per streamed chunk: about 8 MiB of input
WINDOW_BYTES = 64 << 20  # resident file pages a streamed pass may hold above its start before releasing
FAULT_AROUND_BYTES = 2 << 20  # what one fault on a cached page may map (a PMD-sized page-cache folio)
GAP_BYTES = 16 << 10  # take_rows: rows this close are read by one pread (the bytes between them too)
SPAN_BYTES = 8 << 20  # take_rows: at most this much read per batch of requested rows
_PAGE = mmap.PAGESIZE


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


def resident_file_bytes() -> Optional[int]:
    """Resident file-backed (and shared) bytes of this process, from /proc/self/statm; None where unknown."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[2]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class PageWindow:
    """Keeps the resident pages of some file-backed arrays within ``budget`` bytes above the level at start.

    ``check()`` after each chunk or tile: when the process's resident file pages have grown by more than
    the budget, every watched mapping is released (:func:`release_pages`). In-memory arrays are ignored;
    a window over none is free. Where /proc/self/statm is unreadable every check releases.
    """

    def __init__(self, *arrays, budget: int = WINDOW_BYTES):
        self.arrays = [a for a in arrays if is_file_backed(a)]
        self.budget = budget
        self.releases = 0
        self._base = resident_file_bytes() if self.arrays else None

    def watch(self, arr) -> None:
        """Also watch ``arr`` (no-op for in-memory arrays and arrays already watched)."""
        if is_file_backed(arr) and not any(a is arr for a in self.arrays):
            if not self.arrays:
                self._base = resident_file_bytes()
            self.arrays.append(arr)

    def check(self) -> None:
        if not self.arrays:
            return
        now = resident_file_bytes()
        if now is None or self._base is None or now - self._base > self.budget:
            self.release()

    def release(self) -> None:
        for arr in self.arrays:
            release_pages(arr)
        self.releases += 1
        now = resident_file_bytes()
        if now is not None and self._base is not None:
            self._base = min(self._base, now)


def _root_memmap(arr) -> Optional[np.memmap]:
    obj, seen = arr, 0
    while obj is not None and seen < 16:
        if isinstance(obj, np.memmap) and isinstance(getattr(obj, "_mmap", None), mmap.mmap):
            return obj
        obj, seen = getattr(obj, "base", None), seen + 1
    return None


def _row_file(arr: np.ndarray):
    """(fd, byte position of row 0, owns fd) of a C-contiguous 2-D array in a memory-mapped file, else None.

    np.memmap maps its file from ``offset`` rounded down to the allocation granularity; every view carries
    the root's ``offset``, so the position of any row is (its address - the mapping's) + that start. The
    file is the memmap's ``filename`` or, for :func:`working_array`'s unlinked file, its kept handle.
    """
    root = _root_memmap(arr)
    if root is None or arr.ndim != 2 or arr.strides != (arr.shape[1] * arr.itemsize, arr.itemsize):
        return None
    mm = root._mmap
    if mm.closed:
        return None
    base = np.frombuffer(mm, dtype=np.uint8).__array_interface__["data"][0]
    start = root.offset - root.offset % mmap.ALLOCATIONGRANULARITY
    position = arr.__array_interface__["data"][0] - base + start
    fd = getattr(root, "_nas_fd", None)
    if fd is not None:
        return fd, position, False
    if not getattr(root, "filename", None):
        return None
    try:
        return os.open(root.filename, os.O_RDONLY), position, True
    except OSError:
        return None


def _pread_rows(fd: int, position: int, X: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """X[idx] read with pread: requested rows sorted, rows within GAP_BYTES read by one call."""
    row_bytes = X.shape[1] * X.itemsize
    out = np.empty((idx.shape[0], X.shape[1]), dtype=X.dtype)
    if idx.shape[0] == 0:
        return out
    order = np.argsort(idx, kind="stable")
    wanted = idx[order].astype(np.int64)
    if wanted[0] < 0 or wanted[-1] >= X.shape[0]:
        raise IndexError(f"row index out of range for {X.shape[0]} rows")
    gap = max(1, GAP_BYTES // row_bytes)
    batch = max(1, SPAN_BYTES // (row_bytes * (gap + 1)))
    for b0 in range(0, wanted.shape[0], batch):
        part = wanted[b0:b0 + batch]
        breaks = np.flatnonzero(np.diff(part) > gap) + 1
        lo, hi = part[np.r_[0, breaks]], part[np.r_[breaks - 1, part.shape[0] - 1]] + 1
        at = np.r_[0, np.cumsum(hi - lo)]
        scratch = np.empty((int(at[-1]), X.shape[1]), dtype=X.dtype)
        view = memoryview(scratch).cast("B")
        for s, (first, stop) in enumerate(zip(lo.tolist(), hi.tolist())):
            want = (stop - first) * row_bytes
            got = os.preadv(fd, [view[int(at[s]) * row_bytes:int(at[s]) * row_bytes + want]],
                            position + first * row_bytes)
            if got != want:
                raise OSError(f"short read of a memory-mapped feature file ({got} of {want} bytes)")
        span = np.repeat(np.arange(lo.shape[0]), np.diff(np.r_[0, breaks, part.shape[0]]))
        out[order[b0:b0 + batch]] = scratch[at[span] + (part - lo[span])]
    return out


def take_rows(X: np.ndarray, idx: np.ndarray, window: Optional[PageWindow] = None) -> np.ndarray:
    """``X[idx]`` (a copy) that, for a file-backed ``X``, does not grow the resident set.

    Rows of a memory-mapped file are read with pread (:func:`_pread_rows`); where the file cannot be
    reached (another kind of mapping) they are gathered through the mapping in batches checked against
    ``window``. In-memory arrays are gathered in one call.
    """
    if not is_file_backed(X):
        return X[idx]
    located = _row_file(X) if hasattr(os, "preadv") else None
    if located is not None:
        fd, position, owned = located
        try:
            return _pread_rows(fd, position, X, np.asarray(idx))
        finally:
            if owned:
                os.close(fd)
    if window is None:
        window = PageWindow(X)
    window.watch(X)
    step = max(1, window.budget // (4 * FAULT_AROUND_BYTES))
    if idx.shape[0] <= step:
        out = X[idx]
        window.check()
        return out
    out = np.empty((idx.shape[0],) + X.shape[1:], dtype=X.dtype)
    for start in range(0, idx.shape[0], step):
        out[start:start + step] = X[idx[start:start + step]]
        window.check()
    return out


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
    out._nas_fd = os.dup(handle.fileno())  # take_rows reads scattered rows from it; closed with the array
    weakref.finalize(out, os.close, out._nas_fd)
    handle.close()  # the mapping and the duplicate keep the (unlinked) file alive
    return out
