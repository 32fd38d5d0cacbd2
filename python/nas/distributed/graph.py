"""Row-sharded radius graphs: each rank holds the out-edges of its block of rows, against all rows.

The edges are exactly those of one-process :func:`nas_ext.radius_graph`: the same prepared float32 rows
(cosine: per-row normalisation; euclidean: the column mean is summed in float64 in row order along the ring
of ranks, which reproduces numpy's ``X.mean(axis=0, dtype=float64)`` of a C-ordered X bit for bit), and
the same compiled :class:`RadiusGraphBuilder` tile scan, whose candidate test is only a superset filter
and whose verdict is the float64 re-check of the two rows alone — so a row block against a column block
gives the pairs of the full build. The blocks travel around a ring (rank r receives block r - t at step t
while it scans block r - t + 1), so no rank ever holds more than its own block and two visitors.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, List, Optional

import numpy as np

from nas_ext import _C
from nas_ext._gemm import dot_tile
from nas_ext._validation import check_choice, check_features, check_float, check_int, param_error
from nas_ext._rows import _PREP_ROWS, MAX_SQ_NORM, prepare_block
from nas_ext.radius import BYTES_PER_EDGE, DEFAULT_TILE_COLS, DEFAULT_TILE_ROWS, _ieee_fp32_matmul, default_max_edges

from ._comm import Comm

__all__ = ["ShardedGraph", "sharded_radius_graph"]

logger = logging.getLogger(__name__)

FUNCTION = "sharded_radius_graph"


@dataclass
class ShardedGraph:
    """One rank's rows ``[start, stop)`` of a graph over ``n`` nodes, in CSR with global column ids.

    ``indptr`` int64 (stop - start + 1), ``indices`` int32 global ids sorted within each row, ``dist``
    float32; ``offsets`` (world + 1) are the row blocks of all ranks. The graph is symmetric, so a row's
    out-edges are also its in-edges.
    """

    n: int
    start: int
    stop: int
    indptr: np.ndarray
    indices: np.ndarray
    dist: np.ndarray
    offsets: np.ndarray
    metric: str
    delta: float
    symmetric: bool = True

    @property
    def n_local(self) -> int:
        return self.stop - self.start

    @property
    def nnz_local(self) -> int:
        return int(self.indices.shape[0])

    def row(self, node: int) -> np.ndarray:
        """Out-neighbours (global ids) of the local row with global id ``node``."""
        i = node - self.start
        return self.indices[self.indptr[i]:self.indptr[i + 1]]

    def restrict(self, delta: float) -> "ShardedGraph":
        """The edges with ``dist < delta`` (delta in (0, self.delta]), without recomputing distances."""
        delta = check_float(delta, "ShardedGraph.restrict", "delta", low=0.0, high=self.delta, low_open=True)
        keep = self.dist < np.float32(delta)
        before = np.zeros(self.nnz_local + 1, dtype=np.int64)
        np.cumsum(keep, out=before[1:])
        return ShardedGraph(self.n, self.start, self.stop, before[self.indptr], self.indices[keep],
                            self.dist[keep], self.offsets, self.metric, float(delta))

    def gather(self, comm: Comm):
        """The whole graph as a :class:`nas_ext.Graph` on every rank (for checks on small pools: O(E) per rank)."""
        from nas_ext.graph import Graph

        degrees = comm.all_gather_varying(np.diff(self.indptr))
        indices = comm.all_gather_varying(self.indices)
        dist = comm.all_gather_varying(self.dist)
        indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.concatenate(degrees), out=indptr[1:])
        return Graph(indptr, np.concatenate(indices).astype(np.int32), np.concatenate(dist).astype(np.float32),
                     metric=self.metric, delta=self.delta, symmetric=True)


def _prepare_local(X: np.ndarray, metric: str, comm: Comm, offsets: np.ndarray):
    """The local rows exactly as radius_graph prepares them in one process (nas_ext._rows.prepare_block)."""
    if metric == "cosine":
        return prepare_block(X, metric, None)[0], None
    mean = _column_mean(X, comm, offsets)
    out, sq_norms = prepare_block(X, metric, mean)
    largest = comm.all_reduce_max(float(sq_norms.max()) if sq_norms.size else 0.0)
    if not largest < MAX_SQ_NORM:
        raise param_error(FUNCTION, "X", "small enough for float32 products (centred squared row norms "
                          f"below {MAX_SQ_NORM:g})", f"a largest squared norm of {largest:g}", describe=False)
    return out, sq_norms.astype(np.float32)


def _column_mean(X: np.ndarray, comm: Comm, offsets: np.ndarray) -> np.ndarray:
    """nas_ext._rows.column_mean of the whole pool, bit for bit: the sum of global chunks of _PREP_ROWS rows,
    each summed row by row from zero (numpy sums axis 0 of a C-ordered array that way). Rank r continues the
    chunk left open by ranks < r, so a chunk split between ranks is summed in the same order."""
    d = X.shape[1]
    total = np.zeros(d, dtype=np.float64)
    partial = None
    for r in range(comm.world):
        if r == comm.rank:
            g, n_local = int(offsets[r]), X.shape[0]
            i = 0
            while i < n_local:
                chunk_end = (g + i) // _PREP_ROWS * _PREP_ROWS + _PREP_ROWS
                stop = min(n_local, i + chunk_end - (g + i))
                block = X[i:stop].astype(np.float64)
                if partial is not None:
                    block[0] += partial
                partial = block.sum(axis=0)
                if g + stop == chunk_end or g + stop == int(offsets[-1]):
                    total += partial
                    partial = None
                i = stop
        state = np.concatenate([total, partial if partial is not None else np.full(d, np.nan), [partial is not None]])
        state = comm.broadcast(state, src=r)
        total, partial = state[:d].copy(), (state[d:2 * d].copy() if state[-1] else None)
    return total / offsets[-1]


class _Pieces:
    """Per-row neighbour lists of the local rows, collected block by block in ascending column order."""

    def __init__(self, n_local: int) -> None:
        self.n_local = n_local
        self.parts: List[tuple] = []  # (column-block offset, counts per row, columns, distances)

    def add(self, col_offset: int, counts: np.ndarray, cols: np.ndarray, dist: np.ndarray) -> None:
        self.parts.append((col_offset, counts, cols, dist))

    def csr(self):
        self.parts.sort(key=lambda p: p[0])
        total = np.zeros(self.n_local, dtype=np.int64)
        for _, counts, _, _ in self.parts:
            total += counts
        indptr = np.zeros(self.n_local + 1, dtype=np.int64)
        np.cumsum(total, out=indptr[1:])
        indices = np.empty(int(indptr[-1]), dtype=np.int32)
        dist = np.empty(int(indptr[-1]), dtype=np.float32)
        cursor = indptr[:-1].copy()
        for _, counts, cols, dists in self.parts:
            if cols.size == 0:
                continue
            rows = np.repeat(np.arange(self.n_local), counts)
            first = np.zeros(self.n_local + 1, dtype=np.int64)
            np.cumsum(counts, out=first[1:])
            at = cursor[rows] + (np.arange(cols.size) - first[rows])
            indices[at] = cols
            dist[at] = dists
            cursor += counts
        return indptr, indices, dist


def _scan(builder, rows: np.ndarray, row_stop: int, col_start: int, col_stop: int, tile_rows: int, tile_cols: int,
          upper: bool, buffer: np.ndarray, check) -> None:
    """Feed the builder the tiles of rows [0, row_stop) x columns [col_start, col_stop) (``upper``: only
    the tiles on or above the diagonal of a square block)."""
    for r0 in range(0, row_stop, tile_rows):
        first_col = r0 if upper else col_start
        for c0 in range(first_col, col_stop, tile_cols):
            a = rows[r0:min(r0 + tile_rows, row_stop)]
            b = rows[c0:min(c0 + tile_cols, col_stop)]
            dots = buffer[:a.shape[0] * b.shape[0]].reshape(a.shape[0], b.shape[0])
            dot_tile(a, b, out=dots)
            check(builder.add_tile(dots, r0, c0))


def sharded_radius_graph(X_local: Any, delta: float, comm: Comm, *, metric: str = "cosine",
                         max_edges: Optional[int] = None, tile_rows: Optional[int] = None,
                         progress: bool = False) -> ShardedGraph:
    """The radius graph of all ranks' rows, sharded: this rank gets the out-edges of its rows ``X_local``.

    Every rank calls it with its own contiguous block of rows, in rank order (rank 0 holds rows 0..n0-1,
    rank 1 the next ones, ...; :func:`nas.distributed.shard_range` gives the usual split). Edges, their
    order and their distances equal those of ``nas_ext.radius_graph(X_all, delta, metric=metric)`` on the
    concatenated rows (euclidean: for a C-ordered ``X_all``, see the module notes).

    Parameters
    ----------
    X_local : array (n_local, n_features), float, finite; n_local >= 1 on every rank.
    delta, metric, tile_rows, progress : as in :func:`nas_ext.radius_graph`.
    comm : the :class:`Comm` of the process group.
    max_edges : cap on this rank's directed edges (default: half of this host's available memory / 14 B).

    Cost per rank: (n_local · n - n_local² / 2) · 2d GEMM flops (about 2 / world of a one-process build:
    the pairs between two ranks are scanned by both, which saves sending edges back), (world - 1) ring
    steps of one block each (n_local · d · 4 bytes, overlapped with the scan of the previous block), and
    memory for its own block, two visitors, one tile and 14 B per local edge.
    """
    metric = check_choice(metric, FUNCTION, "metric", ("cosine", "euclidean"))
    delta = check_float(delta, FUNCTION, "delta", low=0.0, high=math.inf, low_open=True, high_open=True)
    if max_edges is not None:
        max_edges = check_int(max_edges, FUNCTION, "max_edges", low=1)
    tile_rows = check_int(tile_rows, FUNCTION, "tile_rows", low=1) if tile_rows is not None else DEFAULT_TILE_ROWS
    tile_cols = max(tile_rows, DEFAULT_TILE_COLS)
    X_local = check_features(X_local, FUNCTION, "X_local", dtype=None)
    n_local, d = X_local.shape
    shapes = comm.all_gather(np.array([n_local, d], dtype=np.int64))
    if (shapes[:, 1] != d).any():
        raise param_error(FUNCTION, "X_local", f"a block with the same number of columns on every rank",
                          f"columns {shapes[:, 1].tolist()} over the ranks", describe=False)
    offsets = np.zeros(comm.world + 1, dtype=np.int64)
    np.cumsum(shapes[:, 0], out=offsets[1:])
    n = int(offsets[-1])
    if n > np.iinfo(np.int32).max:
        raise param_error(FUNCTION, "X_local", "at most 2^31 - 1 rows in all (int32 neighbour indices)", n,
                          describe=False)
    if max_edges is None:
        max_edges = default_max_edges()
    start, stop = int(offsets[comm.rank]), int(offsets[comm.rank + 1])
    t0 = time.perf_counter()
    own, own_sq = _prepare_local(X_local, metric, comm, offsets)
    sizes = np.diff(offsets)
    width = n_local + int(sizes.max())
    # Two work buffers [own rows; visitor rows]: one is scanned while the next visitor arrives in the other.
    buffers = [np.empty((width, d), dtype=np.float32) for _ in range(2 if comm.world > 2 else 1)]
    sq_buffer = None
    if own_sq is not None:  # the visitors' squared norms are recomputed from their rows, as in one process
        sq_buffer = np.empty(width, dtype=np.float32)
        sq_buffer[:n_local] = own_sq
    for b in buffers:
        b[:n_local] = own
    tile = np.empty(min(tile_rows, width) * min(tile_cols, width), dtype=np.float32)
    pieces = _Pieces(n_local)
    edges = [0]

    def checker(base: int, doubled: bool):
        def check(pairs: int) -> None:
            total = edges[0] + base + (2 * pairs if doubled else pairs)
            if total > max_edges:
                raise param_error(FUNCTION, "max_edges", f"at least the number of directed edges of this rank's "
                                  f"rows at delta={delta:g} (already {total:,}); pass a smaller 'delta' or a "
                                  f"larger 'max_edges'", max_edges)
        return check

    from tqdm.auto import tqdm

    with _ieee_fp32_matmul(), tqdm(total=comm.world, desc=FUNCTION, unit="block", disable=not progress) as bar:
        # Own block against itself (tiles on or above the diagonal, as in one process).
        builder = _C.RadiusGraphBuilder(own, own_sq, metric, delta)
        _scan(builder, own, n_local, 0, n_local, tile_rows, tile_cols, True, tile, checker(n_local, True))
        indptr, indices, dist = builder.assemble()
        pieces.add(start, np.diff(indptr), indices.astype(np.int64) + start, dist)
        edges[0] += indices.shape[0]
        bar.update(1)
        # Visiting blocks around the ring: at step t this rank scans block (rank - t) mod world.
        pending = None
        for t in range(1, comm.world):
            buf = buffers[t % len(buffers)]
            src = (comm.rank - t) % comm.world
            k = int(sizes[src])
            if pending is None:
                pending = comm.exchange(own, (comm.rank + 1) % comm.world, buf[n_local:n_local + k],
                                        (comm.rank - 1) % comm.world)
            pending()
            pending = None
            visitor = buf[n_local:n_local + k]
            if t + 1 < comm.world:  # start passing this visitor on while it is scanned
                nxt = buffers[(t + 1) % len(buffers)]
                k_next = int(sizes[(comm.rank - t - 1) % comm.world])
                pending = comm.exchange(visitor, (comm.rank + 1) % comm.world, nxt[n_local:n_local + k_next],
                                        (comm.rank - 1) % comm.world)
            rows = buf[:n_local + k]
            sq = None
            if sq_buffer is not None:
                sq = sq_buffer[:n_local + k]
                wide = visitor.astype(np.float64)
                sq[n_local:] = np.einsum("ij,ij->i", wide, wide)
            builder = _C.RadiusGraphBuilder(rows, sq, metric, delta)
            _scan(builder, rows, n_local, n_local, n_local + k, tile_rows, tile_cols, False, tile,
                  checker(0, False))
            indptr, indices, dist = builder.assemble()
            # Local rows list their self-loop (dropped) and their neighbours in the visitor block.
            counts = np.diff(indptr[:n_local + 1]) - 1
            sub_idx = indices[:int(indptr[n_local])]
            sub_dist = dist[:int(indptr[n_local])]
            foreign = sub_idx >= n_local
            pieces.add(int(offsets[src]), counts, sub_idx[foreign].astype(np.int64) - n_local + int(offsets[src]),
                       sub_dist[foreign])
            edges[0] += int(counts.sum())
            bar.update(1)
    indptr, indices, dist = pieces.csr()
    logger.debug("sharded_radius_graph: rank %d rows [%d, %d) of %d, %d edges in %.2f s", comm.rank, start, stop,
                 n, indices.shape[0], time.perf_counter() - t0)
    return ShardedGraph(n, start, stop, indptr, indices, dist, offsets, metric, float(delta))
