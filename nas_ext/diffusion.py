"""Sparse Laplacian diffusion (seed 003, entropy propagation): Gaussian edge weights and explicit Euler steps
of v <- v - step·(I - D⁻¹A)v on a CSR graph, all steps in one C++/OpenMP call."""
from __future__ import annotations

import logging
import warnings

import numpy as np

from . import _C
from ._device import resolve_device
from ._validation import check_float, check_indices, check_int, param_error, to_numpy
from .graph import Graph

__all__ = ["gaussian_weights", "diffuse"]

logger = logging.getLogger(__name__)


def _check_graph(graph, function: str) -> Graph:
    if not isinstance(graph, Graph):
        raise param_error(function, "graph", "a nas_ext.Graph (wrap a scipy matrix with Graph.from_scipy)", graph,
                          exc=TypeError)
    return graph


def _default_scale(graph: Graph) -> float:
    """Mean pairwise distance: exact from knn_graph's metadata, else the mean off-diagonal edge distance."""
    mean = graph.meta.get("mean_pairwise_distance")
    if mean is not None:
        return float(mean)
    off_diagonal = graph.indices != graph.rows()
    logger.info("gaussian_weights: the graph carries no mean pairwise distance (not built by knn_graph); "
                "sigma defaults to the squared mean distance of its %d edges instead.", int(off_diagonal.sum()))
    return float(graph.dist[off_diagonal].astype(np.float64).mean()) if off_diagonal.any() else 0.0


def gaussian_weights(graph, sigma=None) -> np.ndarray:
    """Per-edge Gaussian kernel weights ``exp(-dist² / sigma)`` of a graph (seed 003, Eq. 7).

    Parameters
    ----------
    graph : Graph; its ``dist`` is the distance of each edge in the graph's metric.
    sigma : float in (0, inf), or None for the paper's default, the squared mean pairwise distance.
        For a graph built by ``knn_graph`` that mean is exact over all pairs i != j of the data (the kNN
        build accumulates it from its GEMM tiles at no extra pass, so no O(n²) work happens here). For any
        other graph (``radius_graph``, ``Graph.from_scipy``) the data are not at hand and the mean of the
        graph's off-diagonal edge distances is used instead (a smaller scale: neighbours are nearer than
        the average pair); pass ``sigma`` explicitly to choose. A default scale of 0 (every distance is
        0) gives the sigma -> 0 limit: weight 1 on zero-distance edges, 0 elsewhere.

    Returns
    -------
    float32 array of shape (nnz,), in [0, 1], aligned with ``graph.indices``. O(nnz) time and memory.
    For a graph held on the GPU (built with ``device="cuda"``), a float32 tensor on the same device.

    Examples
    --------
    >>> import numpy as np, nas_ext
    >>> X = np.array([[0.0], [1.0], [3.0]], dtype=np.float32)
    >>> g = nas_ext.knn_graph(X, 1)
    >>> g.meta["mean_pairwise_distance"]
    2.0
    >>> np.round(nas_ext.gaussian_weights(g).astype(float), 4).tolist()  # exp(-1/4), exp(-4/4)
    [0.7788, 0.7788, 0.3679, 0.3679]
    """
    function = "gaussian_weights"
    graph = _check_graph(graph, function)
    if sigma is not None:
        sigma = check_float(sigma, function, "sigma", low=0.0, low_open=True)
    if graph.device != "cpu":
        from ._cuda_diffusion import gaussian_weights as gaussian_weights_cuda

        return gaussian_weights_cuda(graph, sigma, graph.device)
    if sigma is None:
        sigma = _default_scale(graph) ** 2
    dist = np.asarray(graph.dist, dtype=np.float64)
    if sigma == 0.0:
        return (dist == 0.0).astype(np.float32)
    return np.exp(-(dist * dist) / sigma).astype(np.float32)


def _check_values(values, n: int, function: str) -> np.ndarray:
    arr = to_numpy(values)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) \
            or np.issubdtype(arr.dtype, np.complexfloating):
        raise param_error(function, "values", f"a real-valued array of shape ({n},) or ({n}, m)", arr, exc=TypeError)
    if arr.ndim not in (1, 2) or arr.shape[0] != n:
        raise param_error(function, "values", f"an array of shape ({n},) or ({n}, m)", arr)
    dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(arr).all():
        raise param_error(function, "values", "finite (no NaN or inf)", "a non-finite value", describe=False)
    return arr


def _check_fixed(fixed, n: int, function: str) -> np.ndarray:
    if fixed is not None:
        arr = to_numpy(fixed) if not isinstance(fixed, (list, tuple, range)) else np.asarray(fixed)
        if arr.dtype == bool:
            if arr.shape != (n,):
                raise param_error(function, "fixed", f"indices or a boolean mask of shape ({n},)", arr)
            return np.flatnonzero(arr).astype(np.int64)
    return np.sort(check_indices(fixed, n, function, "fixed"))


