"""nas_ext: the kernels of nas (radius/kNN graphs, weighted coverage greedy, Laplacian diffusion,
k-center greedy) behind validated Python functions. CPU (OpenMP) always; CUDA when built with nvcc.

Inputs are numpy arrays (float32/float64, any order, memmaps) or CPU torch tensors; outputs are numpy.
"""
from pathlib import Path as _Path

try:
    from . import _C
except ImportError as _error:
    _here = _Path(__file__).resolve().parent
    if not any(_here.glob("_C*")):
        raise ImportError(
            f"nas_ext was imported from its source folder {_here}, which holds no compiled extension (_C): "
            "this happens when Python runs in the repository root, whose nas_ext/ shadows the installed one. "
            "Run from another folder to use the installed nas_ext, or build it in place with `make dev` "
            "(then use PYTHONPATH=.:python).") from None
    raise ImportError(f"nas_ext's compiled extension in {_here} failed to load ({_error}); rebuild it "
                      "(`make dev` in place, or reinstall the package) for this Python and platform.") from _error
from ._validation import check_int
from .coverage import CoverageState
from .diffusion import diffuse, gaussian_weights
from .graph import Graph
from .kcenter import kcenter_greedy
from .joint import NeighbourGraphs, neighbour_graphs
from .knn import graph_from_neighbours, knn_graph
from .radius import estimate_radius_edges, radius_graph

__all__ = ["build_info", "set_num_threads", "get_num_threads", "CoverageState", "Graph", "diffuse",
           "estimate_radius_edges", "gaussian_weights", "graph_from_neighbours", "kcenter_greedy", "knn_graph",
           "NeighbourGraphs", "neighbour_graphs", "radius_graph"]


def build_info() -> dict:
    """What this build contains: ``version``, ``cuda`` (bool), ``openmp_threads``, ``compiler``."""
    return dict(_C.build_info())


def set_num_threads(n: int) -> None:
    """Use ``n`` OpenMP threads in the CPU kernels called from the current Python thread (like
    ``torch.set_num_threads``; the default is ``OMP_NUM_THREADS`` or the number of cores). On a machine
    shared with other busy processes, fewer threads can be faster: kernels with a barrier per step
    (``diffuse``) wait for their slowest thread."""
    _C.set_num_threads(check_int(n, "set_num_threads", "n", low=1))


def get_num_threads() -> int:
    """The number of OpenMP threads the CPU kernels use when called from the current Python thread."""
    return int(_C.get_num_threads())
