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

from ._gemm import dot_tile
from ._rows import column_mean, prepare_block, working_rows
from ._streaming import chunk_rows, release_pages

__all__ = ["CellPlan", "plan_cells", "default_n_cells"]

logger = logging.getLogger(__name__)

_U = 2.0 ** -24
_KMEANS_ITERATIONS = 12
_SAMPLE_PER_CELL = 40
_ASSIGN_ROWS = 4096


def default_n_cells(n: int) -> int:
    """About sqrt(n) cells (1000 at 1M rows), between 1 and 4096."""
    return int(min(4096, max(1, round(math.sqrt(n)))))


@dataclass
class CellPlan:
    """Cells of the rows and the cell pairs to compute (upper triangle, lexicographic order)."""

    order: np.ndarray        # (n,) int64: row indices sorted by cell (stable: ascending within a cell)
    starts: np.ndarray       # (k + 1,) int64: cell c holds order[starts[c]:starts[c + 1]]
    pairs: np.ndarray        # (p, 2) int64: cell pairs (a, b), a <= b, sorted
    pair_rows: float         # sum over the pairs of |A| |B| (|A| (|A| + 1) / 2 on the diagonal)
    seconds: float

    @property
    def n_cells(self) -> int:
        return int(self.starts.shape[0] - 1)

    def work_fraction(self, n: int) -> float:
        """Share of the n (n + 1) / 2 row pairs of the dense build that the plan computes."""
        return self.pair_rows / (n * (n + 1) / 2.0)


def _prepared_sample(X: np.ndarray, metric: str, mean, size: int, rng: np.random.Generator) -> np.ndarray:
    rows = np.sort(rng.choice(X.shape[0], size=size, replace=False))
    block, _ = prepare_block(X[rows], metric, mean)
    return block