def _check_weights(weights, graph: Graph, function: str) -> np.ndarray:
    if weights is None:
        return gaussian_weights(graph)
    arr = to_numpy(weights)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise param_error(function, "weights", f"a real-valued 1-D array of length {graph.nnz}", arr, exc=TypeError)
    if arr.ndim != 1 or arr.shape[0] != graph.nnz:
        raise param_error(function, "weights", f"a 1-D array of length {graph.nnz} (one weight per edge)", arr)
    # Finite and non-negative are checked by the kernel in the pass that sums the rows.
    return np.ascontiguousarray(arr, dtype=np.float32)


def _check_scalars(step, n_steps, fixed_value, function: str):
    step = check_float(step, function, "step", low=0.0, low_open=True)
    if step > 1.0:
        warnings.warn(f"diffuse: step={step:g} > 1; explicit Euler steps of the random-walk Laplacian can "
                      "oscillate and grow there (stable for step <= 1).", UserWarning, stacklevel=3)
    n_steps = check_int(n_steps, function, "n_steps", low=0)
    fixed_value = check_float(fixed_value, function, "fixed_value", low_open=True, high_open=True)
    return step, n_steps, fixed_value


def diffuse(graph, values, *, weights=None, step: float = 0.1, n_steps: int = 10, fixed=None,
            fixed_value: float = 0.0, device="cpu") -> np.ndarray:
    """Diffuse ``values`` over ``graph`` by ``n_steps`` explicit Euler steps of ``v <- v - step·(I - D⁻¹A)v``.

    The entropy propagation of seed 003 (Eq. 8): A holds the edge weights (default
    ``gaussian_weights(graph)``), D their row sums, so each step moves every value a fraction ``step`` of
    the way to the weighted mean of its out-neighbours. Entries in ``fixed`` are reset to ``fixed_value``
    before every step and in the output (a labeled point's entropy pinned to zero). The graph is used as
    it is: self-loops, if present, are part of A; a row whose weights sum to zero (an isolated node)
    keeps its value.

    Parameters
    ----------
    graph : Graph with n nodes (usually ``knn_graph(X, 10)``, symmetric).
    values : array of shape (n,) or (n, m) (m signals diffused together). float32 and float64 are kept
        (computed in that precision); other real dtypes become float64. Must be finite.
    weights : per-edge weights, shape (nnz,), finite and non-negative (used as float32), or None.
    step : float in (0, inf); explicit Euler is stable for step <= 1 (a warning above that).
    n_steps : int >= 0; 0 returns ``values`` with the fixed entries reset.
    fixed : indices (distinct, in [0, n)) or a boolean mask of shape (n,), or None.
    fixed_value : the value the fixed entries are pinned to.
    device : 'cpu' or 'cuda' ('cuda:N'): on the GPU (a CUDA build and a visible GPU, else RuntimeError) the
        graph, values, weights and fixed entries may be CUDA tensors; every step runs on torch's current
        stream with the CPU kernel's arithmetic (csrc/cuda/diffusion.cu) and the result is a torch tensor on
        the GPU.

    Returns
    -------
    A new array of the shape and dtype of ``values`` (the input is not modified).

    Complexity: O(n_steps · (nnz + n) · m) time, all steps in one kernel call (rows split between OpenMP
    threads by edges, the fixed reset fused into each step; ``nas_ext.set_num_threads`` sets the count);
    memory: one extra copy of ``values`` (double buffering) plus the n row sums. Memory-bound: a step streams
    indptr, indices and weights once and gathers one value per edge, so a node order in which neighbours
    sit close together in memory (e.g. data sorted by cluster) runs markedly faster than a random order.

    Examples
    --------
    >>> import numpy as np, nas_ext
    >>> X = np.array([[0.0], [1.0], [2.0]], dtype=np.float32)
    >>> g = nas_ext.knn_graph(X, 1)  # a path 0 - 1 - 2
    >>> e = np.array([1.0, 1.0, 1.0])
    >>> nas_ext.diffuse(g, e, weights=np.ones(g.nnz), step=0.5, n_steps=1, fixed=[0]).tolist()
    [0.0, 0.75, 1.0]
    """
    function = "diffuse"
    on_gpu = resolve_device(device, function) == "cuda"
    graph = _check_graph(graph, function)
    if on_gpu:
        from ._cuda_diffusion import diffuse as diffuse_cuda

        step, n_steps, fixed_value = _check_scalars(step, n_steps, fixed_value, function)
        return diffuse_cuda(graph, values, weights=weights, step=step, n_steps=n_steps, fixed=fixed,
                            fixed_value=fixed_value, device=device)
    graph = graph.cpu()
    n = graph.n
    values = _check_values(values, n, function)
    step, n_steps, fixed_value = _check_scalars(step, n_steps, fixed_value, function)
    fixed = _check_fixed(fixed, n, function)
    weights = _check_weights(weights, graph, function)

    out = np.empty_like(values)
    _C.diffuse(np.ascontiguousarray(graph.indptr, dtype=np.int64), np.ascontiguousarray(graph.indices, dtype=np.int32),
               weights, values, out, fixed, fixed_value, step, n_steps)
    return out
