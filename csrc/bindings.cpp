// The one pybind11 binding file: every kernel of csrc/cpu (and csrc/cuda when built) under one name.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common.h"
#include "cpu/radius_graph.h"

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

// ---- radius_graph -------------------------------------------------------------------------------------------
namespace {

using FloatMatrix = py::array_t<float, py::array::c_style>;

nas::RadiusGraphBuilder make_radius_builder(const FloatMatrix& X, const py::object& sq_norms,
                                            const std::string& metric, double delta, const std::string& isa) {
    const char* fn = "RadiusGraphBuilder";
    if (X.ndim() != 2) nas::bad_argument(fn, "X", "a 2-D float32 array", nas::to_str(X.ndim()) + " dimensions");
    nas::RadiusMetric kind;
    if (metric == "cosine") {
        kind = nas::RadiusMetric::cosine;
    } else if (metric == "euclidean") {
        kind = nas::RadiusMetric::euclidean;
    } else {
        nas::bad_argument(fn, "metric", "'cosine' or 'euclidean'", "'" + metric + "'");
    }
    const float* norms = nullptr;
    if (!sq_norms.is_none()) {
        auto arr = py::cast<py::array_t<float, py::array::c_style>>(sq_norms);
        if (arr.ndim() != 1 || arr.shape(0) != X.shape(0))
            nas::bad_argument(fn, "sq_norms", "a float32 vector with one entry per row of X", "another shape");
        norms = arr.data();  // read only in the constructor
    }
    return nas::RadiusGraphBuilder(X.data(), X.shape(0), X.shape(1), norms, kind, delta, isa);
}

int64_t radius_add_tile(nas::RadiusGraphBuilder& self, const FloatMatrix& dots, int64_t row0, int64_t col0) {
    if (dots.ndim() != 2)
        nas::bad_argument("RadiusGraphBuilder.add_tile", "dots", "a 2-D float32 array", nas::to_str(dots.ndim()) + " dimensions");
    const float* data = dots.data();
    const int64_t m = dots.shape(0), k = dots.shape(1);
    py::gil_scoped_release release;
    return self.add_tile(data, row0, m, col0, k);
}

py::tuple radius_assemble(nas::RadiusGraphBuilder& self) {
    const int64_t n = self.n(), nnz = self.n_edges();
    py::array_t<int64_t> indptr(n + 1);
    py::array_t<int32_t> indices(nnz);
    py::array_t<float> dist(nnz);
    int64_t* p = indptr.mutable_data();
    int32_t* i = indices.mutable_data();
    float* d = dist.mutable_data();
    {
        py::gil_scoped_release release;
        self.assemble(p, i, d);
    }
    return py::make_tuple(indptr, indices, dist);
}

void bind_radius_graph(py::module_& m) {
    py::class_<nas::RadiusGraphBuilder>(m, "RadiusGraphBuilder",
        "Tile-by-tile radius graph assembly (internal: use nas_ext.radius_graph). X must stay alive and "
        "unchanged while the builder is used.")
        .def(py::init(&make_radius_builder), py::arg("X").noconvert(), py::arg("sq_norms"), py::arg("metric"),
             py::arg("delta"), py::arg("isa") = "auto", py::keep_alive<1, 2>())
        .def("add_tile", &radius_add_tile, py::arg("dots").noconvert(), py::arg("row0"), py::arg("col0"),
             "Keep the pairs i < j of one tile of dot products; returns the number of pairs so far.")
        .def("assemble", &radius_assemble, "Build the CSR (indptr int64, indices int32, dist float32).")
        .def_property_readonly("isa", &nas::RadiusGraphBuilder::isa)
        .def_property_readonly("n_pairs", &nas::RadiusGraphBuilder::n_pairs)
        .def_property_readonly("n_edges", &nas::RadiusGraphBuilder::n_edges)
        .def_property_readonly("pair_bytes", &nas::RadiusGraphBuilder::pair_bytes)
        .def_static("available_isas", &nas::RadiusGraphBuilder::available_isas,
                    "Instruction sets with a radius kernel this CPU runs, best first.");
}

}  // namespace

PYBIND11_MODULE(_C, m) {
    m.doc() = "nas_ext compiled kernels (use the nas_ext package, which validates inputs)";
    m.def("build_info", &build_info, "Version, CUDA support, OpenMP threads and compiler of this build.");
    bind_radius_graph(m);  // radius_graph
}
