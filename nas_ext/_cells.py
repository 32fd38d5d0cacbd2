"""Exact radius graphs of large pools: the distance tiles of cell pairs that can hold an edge, and no others.

The rows are split into Voronoi cells of k-means centroids (fitted on a sample). A row x of cell A can
only have a neighbour y in cell B if x lies within epsilon of B's Voronoi half-space: the distance from x
to the bisector of c_A and c_B, (|x - c_B|^2 - |x - c_A|^2) / (2 |c_A - c_B|), is a lower bound of
|x - y| for every y in B. A cell pair (A, B) is computed when some row of A passes that test for B *and*
some row of B passes it for A; every other pair provably has no edge (the test is widened by the
float32 rounding bounds of the distances to the centroids). On clustered embeddings only a small share
of the n^2/2 row pairs is computed; the edge set, the distances and the CSR are those of the dense build.

Cosine distances are compared through |x - y|^2 = 2 (1 - <x, y>) on the unit rows (all-zero rows only
make the bound looser), euclidean ones directly. Cost: one pass over X to assign the cells (n k d flops,
k = the number of cells), then GEMM tiles over the kept cell pairs, the same fused threshold and exact
re-check as the dense kernel, and two O(E) transposes to bring the CSR back to the input order.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from . import _C
from ._gemm import dot_tile
from ._rows import column_mean, prepare_block, working_rows
from ._streaming import PageWindow, chunk_rows, take_rows

__all__ = ["CellPlan", "plan_cells", "default_n_cells"]

logger = logging.getLogger(__name__)

_U = 2.0 ** -24
_KMEANS_ITERATIONS = 12
_SAMPLE_PER_CELL = 40
_ASSIGN_ROWS = 4096
_MAX_NEEDS_PER_ROW = 32  # per-row neighbour-cell lists up to this many entries per row (8 bytes each)
_GROUP_CHUNK = 1 << 20  # need keys grouped per chunk (bounded temporaries)


def default_n_cells(n: int) -> int:
    """About sqrt(n) cells (1000 at 1M rows), between 1 and 4096."""
    return int(min(4096, max(1, round(math.sqrt(n)))))


@dataclass
class CellPlan:
    """Cells of the rows and the cell pairs to compute (upper triangle, lexicographic order)."""

    order: np.ndarray        # (n,) int64: row indices sorted by cell (stable: ascending within a cell)
    starts: np.ndarray       # (k + 1,) int64: cell c holds order[starts[c]:starts[c + 1]]
    pairs: np.ndarray        # (p, 2) int64: cell pairs (a, b), a <= b, sorted
    pair_rows: float         # row pairs the tiles cover (|A| (|A| + 1) / 2 on the diagonal, |S| |T| off it)
    seconds: float
    groups: Optional["NeedGroups"] = None  # per-row needs; None: whole cells off the diagonal

    @property
    def n_cells(self) -> int:
        return int(self.starts.shape[0] - 1)

    def work_fraction(self, n: int) -> float:
        """Share of the n (n + 1) / 2 row pairs of the dense build that the plan computes."""
        return self.pair_rows / (n * (n + 1) / 2.0)


def _prepared_sample(X: np.ndarray, metric: str, mean, size: int, rng: np.random.Generator) -> np.ndarray:
    rows = np.sort(rng.choice(X.shape[0], size=size, replace=False))
    block, _ = prepare_block(take_rows(X, rows), metric, mean)
    return block


def _kmeans(sample: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Lloyd's k-means (float32, torch GEMM) on ``sample``: k centroids, empty cells re-seeded from the sample."""
    data = torch.from_numpy(sample)
    centroids = data[torch.from_numpy(rng.choice(sample.shape[0], size=k, replace=False))].clone()
    for _ in range(_KMEANS_ITERATIONS):
        c_sq = (centroids * centroids).sum(1)[None, :]
        assign = torch.cat([(c_sq - 2.0 * data[i:i + _ASSIGN_ROWS] @ centroids.T).argmin(1)
                            for i in range(0, data.shape[0], _ASSIGN_ROWS)])  # row chunks: bounded memory
        counts = torch.bincount(assign, minlength=k).to(torch.float32)
        sums = torch.zeros_like(centroids).index_add_(0, assign, data)
        empty = counts == 0
        centroids = sums / counts.clamp(min=1.0)[:, None]
        if bool(empty.any()):
            refill = torch.from_numpy(rng.choice(sample.shape[0], size=int(empty.sum()), replace=False))
            centroids[empty] = data[refill]
    return centroids.contiguous().numpy()


