"""CSR graphs returned by the graph kernels (radius_graph, knn_graph)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional

import numpy as np

from ._validation import check_float, param_error

__all__ = ["Graph"]


@dataclass(frozen=True)
class Graph:
    """A directed graph in CSR form: row ``i`` lists the out-neighbours of sample ``i``.

    Attributes
    ----------
    indptr : int64 array, shape (n + 1,)
    indices : int32 array, shape (nnz,), sorted ascending within each row
    dist : float32 array, shape (nnz,), the distance of each edge
    metric : 'cosine' or 'euclidean'
    delta : the radius the graph was built at (radius graphs), else None
    k : the neighbour count (kNN graphs), else None
    symmetric : True when edge x->y exists iff y->x exists (then the CSR is also the reverse index)

    A graph built with ``device="cuda"`` holds torch tensors on the GPU instead of numpy arrays (same
    dtypes); :attr:`device` tells which, :meth:`cpu` and :meth:`to` move it.
    """

    indptr: np.ndarray
    indices: np.ndarray
    dist: np.ndarray
    metric: str = "euclidean"
    delta: Optional[float] = None
    k: Optional[int] = None
    symmetric: bool = False
    meta: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n(self) -> int:
        """Number of nodes."""
        return int(self.indptr.shape[0] - 1)

    @property
    def nnz(self) -> int:
        """Number of directed edges (self-loops included)."""
        return int(self.indices.shape[0])

    @property
    def device(self) -> str:
        """'cpu' for numpy arrays, else the torch device of the arrays (e.g. 'cuda:0')."""
        return "cpu" if isinstance(self.indptr, np.ndarray) else str(self.indptr.device)

    def cpu(self) -> "Graph":
        """This graph with numpy arrays (copied from the GPU; ``self`` when already on the CPU)."""
        if isinstance(self.indptr, np.ndarray):
            return self
        return replace(self, indptr=self.indptr.cpu().numpy(), indices=self.indices.cpu().numpy(),
                       dist=self.dist.cpu().numpy())

    def to(self, device: Any) -> "Graph":
        """This graph on ``device`` ('cpu', 'cuda' or 'cuda:N'): numpy arrays on the CPU, torch tensors on a GPU."""
        import torch

        target = torch.device(device)
        if target.type == "cpu":
            return self.cpu()
        return replace(self, indptr=torch.as_tensor(self.indptr).to(target),
                       indices=torch.as_tensor(self.indices).to(target), dist=torch.as_tensor(self.dist).to(target))

    def degrees(self) -> np.ndarray:
        """Out-degree of every node (int64, shape (n,); a tensor for a GPU graph)."""
        return self.indptr[1:] - self.indptr[:-1]

    def rows(self) -> np.ndarray:
        """Source node of every edge (int64, shape (nnz,)) — the COO row array (a tensor for a GPU graph)."""
        if not isinstance(self.indptr, np.ndarray):
            import torch

            return torch.repeat_interleave(torch.arange(self.n, device=self.indptr.device), self.degrees(),
                                           output_size=self.nnz)
        return np.repeat(np.arange(self.n, dtype=np.int64), self.degrees())

    def to_scipy(self):
        """The graph as a ``scipy.sparse.csr_matrix`` holding the distances (explicit zeros kept)."""
        import scipy.sparse as sp

        host = self.cpu()
        return sp.csr_matrix((host.dist, host.indices, host.indptr), shape=(self.n, self.n))

    def restrict(self, delta: float) -> "Graph":
        """The sub-graph of edges with ``dist < delta``, without recomputing any distance.

        ``delta`` must be in (0, self.delta] for a radius graph (any positive value otherwise).
        Cost: O(nnz) time, one new CSR of the kept edges.
        """
        high = self.delta if self.delta is not None else np.inf
        delta = check_float(delta, "Graph.restrict", "delta", low=0.0, high=high, low_open=True)
        if not isinstance(self.dist, np.ndarray):
            import torch

            keep = self.dist < torch.tensor(delta, dtype=self.dist.dtype, device=self.dist.device)
            kept_before = torch.zeros(self.nnz + 1, dtype=torch.int64, device=self.dist.device)
            torch.cumsum(keep, dim=0, out=kept_before[1:])
            return Graph(kept_before[self.indptr], self.indices[keep], self.dist[keep], metric=self.metric,
                         delta=float(delta), k=self.k, symmetric=self.symmetric)
        keep = self.dist < np.float32(delta) if self.dist.dtype == np.float32 else self.dist < delta
        kept_before = np.zeros(self.nnz + 1, dtype=np.int64)
        np.cumsum(keep, out=kept_before[1:])
        indptr = kept_before[self.indptr]
        return Graph(indptr, self.indices[keep], self.dist[keep], metric=self.metric, delta=float(delta),
                     k=self.k, symmetric=self.symmetric)

    @classmethod
    def from_scipy(cls, matrix, *, metric: str = "euclidean", delta: Optional[float] = None,
                   symmetric: bool = False) -> "Graph":
        """Wrap a square scipy sparse matrix (its data are taken as distances); rows are sorted."""
        import scipy.sparse as sp

        if not sp.issparse(matrix) or matrix.shape[0] != matrix.shape[1]:
            raise param_error("Graph.from_scipy", "matrix", "a square scipy sparse matrix", matrix, exc=TypeError)
        csr = sp.csr_matrix(matrix, copy=True)
        csr.sort_indices()
        return cls(csr.indptr.astype(np.int64), csr.indices.astype(np.int32), csr.data.astype(np.float32),
                   metric=metric, delta=delta, symmetric=symmetric)
