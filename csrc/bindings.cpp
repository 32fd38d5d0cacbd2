// The one pybind11 binding file: every kernel of csrc/cpu (and csrc/cuda when built) under one name.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common.h"

#ifndef NAS_VERSION
#define NAS_VERSION "0.0.0+dev"
#endif
#ifndef NAS_CXX_COMPILER
#define NAS_CXX_COMPILER "unknown"
#endif

namespace py = pybind11;

#ifdef NAS_WITH_CUDA
namespace nas {
int cuda_device_count();
}
#endif

static py::dict build_info() {
    py::dict info;
    info["version"] = std::string(NAS_VERSION).empty() ? std::string("0.0.0+dev") : std::string(NAS_VERSION);
#ifdef NAS_WITH_CUDA
    info["cuda"] = true;
    info["cuda_devices"] = nas::cuda_device_count();
#else
    info["cuda"] = false;
    info["cuda_devices"] = 0;
#endif
#ifdef _OPENMP
    info["openmp"] = true;
    info["openmp_threads"] = omp_get_max_threads();
#else
    info["openmp"] = false;
    info["openmp_threads"] = 1;
#endif
    info["compiler"] = std::string(NAS_CXX_COMPILER);
    return info;
}

PYBIND11_MODULE(_C, m) {
    m.doc() = "nas_ext compiled kernels (use the nas_ext package, which validates inputs)";
    m.def("build_info", &build_info, "Version, CUDA support, OpenMP threads and compiler of this build.");
}
