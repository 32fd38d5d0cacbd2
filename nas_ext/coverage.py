"""Weighted coverage greedy (SPEC §3.2): the one selection state behind ProbCover, NPC, Weighted NPC and a
sparse MaxHerding, with gains kept up to date incrementally by the compiled kernel."""
from __future__ import annotations

import numbers
from typing import Any, Tuple

import numpy as np

from . import _C
from ._device import resolve_device
from ._validation import check_choice, check_float, check_indices, check_int, check_vector, param_error
from .graph import Graph

__all__ = ["CoverageState", "TIE_TOLERANCE"]

#: Gains within ``TIE_TOLERANCE * max(1, |g|)`` of the best gain are ties (see :class:`CoverageState`).
TIE_TOLERANCE = 1e-9


def _graph_csr(graph: Any, function: str) -> Tuple[np.ndarray, np.ndarray, bool]:
    """CSR offsets (int64), targets (int32) and the symmetry flag of a Graph or a square scipy sparse matrix."""
    symmetric = False
    if isinstance(graph, Graph):
        indptr, indices, n, symmetric = graph.indptr, graph.indices, graph.n, bool(graph.symmetric)
    else:
        import scipy.sparse as sp

        if not sp.issparse(graph) or graph.ndim != 2 or graph.shape[0] != graph.shape[1]:
            raise param_error(function, "graph", "a nas_ext.graph.Graph or a square scipy sparse matrix", graph,
                              exc=TypeError)
        csr = graph.tocsr()
        indptr, indices, n = csr.indptr, csr.indices, csr.shape[0]
    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    if indptr.ndim != 1 or indptr.shape[0] != n + 1:
        raise param_error(function, "graph", f"CSR offsets of length n + 1 = {n + 1}", indptr)
    return indptr, indices, symmetric


def _tie_rng(seed: Any, function: str) -> np.random.Generator:
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise param_error(function, "seed", "None, an int >= 0 or a numpy Generator", seed, exc=TypeError)
    return np.random.default_rng(check_int(seed, function, "seed", low=0))


