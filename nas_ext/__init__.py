"""nas_ext: the kernels of nas (radius/kNN graphs, weighted coverage greedy, Laplacian diffusion,
k-center greedy) behind validated Python functions. CPU (OpenMP) always; CUDA when built with nvcc.

Inputs are numpy arrays (float32/float64, any order, memmaps) or CPU torch tensors; outputs are numpy.
"""
from . import _C
from .coverage import CoverageState
from .kcenter import kcenter_greedy

__all__ = ["build_info", "CoverageState", "kcenter_greedy"]


def build_info() -> dict:
    """What this build contains: ``version``, ``cuda`` (bool), ``openmp_threads``, ``compiler``."""
    return dict(_C.build_info())
