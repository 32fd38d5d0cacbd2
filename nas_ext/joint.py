"""The radius graph and the kNN graph of one pool from a single pass of GEMM tiles.

NPC/ProbCover select on the delta-ball graph while MaxHerding, TypiClust and the diffusion filters use the
kNN graph; built apart, the two cost two dense passes of n^2 d products. Here every full-row tile of
products is read twice while it is in cache: by the radius builder (the pairs above the diagonal, exact
float64 re-check) and by the kNN selection (the k nearest columns of each row, exact re-rank).
"""
from __future__ import annotations

import logging
import math
from typing import Any, NamedTuple, Optional

import numpy as np

from . import _C
from ._gemm import dot_tile
from ._rows import check_finite_rows, working_rows
from .graph import Graph
from .knn import KnnLists, _tile_rows
from .radius import _edge_cap_error, _ieee_fp32_matmul, default_max_edges
from ._validation import check_choice, check_features, check_float, check_int, param_error

__all__ = ["NeighbourGraphs", "neighbour_graphs"]

logger = logging.getLogger(__name__)

FUNCTION = "neighbour_graphs"


class NeighbourGraphs(NamedTuple):
    """The two graphs of :func:`neighbour_graphs`."""

    radius: Graph  #: edge x -> y iff dist(x, y) < delta, self-loops included (as :func:`nas_ext.radius_graph`)
    knn: Graph     #: the k nearest neighbours of each row, no self-loops (as :func:`nas_ext.knn_graph`)


def neighbour_graphs(X: Any, delta: float, k: int, *, metric: str = "cosine", symmetric: bool = True,
                     max_edges: Optional[int] = None, progress: bool = False) -> NeighbourGraphs:
    """Radius graph (``dist < delta``) and k-nearest-neighbour graph of the rows of ``X`` from one GEMM pass.

    Both graphs are computed on the same float32 working rows as :func:`nas_ext.radius_graph` (normalised
    for cosine, centred for euclidean, in float64). The radius graph equals ``radius_graph(X, delta,
    method="dense")`` edge for edge (its exact re-check makes it independent of the tiling); the kNN graph
    is the one :func:`nas_ext.knn_graph` builds, its distances re-ranked exactly on the working rows
    (knn_graph normalises in float32, so a distance may differ from it in the last bit).

    Parameters
    ----------
    X : array-like, shape (n_samples, n_features)
        float32/float64 numpy array (memmaps welcome) or CPU torch tensor; finite, at least 2 rows.
    delta : float in (0, inf)
        Radius of the radius graph.
    k : int in [1, n_samples - 1]
        Neighbours per row of the kNN graph.
    metric : {'cosine', 'euclidean'}
    symmetric : bool
        kNN graph as the symmetric union of the lists (default) or the directed lists.
    max_edges : int, optional
        Cap on the radius graph's directed edges (default :func:`nas_ext.default_max_edges`), checked after
        every tile.
    progress : bool
        A tqdm bar over the row tiles.

    Time: 2 n^2 d flops of GEMM (the kNN lists need every column of every row) plus two O(n^2) scans of
    the products, against 3 n^2 d for :func:`radius_graph` (dense: the upper triangle, n^2 d) and
    :func:`knn_graph` (2 n^2 d) built apart. Memory: the working rows (n d 4 bytes), one tile of products (64 MiB),
    the kNN lists (n k 8 bytes) and the radius graph at 14 bytes per directed edge.

    Examples
    --------
    >>> import numpy as np, nas_ext
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=np.float32)
    >>> graphs = nas_ext.neighbour_graphs(X, 0.05, 1)
    >>> graphs.radius.indices.tolist(), graphs.knn.indices.tolist()
    ([0, 1, 0, 1, 2], [1, 0, 2, 1])
    """
    metric = check_choice(metric, FUNCTION, "metric", ("cosine", "euclidean"))
    delta = check_float(delta, FUNCTION, "delta", low=0.0, high=math.inf, low_open=True, high_open=True)
    for name, value in (("symmetric", symmetric), ("progress", progress)):
        if not isinstance(value, (bool, np.bool_)):
            raise param_error(FUNCTION, name, "a bool", value, exc=TypeError)
    X = check_features(X, FUNCTION, "X", dtype=None, check_finite=False, min_rows=2)
    n = X.shape[0]
    if n > np.iinfo(np.int32).max:
        raise param_error(FUNCTION, "X", "at most 2^31 - 1 rows (int32 neighbour indices)", X)
    k = check_int(k, FUNCTION, "k", low=1, high=n - 1)
    max_edges = default_max_edges() if max_edges is None else check_int(max_edges, FUNCTION, "max_edges", low=1)
    if n > max_edges:
        raise _edge_cap_error(max_edges, delta, n, 0.0, FUNCTION)
    check_finite_rows(X, FUNCTION)

    rows, sq64 = working_rows(X, metric, FUNCTION)
    builder = _C.RadiusGraphBuilder(rows, sq64, metric, delta)
    sq32 = np.empty(0, dtype=np.float32) if sq64 is None else sq64.astype(np.float32)
    lists = KnnLists(n, k, metric)
    step = _tile_rows(n)
    tile = np.empty((step, n), dtype=np.float32)
    from tqdm.auto import tqdm

    with _ieee_fp32_matmul(), tqdm(total=n, desc="neighbour_graphs", unit="row", unit_scale=True,
                                   disable=not progress) as bar:
        for start in range(0, n, step):
            stop = min(n, start + step)
            products = dot_tile(rows[start:stop], rows, out=tile[:stop - start])
            edges = n + 2 * builder.add_tile(products, start, 0)
            if edges > max_edges:
                raise _edge_cap_error(max_edges, delta, edges, stop / n, FUNCTION)
            lists.add_tile(products, rows, sq32, start)
            bar.update(stop - start)
    indptr, indices, edge_dist = builder.assemble()
    del builder
    radius = Graph(indptr, indices, edge_dist, metric=metric, delta=float(delta), symmetric=True,
                   meta={"method": "dense", "joint_with_knn": k})
    knn = lists.graph(bool(symmetric))
    logger.debug("neighbour_graphs: n=%d, delta=%g, k=%d: %d radius edges, %d kNN edges", n, delta, k,
                 radius.nnz, knn.nnz)
    return NeighbourGraphs(radius, knn)