class CoverageState:
    """Greedy weighted-coverage state over a directed graph, with incremental gains.

    Every edge x→y carries a weight ``w(x, y) >= 0`` (1 by default); every node y has a coverage level
    ``c(y)`` (starts at 0) and a multiplier ``m(y)`` (starts at 1). The gain of a node is::

        gain(x) = sum over out-edges x→y of  m(y) * max(0, w(x, y) - c(y))      (0 for a blocked x)

    - ProbCover: ``w = 1``; :meth:`pick` covers the pick's ball, so edges into covered nodes stop counting.
    - NPC: :meth:`cover` the predicted-clean labeled samples, :meth:`block` the predicted-noisy ones.
    - Weighted NPC: :meth:`discount` the balls of the noisy samples by ``1 - q̂`` (``per_source=True`` for the
      ``(1 - q̂)^k`` "factor" variant).
    - Sparse MaxHerding: ``weights`` = kernel values on the radius graph, ``c(y)`` = best kernel value so far.

    Parameters
    ----------
    graph : nas_ext.graph.Graph or square scipy sparse matrix
        The edges; for a scipy matrix, every stored entry of ``graph.tocsr()`` (explicit zeros included) is
        an edge, its value is ignored. Self-loops are ordinary edges (radius graphs have them). A Graph marked
        ``symmetric`` (radius and symmetric kNN graphs) serves as its own transpose when the weights are 1.
    weights : array of shape (nnz,), optional
        Per-edge weights in the CSR order of the graph; finite and >= 0. Default: all 1.
    device : 'cpu' or 'cuda' ('cuda:N')
        On the GPU (a CUDA build and a visible GPU, else RuntimeError) the state lives in torch tensors
        (csrc/cuda/coverage.cu): gains are updated with atomics over the in-edges of the nodes whose level or
        multiplier changes, and each pick is a parallel argmax with the same tie rule, so the picks are the
        CPU's; :meth:`pick`, :meth:`gains` and the other arrays come back as torch tensors on the GPU.

    Notes
    -----
    Cost: building the state copies the CSR and builds its transpose, O(N + E) time, 24 bytes per edge with
    weights, 8 without (4 for a symmetric Graph); :meth:`copy` shares that immutable graph and costs O(N).
    Every rise of ``c(y)`` or fall of ``m(y)`` updates the gains of the in-neighbours of ``y`` by the exact
    difference, O(in-degree of y); with unit weights a node is covered at most once, so a whole selection
    costs O(E) gain updates. A :meth:`cover` of many sources with unit weights and no discount recounts
    every gain in one parallel O(E) pass instead when more than E/2 updates would be needed (same exact
    integer gains). The argmax is a lazy max structure (buckets of equal gains, stale entries refreshed
    when they surface): O(N) to build — once per state for lowest-index ties (gains only fall, so it stays
    valid across calls), at each :meth:`pick` call for random ties — plus O(log N) per refresh, never an
    O(N) scan per pick.

    Ties: gains ``>= g* - TIE_TOLERANCE * max(1, |g*|)`` (``g*`` the best gain) all count as maximal, so sums
    kept incrementally and the same sums recomputed from scratch pick the same node despite rounding. With unit
    weights and no discount the gains are exact integers. Among the maximal nodes, ``tie_break="lowest"``
    picks the lowest index; ``"random"`` picks the one ranked first in a permutation drawn from ``seed`` at the
    start of each :meth:`pick` call. The first pick of a call is uniform among its maximal nodes; later picks
    of the same call reuse the permutation, so a node that lost a tie keeps ranking behind the winner and is
    not exactly uniform in the next tie (call ``pick(1)`` with a fresh seed per pick for independent uniform
    tie-breaks, as the reference's ``np.random.choice``). Nodes with gain 0 stay pickable, so an exhausted
    graph keeps yielding picks.

    Examples
    --------
    Two clusters {0, 1, 2} and {3, 4} and an outlier 5 (self-loops included):

    >>> import numpy as np, scipy.sparse as sp
    >>> from nas_ext import CoverageState
    >>> A = sp.block_diag([sp.csr_matrix(np.ones((k, k))) for k in (3, 2, 1)], format="csr")
    >>> state = CoverageState(A)
    >>> state.gains()
    array([3., 3., 3., 2., 2., 1.])
    >>> picks, gains = state.pick(3)
    >>> picks.tolist(), gains.tolist()
    ([0, 3, 5], [3.0, 2.0, 1.0])
    >>> state.n_candidates
    3
    """

    def __init__(self, graph: Any, *, weights: Any = None, device: Any = "cpu") -> None:
        fn = "CoverageState"
        if resolve_device(device, fn) == "cuda":
            from ._cuda_coverage import CoverageBackend

            self._state = CoverageBackend(graph, weights, device)
            return
        indptr, indices, symmetric = _graph_csr(graph.cpu() if isinstance(graph, Graph) else graph, fn)
        w = None
        if weights is not None:
            w = check_vector(weights, indices.shape[0], fn, "weights", nonnegative=True)
        self._state = _C.CoverageState(indptr, indices, w, symmetric)

    @property
    def n(self) -> int:
        """Number of nodes."""
        return int(self._state.n)

    @property
    def nnz(self) -> int:
        """Number of edges."""
        return int(self._state.nnz)

    @property
    def n_candidates(self) -> int:
        """Nodes that can still be picked (neither blocked, excluded nor picked)."""
        return int(self._state.n_candidates)

    def _nodes(self, nodes: Any, function: str, argument: str) -> np.ndarray:
        if getattr(nodes, "is_cuda", False):
            nodes = nodes.cpu()  # node lists are small: checked on the host whatever the device
        return check_indices(nodes, self.n, f"CoverageState.{function}", argument, allow_duplicates=True)

    def cover(self, sources: Any) -> None:
        """Raise ``c(y)`` to ``w(s, y)`` for every out-edge s→y of every source (any nodes; repeats are harmless).

        Cost: O(sum of in-degrees of the nodes whose level rises).
        """
        self._state.cover(self._nodes(sources, "cover", "sources"))

    def discount(self, sources: Any, factor: float, *, per_source: bool = False) -> None:
        """Multiply ``m(y)`` by ``factor`` (in [0, 1]) for the nodes y in the balls of ``sources``.

        Once per node of the union of the balls, or with ``per_source=True`` once per distinct source whose
        ball holds y (``factor ** k``). Weighted NPC: ``discount(noisy, 1 - q̂)``.
        """
        fn = "CoverageState.discount"
        sources = np.unique(self._nodes(sources, "discount", "sources"))
        factor = check_float(factor, fn, "factor", low=0.0, high=1.0)
        if not isinstance(per_source, (bool, np.bool_)):
            raise param_error(fn, "per_source", "a bool", per_source, exc=TypeError)
        self._state.discount(sources, factor, bool(per_source))

    def block(self, nodes: Any) -> None:
        """Zero the gains of ``nodes`` for good and never pick them; their balls are not covered."""
        self._state.block(self._nodes(nodes, "block", "nodes"))

    def exclude(self, nodes: Any) -> None:
        """Never pick ``nodes``; their out-edges keep counting (for labeled samples covered elsewhere)."""
        self._state.exclude(self._nodes(nodes, "exclude", "nodes"))

    def pick(self, k: int, *, tie_break: str = "lowest", seed: Any = None) -> Tuple[np.ndarray, np.ndarray]:
        """Make ``k`` greedy picks; each is covered (``cover([pick])``) and excluded before the next.

        Parameters
        ----------
        k : int in [0, n_candidates]
            More than :attr:`n_candidates` raises ``ValueError`` before anything is picked.
        tie_break : 'lowest' or 'random'
            Lowest index among the maximal gains, or the first of a random permutation (see the class notes).
        seed : None, int >= 0 or numpy Generator
            The permutation of ``tie_break="random"``; ``None`` draws fresh OS entropy. Ignored with 'lowest'.

        Returns
        -------
        picks : int64 array (k,), in pick order
        gains : float64 array (k,), each pick's gain when it was picked (non-increasing up to the tie tolerance)
        """
        fn = "CoverageState.pick"
        tie_break = check_choice(tie_break, fn, "tie_break", ("lowest", "random"))
        k = check_int(k, fn, "k", low=0)
        available = self.n_candidates
        if k > available:
            raise param_error(fn, "k", f"an int in [0, {available}] (the nodes that can still be picked)", k)
        keys = None
        if tie_break == "random":
            keys = _tie_rng(seed, fn).permutation(self.n).astype(np.int64)
        elif seed is not None:
            _tie_rng(seed, fn)
        picks, gains = self._state.pick(k, keys)
        return picks, gains

    def peek(self) -> Tuple[int, float]:
        """The node ``pick(1)`` (lowest-index ties) would return and its gain, changing nothing.

        At least one node must be pickable (else ValueError). Cost: O(log N) per stale entry it refreshes —
        the max structure of the lowest-index picks is kept across calls — plus O(N) to build it on first
        use; on the GPU, one O(N) masked argmax.

        >>> import numpy as np, scipy.sparse as sp
        >>> state = CoverageState(sp.block_diag([sp.csr_matrix(np.ones((k, k))) for k in (3, 2)], format="csr"))
        >>> state.peek(), state.n_candidates
        ((0, 3.0), 5)
        """
        if self.n_candidates == 0:
            raise param_error("CoverageState.peek", "state", "a state with a node that can still be picked",
                              "none left", describe=False)
        node, gain = self._state.peek()
        return int(node), float(gain)

    def copy(self) -> "CoverageState":
        """An independent state in the same condition (coverage, multipliers, blocked and pickable nodes).

        The graph is immutable and shared with the copy, so this costs O(N) time and memory, not O(E):
        keep a pristine state and copy it to start over (NAS does, once per share) instead of rebuilding.

        >>> import numpy as np, scipy.sparse as sp
        >>> pristine = CoverageState(sp.block_diag([sp.csr_matrix(np.ones((k, k))) for k in (3, 2)], format="csr"))
        >>> working = pristine.copy()
        >>> working.pick(2)[0].tolist(), working.n_candidates, pristine.n_candidates
        ([0, 3], 3, 5)
        """
        clone = object.__new__(CoverageState)
        clone._state = self._state.copy()
        return clone

    def gains(self) -> np.ndarray:
        """Current gain of every node (float64, shape (n,)); 0 for blocked nodes."""
        return self._state.gains()

    def coverage(self) -> np.ndarray:
        """Current coverage level ``c`` of every node (float64, shape (n,))."""
        return self._state.coverage()

    def multipliers(self) -> np.ndarray:
        """Current multiplier ``m`` of every node (float64, shape (n,))."""
        return self._state.multipliers()

    def candidates(self) -> np.ndarray:
        """Boolean mask of the nodes that can still be picked (shape (n,))."""
        mask = self._state.pickable()
        return mask.astype(bool) if isinstance(mask, np.ndarray) else mask.bool()

    def __repr__(self) -> str:
        return f"CoverageState(n={self.n}, nnz={self.nnz}, n_candidates={self.n_candidates})"
