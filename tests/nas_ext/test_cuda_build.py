"""The CUDA build and the device switch, checked on any machine (with or without a GPU)."""
import os
import shutil

import numpy as np
import pytest
import scipy.sparse as sp

import nas_ext
from conftest import CUDA

HAS_NVCC = shutil.which("nvcc") is not None or bool(os.environ.get("CUDACXX"))


@pytest.mark.skipif(not HAS_NVCC, reason="no nvcc on this machine, so no CUDA build is expected")
def test_build_has_cuda_when_nvcc_is_present():
    info = nas_ext.build_info()
    assert info["cuda"] is True, "nvcc is on PATH but nas_ext was built without its CUDA kernels"
    assert info["cuda_version"]


def _calls_on_cuda():
    X = np.random.default_rng(0).standard_normal((20, 5)).astype(np.float32)
    graph = nas_ext.Graph.from_scipy(sp.identity(20, format="csr"))
    return {
        "radius_graph": lambda: nas_ext.radius_graph(X, 0.5, device="cuda"),
        "knn_graph": lambda: nas_ext.knn_graph(X, 3, device="cuda"),
        "CoverageState": lambda: nas_ext.CoverageState(graph, device="cuda"),
        "diffuse": lambda: nas_ext.diffuse(graph, np.ones(20), device="cuda"),
        "kcenter_greedy": lambda: nas_ext.kcenter_greedy(X, 2, device="cuda"),
    }


@pytest.mark.skipif(CUDA, reason="a usable GPU is present: device='cuda' runs there")
@pytest.mark.parametrize("op", sorted(_calls_on_cuda()))
def test_cuda_request_without_a_usable_gpu_is_a_clear_error(op):
    with pytest.raises(RuntimeError, match=r"device='cuda' was requested"):
        _calls_on_cuda()[op]()


@pytest.mark.skipif(CUDA or not nas_ext.build_info()["cuda"], reason="needs a CUDA build on a machine without a GPU")
def test_compiled_cuda_entry_points_raise_instead_of_aborting():
    from nas_ext import _C

    with pytest.raises(RuntimeError, match="nas_ext CUDA error"):
        _C.cuda_pick_partials(0)