def plan_cells(X: np.ndarray, metric: str, delta: float, *, n_cells: Optional[int] = None, seed: int = 0,
               progress: bool = False) -> CellPlan:
    """Assign every row of ``X`` to a cell and keep the cell pairs that can hold an edge at ``delta``.

    X is read in row chunks (memmaps welcome, pages released). Cost: n k d flops of GEMM and O(n k) for
    the bounds, k = ``n_cells`` (default :func:`default_n_cells`); memory O(k^2 + chunk x k).
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    n, d = X.shape
    k = min(n, n_cells or default_n_cells(n))
    rng = np.random.default_rng(seed)
    mean = column_mean(X) if metric == "euclidean" else None
    centroids = _kmeans(_prepared_sample(X, metric, mean, min(n, max(k, _SAMPLE_PER_CELL * k)), rng), k, rng)
    c = torch.from_numpy(centroids)
    c64 = centroids.astype(np.float64)
    c_sq = torch.from_numpy((c64 * c64).sum(1).astype(np.float32))
    from scipy.spatial.distance import cdist

    # Twice the centroid separations, shrunk by a relative 1e-6 (the bounds only get smaller); 0 -> tiny.
    two_sep = torch.from_numpy((2.0 * cdist(c64, c64) * (1.0 - 1e-6)).astype(np.float32)).clamp(min=1e-30)
    delta_f = float(np.float32(delta))
    eps = math.sqrt(2.0 * delta_f + 4e-6) * (1.0 + 1e-6) if metric == "cosine" else delta_f * (1.0 + 1e-6)

    assign = np.empty(n, dtype=np.int64)
    # eta bounds the float32 error of every squared distance to a centroid (GEMM and norms, any summation
    # order); a row x of a and a row y of b both carry it: 2 eta from x's two distances, 2 from y's
    # assignment. It needs the largest row norm up front: unit rows for cosine, one pass for euclidean.
    max_row_sq = 1.0 + 1e-5 if metric == "cosine" else _max_sq_norm(X, metric, mean)
    eta = 8.0 * (d + 8) * _U * (max_row_sq + float(c_sq.max())) + 1e-30
    # lower[a, b]: min over the rows x of cell a of the bound (D[x, b] - D[x, a] - 4 eta) / (2 |c_a - c_b|),
    # D the float32 squared distances to the centroids. A row "needs" cell b when its bound is below eps.
    lower = np.full((k, k), np.inf, dtype=np.float32)
    # Per-row needs as one int64 key each, (a k + b) n + row, in a buffer sized for the cap: only the pages
    # written become resident, so the needs cost 8 bytes each while planning (4 once grouped).
    max_needs = _MAX_NEEDS_PER_ROW * n
    need_keys, n_needs = np.empty(max_needs, dtype=np.int64), 0
    step = min(_ASSIGN_ROWS, chunk_rows(d, X.dtype.itemsize))
    window = PageWindow(X)
    with tqdm(total=n, desc="radius_graph: cells", unit="row", unit_scale=True, disable=not progress) as bar:
        for start in range(0, n, step):
            rows, _ = prepare_block(X[start:start + step], metric, mean)
            r = torch.from_numpy(rows)
            dist = (r * r).sum(1)[:, None] + c_sq[None, :] - 2.0 * (r @ c.T)
            a = dist.argmin(1)
            bound = (dist - dist.gather(1, a[:, None]) - 4.0 * eta) / two_sep[a]
            bound.scatter_(1, a[:, None], -math.inf)  # a row always needs its own cell
            a_np, bound_np = a.numpy(), bound.numpy()
            assign[start:start + rows.shape[0]] = a_np
            _lower_bounds(lower, a_np, bound_np)
            if need_keys is not None:
                local, cell = np.nonzero(bound_np < eps)
                other = cell != a_np[local]
                local, cell = local[other], cell[other]
                if n_needs + local.size > max_needs:  # too little structure for per-row lists: whole cells only
                    need_keys = None
                else:
                    group = a_np[local].astype(np.int64) * k + cell
                    need_keys[n_needs:n_needs + local.size] = group * n + (local + start)
                    n_needs += local.size
            window.check()
            bar.update(rows.shape[0])
    window.release()
    keep = lower < eps
    keep &= keep.T
    np.fill_diagonal(keep, True)
    counts = np.bincount(assign, minlength=k)
    keep &= (counts[:, None] > 0) & (counts[None, :] > 0)
    a_idx, b_idx = np.nonzero(np.triu(keep))
    pairs = np.stack([a_idx, b_idx], axis=1).astype(np.int64)
    order = np.argsort(assign, kind="stable")
    starts = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    groups = None
    if need_keys is not None:
        groups = _need_groups(need_keys[:n_needs], order, n, k)
        del need_keys
    plan = CellPlan(order=order, starts=starts, pairs=pairs, pair_rows=0.0, seconds=0.0, groups=groups)
    plan.pair_rows = merged_pair_rows(plan)
    plan.seconds = time.perf_counter() - t0
    logger.info("radius_graph: %d cells, %d of %d cell pairs kept (%s), %.2f%% of the row pairs (%.1f s)",
                k, pairs.shape[0], k * (k + 1) // 2, "per-row lists" if groups is not None else "whole cells",
                100 * plan.work_fraction(n), plan.seconds)
    return plan


def _max_sq_norm(X: np.ndarray, metric: str, mean) -> float:
    """Largest squared norm of the prepared rows (one streamed pass)."""
    best, step, window = 0.0, chunk_rows(X.shape[1], X.dtype.itemsize), PageWindow(X)
    for start in range(0, X.shape[0], step):
        _, sq = prepare_block(X[start:start + step], metric, mean)
        best = max(best, float(sq.max()))
        window.check()
    window.release()
    return best * (1.0 + 1e-6)


@dataclass
class NeedGroups:
    """Cell-ordered positions of the rows of cell a that need cell b, grouped by (a, b)."""

    keys: np.ndarray       # (g,) int64 group keys a * k + b, ascending
    bounds: np.ndarray     # (g + 1,) int64: group i holds positions[bounds[i]:bounds[i + 1]]
    positions: np.ndarray  # int32 positions in the cell order, ascending within a group
    k: int

    def members(self, a: int, b: int) -> Optional[np.ndarray]:
        at = int(np.searchsorted(self.keys, a * self.k + b))
        if at == self.keys.shape[0] or self.keys[at] != a * self.k + b:
            return None
        return self.positions[self.bounds[at]:self.bounds[at + 1]]


def _need_groups(keys: np.ndarray, order: np.ndarray, n: int, k: int) -> NeedGroups:
    """Group the need keys (a k + b) n + row, sorted in place: rows ascend within a group, and so do their
    cell-order positions (the order is a stable sort by cell). Temporaries: chunks of ``_GROUP_CHUNK``."""
    keys.sort()
    position = np.empty(n, dtype=np.int32)
    position[order] = np.arange(n, dtype=np.int32)
    positions = np.empty(keys.shape[0], dtype=np.int32)
    group_keys, firsts, last = [], [], -1
    for start in range(0, keys.shape[0], _GROUP_CHUNK):
        part = keys[start:start + _GROUP_CHUNK]
        group = part // n
        positions[start:start + part.shape[0]] = position[part - group * n]
        new = np.flatnonzero(np.r_[group[0] != last, group[1:] != group[:-1]])
        group_keys.append(group[new])
        firsts.append(new + start)
        last = int(group[-1])
    group_keys = np.concatenate(group_keys) if group_keys else np.zeros(0, dtype=np.int64)
    firsts = np.concatenate(firsts) if firsts else np.zeros(0, dtype=np.int64)
    return NeedGroups(keys=group_keys, bounds=np.r_[firsts, keys.shape[0]].astype(np.int64), positions=positions,
                      k=k)


def _lower_bounds(lower: np.ndarray, cells: np.ndarray, bounds: np.ndarray) -> None:
    """lower[c] = min(lower[c], min of bounds[i] over the rows i with cells[i] == c), for every c present."""
    order = np.argsort(cells, kind="stable")
    sorted_cells = cells[order]
    firsts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
    present = sorted_cells[firsts]
    lower[present] = np.minimum(lower[present], np.minimum.reduceat(bounds[order], firsts, axis=0))


def build_from_plan(builder, rows: np.ndarray, plan: CellPlan, *, tile_rows: int, tile_cols: int, max_edges: int,
                    on_cap, progress: bool) -> None:
    """Feed ``builder`` (over the cell-ordered ``rows``) the tiles of every kept cell pair.

    Diagonal pairs: the contiguous tiles of the cell on or above the diagonal, on one column grid per cell.
    Off-diagonal pairs (a, b): the rows of a that need b against the rows of b that need a (gathered), or
    the whole cells without per-row lists. Every chunk of cell a carries a's start as its order key, so
    the builder's (key, first column) order keeps each CSR row sorted.
    """
    from tqdm.auto import tqdm

    starts, groups = plan.starts, plan.groups
    n = rows.shape[0]
    buffer = np.empty(tile_rows * tile_cols, dtype=np.float32)
    done, total = 0.0, max(plan.pair_rows, 1.0)
    window = PageWindow(rows)  # streamed working copy: its resident pages stay within the window

    def scan(r_ids, c_ids, key, r0=None, c0=None):
        left = rows[r0:r0 + len(r_ids)] if r0 is not None else take_rows(rows, r_ids, window)
        right = rows[c0:c0 + len(c_ids)] if c0 is not None else take_rows(rows, c_ids, window)
        dots = buffer[:left.shape[0] * right.shape[0]].reshape(left.shape[0], right.shape[0])
        dot_tile(left, right, out=dots)
        if r0 is not None and c0 is not None:
            pairs = builder.add_tile(dots, r0, c0, key)
        else:
            pairs = builder.add_tile_indexed(dots, np.ascontiguousarray(r_ids, dtype=np.int64),
                                             np.ascontiguousarray(c_ids, dtype=np.int64), key)
        if n + 2 * pairs > max_edges:
            raise on_cap(n + 2 * pairs, done / total)
        window.check()

    with tqdm(total=total, desc="radius_graph: tiles", unit="pair", unit_scale=True, disable=not progress) as bar:
        for a, partners in _pairs_by_row_cell(plan.pairs):
            a0, a1 = int(starts[a]), int(starts[a + 1])
            work = (a1 - a0) * (a1 - a0 + 1) / 2.0
            for r0 in range(a0, a1, tile_rows):
                r1 = min(a1, r0 + tile_rows)
                for c0 in range(a0, a1, tile_cols):
                    c1 = min(a1, c0 + tile_cols)
                    if c1 > r0 + 1:
                        scan(range(r0, r1), range(c0, c1), a0, r0, c0)
            left, right = _off_diagonal(plan, a, partners)
            if left is not None:
                # One indexed tile per row cell: the rows of a that need any partner against the partners'
                # rows that need a (a few pairs are computed twice over, the calls are far fewer).
                work += float(left.shape[0]) * right.shape[0]
                for i in range(0, left.shape[0], tile_rows):
                    r_ids = left[i:i + tile_rows]
                    for j in range(0, right.shape[0], tile_cols):
                        c_ids = right[j:j + tile_cols]
                        scan(r_ids, c_ids, a0)
            done += work
            bar.update(work)
    window.release()


def _pairs_by_row_cell(pairs: np.ndarray):
    """(a, partners b > a) for every row cell a of the kept pairs, a ascending."""
    firsts = np.flatnonzero(np.r_[True, pairs[1:, 0] != pairs[:-1, 0]])
    for lo, hi in zip(firsts, np.r_[firsts[1:], pairs.shape[0]]):
        partners = pairs[lo:hi, 1]
        yield int(pairs[lo, 0]), partners[partners != pairs[lo, 0]]


def _off_diagonal(plan: CellPlan, a: int, partners: np.ndarray):
    """Rows of cell a and columns (cells > a) of its merged off-diagonal tile, or (None, None)."""
    starts, groups = plan.starts, plan.groups
    if partners.size == 0:
        return None, None
    if groups is None:  # whole cells: contiguous rows, the partners' rows in order
        left = np.arange(starts[a], starts[a + 1], dtype=np.int64)
        right = np.concatenate([np.arange(starts[b], starts[b + 1], dtype=np.int64) for b in partners])
        return left, right
    lefts, rights = [], []
    for b in partners:
        s, t = groups.members(a, int(b)), groups.members(int(b), a)
        if s is not None and t is not None:
            lefts.append(s)
            rights.append(t)
    if not lefts:
        return None, None
    return np.unique(np.concatenate(lefts)), np.concatenate(rights)


def merged_pair_rows(plan: CellPlan) -> float:
    """Row pairs covered by the tiles :func:`build_from_plan` computes for ``plan``."""
    sizes = np.diff(plan.starts).astype(np.float64)
    total = float((sizes * (sizes + 1) / 2).sum())
    for a, partners in _pairs_by_row_cell(plan.pairs):
        left, right = _off_diagonal(plan, a, partners)
        if left is not None:
            total += float(left.shape[0]) * right.shape[0]
    return total


def unpermute(indptr: np.ndarray, indices: np.ndarray, dist: np.ndarray, order: np.ndarray):
    """CSR over rows ``order[p]`` (position p) -> the same graph in the input order, rows sorted.

    ``_C.relabel_csr``: two stable counting sorts, O(E + n) time, ``indices``/``dist`` rewritten in place
    with one scratch copy of the edges (8 bytes each).
    """
    return _C.relabel_csr(indptr, indices, dist, np.ascontiguousarray(order, dtype=np.int64)), indices, dist


def cell_working_rows(X: np.ndarray, metric: str, function: str, plan: CellPlan, low_memory: bool, progress: bool):
    """The prepared rows in cell order (see :func:`nas_ext._rows.working_rows`)."""
    from tqdm.auto import tqdm

    with tqdm(total=X.shape[0], desc="radius_graph: rows", unit="row", unit_scale=True,
              disable=not progress) as bar:
        return working_rows(X, metric, function, order=plan.order, low_memory=low_memory, progress=bar)
