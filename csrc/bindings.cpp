// The one pybind11 binding file: every kernel of csrc/cpu (and csrc/cuda when built) under one name.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common.h"
#include "cpu/coverage.h"
#include "cpu/kcenter.h"

#include <memory>
#include <mutex>
#include <optional>

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

// ---- coverage: CoverageState ----
namespace {

template <typename T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

template <typename T>
std::vector<T> to_vector(const CArray<T>& a) {
    return std::vector<T>(a.data(), a.data() + a.size());
}

template <typename T>
py::array_t<T> to_array(const std::vector<T>& v) {
    py::array_t<T> out(static_cast<py::ssize_t>(v.size()));
    std::copy(v.begin(), v.end(), out.mutable_data());
    return out;
}

// One state plus a lock: methods run without the GIL, so calls from several threads are serialised here.
struct CoverageHandle {
    std::unique_ptr<nas::CoverageState> state;
    std::mutex mutex;
};

void bind_coverage(py::module_& m) {
    py::class_<CoverageHandle>(m, "CoverageState")
        .def(py::init([](const CArray<int64_t>& indptr, const CArray<int32_t>& indices,
                         std::optional<CArray<double>> weights, bool symmetric) {
                 auto handle = std::make_unique<CoverageHandle>();
                 auto p = to_vector(indptr);
                 auto i = to_vector(indices);
                 std::vector<double> w = weights ? to_vector(*weights) : std::vector<double>();
                 py::gil_scoped_release release;
                 handle->state =
                     std::make_unique<nas::CoverageState>(std::move(p), std::move(i), std::move(w), symmetric);
                 return handle;
             }),
             py::arg("indptr"), py::arg("indices"), py::arg("weights") = py::none(), py::arg("symmetric") = false)
        .def("cover",
             [](CoverageHandle& h, const CArray<int64_t>& sources) {
                 py::gil_scoped_release release;
                 std::lock_guard<std::mutex> lock(h.mutex);
                 h.state->cover(sources.data(), sources.size());
             })
        .def("discount",
             [](CoverageHandle& h, const CArray<int64_t>& sources, double factor, bool per_source) {
                 py::gil_scoped_release release;
                 std::lock_guard<std::mutex> lock(h.mutex);
                 h.state->discount(sources.data(), sources.size(), factor, per_source);
             })
        .def("block",
             [](CoverageHandle& h, const CArray<int64_t>& nodes) {
                 py::gil_scoped_release release;
                 std::lock_guard<std::mutex> lock(h.mutex);
                 h.state->block(nodes.data(), nodes.size());
             })
        .def("exclude",
             [](CoverageHandle& h, const CArray<int64_t>& nodes) {
                 py::gil_scoped_release release;
                 std::lock_guard<std::mutex> lock(h.mutex);
                 h.state->exclude(nodes.data(), nodes.size());
             })
        .def("pick",
             [](CoverageHandle& h, int64_t k, std::optional<CArray<int64_t>> keys) {
                 if (keys && keys->size() != h.state->n())
                     nas::bad_argument("CoverageState.pick", "keys", "of length n = " + nas::to_str(h.state->n()),
                                       "length " + nas::to_str(keys->size()));
                 if (k < 0) nas::bad_argument("CoverageState.pick", "k", "an int >= 0", nas::to_str(k));
                 py::array_t<int64_t> picks(static_cast<py::ssize_t>(k));
                 py::array_t<double> gains(static_cast<py::ssize_t>(k));
                 const int64_t* key_data = keys ? keys->data() : nullptr;
                 int64_t* pick_data = picks.mutable_data();
                 double* gain_data = gains.mutable_data();
                 {
                     py::gil_scoped_release release;
                     std::lock_guard<std::mutex> lock(h.mutex);
                     h.state->pick(k, key_data, pick_data, gain_data);
                 }
                 return py::make_tuple(picks, gains);
             },
             py::arg("k"), py::arg("keys") = py::none())
        .def("gains", [](CoverageHandle& h) { std::lock_guard<std::mutex> lock(h.mutex); return to_array(h.state->gains()); })
        .def("coverage", [](CoverageHandle& h) { std::lock_guard<std::mutex> lock(h.mutex); return to_array(h.state->coverage()); })
        .def("multipliers", [](CoverageHandle& h) { std::lock_guard<std::mutex> lock(h.mutex); return to_array(h.state->multipliers()); })
        .def("pickable", [](CoverageHandle& h) { std::lock_guard<std::mutex> lock(h.mutex); return to_array(h.state->pickable()); })
        .def_property_readonly("n", [](CoverageHandle& h) { return h.state->n(); })
        .def_property_readonly("nnz", [](CoverageHandle& h) { return h.state->nnz(); })
        .def_property_readonly("n_candidates", [](CoverageHandle& h) {
            std::lock_guard<std::mutex> lock(h.mutex);
            return h.state->n_candidates();
        });
}

// ---- kcenter: kcenter_greedy ----
py::array_t<int64_t> kcenter_greedy(const CArray<float>& X, const CArray<int64_t>& centers,
                                    std::optional<CArray<int32_t>> assign, int64_t first_pick, int64_t budget) {
    if (X.ndim() != 2) nas::bad_argument("kcenter_greedy", "X", "a 2-D array", nas::to_str(X.ndim()) + " dimensions");
    if (assign && assign->size() != X.shape(0))
        nas::bad_argument("kcenter_greedy", "assign", "of length n", nas::to_str(assign->size()));
    if (budget < 0) nas::bad_argument("kcenter_greedy", "budget", "an int >= 0", nas::to_str(budget));
    py::array_t<int64_t> picks(static_cast<py::ssize_t>(budget));
    const int32_t* assign_data = assign ? assign->data() : nullptr;
    int64_t* pick_data = picks.mutable_data();
    {
        py::gil_scoped_release release;
        nas::kcenter_greedy_cpu(X.data(), X.shape(0), X.shape(1), centers.data(), centers.size(), assign_data,
                                first_pick, budget, pick_data);
    }
    return picks;
}

}  // namespace

PYBIND11_MODULE(_C, m) {
    m.doc() = "nas_ext compiled kernels (use the nas_ext package, which validates inputs)";
    m.def("build_info", &build_info, "Version, CUDA support, OpenMP threads and compiler of this build.");

    // ---- coverage ----
    bind_coverage(m);

    // ---- kcenter ----
    m.def("kcenter_greedy", &kcenter_greedy, py::arg("X"), py::arg("centers"), py::arg("assign"),
          py::arg("first_pick"), py::arg("budget"),
          "k-center greedy picks (squared Euclidean, lowest index on ties); use nas_ext.kcenter_greedy.");
}