def _kmeans(sample: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Lloyd's k-means (float32, torch GEMM) on ``sample``: k centroids, empty cells re-seeded from the sample."""
    data = torch.from_numpy(sample)
    centroids = data[torch.from_numpy(rng.choice(sample.shape[0], size=k, replace=False))].clone()
    sq = (data * data).sum(1)
    for _ in range(_KMEANS_ITERATIONS):
        dist = sq[:, None] - 2.0 * data @ centroids.T + (centroids * centroids).sum(1)[None, :]
        assign = dist.argmin(1)
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
    # lower[a, b]: min over the rows x of cell a of (D[x, b] - D[x, a]) / (2 |c_a - c_b|), D the float32
    # squared distances to the centroids; the rounding term 4 eta / (2 |c_a - c_b|) is subtracted at the end.
    lower = np.full((k, k), np.inf, dtype=np.float32)
    max_row_sq = 0.0
    step = min(_ASSIGN_ROWS, chunk_rows(d, X.dtype.itemsize))
    with tqdm(total=n, desc="radius_graph: cells", unit="row", unit_scale=True, disable=not progress) as bar:
        for start in range(0, n, step):
            rows, _ = prepare_block(X[start:start + step], metric, mean)
            r = torch.from_numpy(rows)
            r_sq = (r * r).sum(1)
            dist = r_sq[:, None] + c_sq[None, :] - 2.0 * (r @ c.T)
            a = dist.argmin(1)
            assign[start:start + rows.shape[0]] = a.numpy()
            _lower_bounds(lower, a.numpy(), ((dist - dist.gather(1, a[:, None])) / two_sep[a]).numpy())
            max_row_sq = max(max_row_sq, float(r_sq.max()))
            release_pages(X)
            bar.update(rows.shape[0])
    # eta bounds the float32 error of every distance to a centroid (GEMM and norms, any summation order);
    # a row x of a and a row y of b both carry it: 2 eta from x's two distances, 2 from y's assignment.
    eta = 8.0 * (d + 8) * _U * (max_row_sq + float(c_sq.max())) + 1e-30
    keep = (lower - 4.0 * eta / two_sep.numpy()) < eps
    keep &= keep.T
    np.fill_diagonal(keep, True)
    counts = np.bincount(assign, minlength=k)
    keep &= (counts[:, None] > 0) & (counts[None, :] > 0)
    a_idx, b_idx = np.nonzero(np.triu(keep))
    pairs = np.stack([a_idx, b_idx], axis=1).astype(np.int64)
    sizes = counts.astype(np.float64)
    pair_rows = float(np.where(a_idx == b_idx, sizes[a_idx] * (sizes[a_idx] + 1) / 2, sizes[a_idx] * sizes[b_idx]).sum())
    order = np.argsort(assign, kind="stable")
    starts = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    plan = CellPlan(order=order, starts=starts, pairs=pairs, pair_rows=pair_rows, seconds=time.perf_counter() - t0)
    logger.info("radius_graph: %d cells, %d of %d cell pairs kept, %.2f%% of the row pairs (%.1f s)",
                k, pairs.shape[0], k * (k + 1) // 2, 100 * plan.work_fraction(n), plan.seconds)
    return plan


def _lower_bounds(lower: np.ndarray, cells: np.ndarray, bounds: np.ndarray) -> None:
    """lower[c] = min(lower[c], min of bounds[i] over the rows i with cells[i] == c), for every c present."""
    order = np.argsort(cells, kind="stable")
    sorted_cells = cells[order]
    firsts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
    present = sorted_cells[firsts]
    lower[present] = np.minimum(lower[present], np.minimum.reduceat(bounds[order], firsts, axis=0))


def build_from_plan(builder, rows: np.ndarray, plan: CellPlan, *, tile_rows: int, tile_cols: int, max_edges: int,
                    on_cap, progress: bool) -> None:
    """Feed ``builder`` (over the cell-ordered ``rows``) the tiles of every kept cell pair, in tile order."""
    from tqdm.auto import tqdm

    starts = plan.starts
    n = rows.shape[0]
    buffer = np.empty(tile_rows * tile_cols, dtype=np.float32)
    done, total = 0.0, plan.pair_rows
    released = 0
    with tqdm(total=total, desc="radius_graph: tiles", unit="pair", unit_scale=True, disable=not progress) as bar:
        for a, b in plan.pairs:
            a0, a1, b0, b1 = int(starts[a]), int(starts[a + 1]), int(starts[b]), int(starts[b + 1])
            work = 0.0
            for r0 in range(a0, a1, tile_rows):
                r1 = min(a1, r0 + tile_rows)
                for c0 in range(max(b0, r0) if a == b else b0, b1, tile_cols):
                    c1 = min(b1, c0 + tile_cols)
                    dots = buffer[:(r1 - r0) * (c1 - c0)].reshape(r1 - r0, c1 - c0)
                    dot_tile(rows[r0:r1], rows[c0:c1], out=dots)
                    edges = n + 2 * builder.add_tile(dots, r0, c0)
                    if edges > max_edges:
                        raise on_cap(edges, (done + work) / total)
                released += (r1 - r0) * (b1 - b0)
            work = (a1 - a0) * (a1 - a0 + 1) / 2.0 if a == b else float(a1 - a0) * (b1 - b0)
            done += work
            bar.update(work)
            if released * rows.shape[1] * 4 > (256 << 20):  # streamed working copy: hand back the pages read
                release_pages(rows)
                released = 0
    release_pages(rows)


def unpermute(indptr: np.ndarray, indices: np.ndarray, dist: np.ndarray, order: np.ndarray):
    """CSR of a symmetric graph over rows ``order[p]`` (position p) -> the same graph in the input order.

    Two counting-sort transposes (scipy), which also leave every row sorted: O(E + n) time, two CSR copies.
    """
    import scipy.sparse as sp

    n = indptr.shape[0] - 1
    # rows = positions, columns = input labels; its transpose lists, per input label, the positions
    first = sp.csr_matrix((dist, order[indices], indptr), shape=(n, n)).tocsc()
    # rows = input labels (of the columns above), columns = input labels of the positions
    second = sp.csr_matrix((first.data, order[first.indices], first.indptr), shape=(n, n)).tocsc()
    del first
    return (second.indptr.astype(np.int64, copy=False), second.indices.astype(np.int32, copy=False),
            second.data.astype(np.float32, copy=False))


def cell_working_rows(X: np.ndarray, metric: str, function: str, plan: CellPlan, low_memory: bool, progress: bool):
    """The prepared rows in cell order (see :func:`nas_ext._rows.working_rows`)."""
    from tqdm.auto import tqdm

    with tqdm(total=X.shape[0], desc="radius_graph: rows", unit="row", unit_scale=True,
              disable=not progress) as bar:
        return working_rows(X, metric, function, order=plan.order, low_memory=low_memory, progress=bar)
