// The one pybind11 binding file: every kernel of csrc/cpu (and csrc/cuda when built) under one name.
#include <cmath>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common.h"
#include "cpu/diffusion.h"
#include "cpu/knn_graph.h"

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

// ---- knn_graph and diffuse (their helpers live in one namespace to keep this file merge-friendly) ----
namespace knn_diffusion_py {

// knn_graph -------------------------------------------------------------------------------------------
std::string to_str_shape(const py::array& a) {
    std::string s = "an array of shape (";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + nas::to_str(a.shape(i));
    return s + (a.ndim() == 1 ? ",)" : ")");
}

using FloatArray = py::array_t<float, py::array::c_style>;
using DoubleArray = py::array_t<double, py::array::c_style>;
using Int32Array = py::array_t<int32_t, py::array::c_style>;
using Int64Array = py::array_t<int64_t, py::array::c_style>;

void knn_select_tile(FloatArray dots, FloatArray X, FloatArray sq, int64_t row0, int64_t k, int64_t candidates,
                     const std::string& metric, Int32Array out_indices, FloatArray out_dist, DoubleArray pair_sums) {
    const std::string fn = "knn_graph";
    if (X.ndim() != 2 || dots.ndim() != 2) nas::bad_argument(fn, "X", "a 2-D float32 array", "another shape");
    const int64_t n = X.shape(0), d = X.shape(1), tile_rows = dots.shape(0);
    if (dots.shape(1) != n) nas::bad_argument(fn, "dots", "a tile with n columns", to_str_shape(dots));
    if (k < 1 || k > n - 1) nas::bad_argument(fn, "k", "an int in [1, " + nas::to_str(n - 1) + "]", nas::to_str(k));
    if (row0 < 0 || row0 + tile_rows > n) nas::bad_argument(fn, "row0", "a tile inside X", nas::to_str(row0));
    const bool euclidean = metric == "euclidean";
    if (!euclidean && metric != "cosine") nas::bad_argument(fn, "metric", "'euclidean' or 'cosine'", metric);
    if (euclidean && sq.size() != n) nas::bad_argument(fn, "sq", "n squared norms", nas::to_str(sq.size()));
    if (out_indices.size() < tile_rows * k || out_dist.size() < tile_rows * k || pair_sums.size() < tile_rows)
        nas::bad_argument(fn, "out", "buffers of tile_rows * k entries", nas::to_str(out_indices.size()));
    const float* sq_ptr = euclidean ? sq.data() : nullptr;
    py::gil_scoped_release release;
    nas::knn_select_tile_cpu(dots.data(), tile_rows, n, X.data(), d, sq_ptr, row0, k, candidates,
                             euclidean ? nas::KnnMetric::euclidean : nas::KnnMetric::cosine,
                             out_indices.mutable_data(), out_dist.mutable_data(), pair_sums.mutable_data());
}

py::tuple knn_symmetrize(Int32Array neighbours, FloatArray dist) {
    const std::string fn = "knn_graph";
    if (neighbours.ndim() != 2 || dist.ndim() != 2 || neighbours.shape(0) != dist.shape(0) ||
        neighbours.shape(1) != dist.shape(1))
        nas::bad_argument(fn, "neighbours", "an (n, k) int32 array matching dist", to_str_shape(neighbours));
    const int64_t n = neighbours.shape(0), k = neighbours.shape(1);
    const int32_t* nb = neighbours.data();
    for (int64_t e = 0; e < n * k; ++e)
        if (nb[e] < 0 || nb[e] >= n) nas::bad_argument(fn, "neighbours", "indices in [0, n)", nas::to_str(nb[e]));
    Int64Array indptr(n + 1);
    Int32Array indices;
    FloatArray out_dist;
    int64_t* indptr_ptr = indptr.mutable_data();
    {
        py::gil_scoped_release release;
        nas::knn_symmetrize_cpu(nb, dist.data(), n, k, indptr_ptr, [&](int64_t nnz) {
            py::gil_scoped_acquire acquire;
            indices = Int32Array(nnz);
            out_dist = FloatArray(nnz);
            return nas::EdgeArrays{indices.mutable_data(), out_dist.mutable_data()};
        });
    }
    return py::make_tuple(indptr, indices, out_dist);
}

// diffuse ---------------------------------------------------------------------------------------------
template <typename T>
void diffuse_typed(Int64Array indptr, Int32Array indices, FloatArray weights, py::array_t<T, py::array::c_style> values,
                   py::array_t<T, py::array::c_style> out, Int64Array fixed, double fixed_value, double step,
                   int64_t n_steps) {
    const std::string fn = "diffuse";
    const int64_t n = indptr.size() - 1;
    if (n < 0 || indptr.data()[0] != 0 || indptr.data()[n] != indices.size())
        nas::bad_argument(fn, "graph", "a CSR graph with indptr[0] == 0 and indptr[-1] == nnz", to_str_shape(indptr));
    const int64_t* ip = indptr.data();
    for (int64_t i = 0; i < n; ++i)
        if (ip[i + 1] < ip[i])
            nas::bad_argument(fn, "graph", "a CSR graph with non-decreasing indptr",
                              "indptr decreasing at row " + nas::to_str(i));
    if (weights.size() != indices.size())
        nas::bad_argument(fn, "weights", "one weight per edge (" + nas::to_str(indices.size()) + ")",
                          nas::to_str(weights.size()) + " weights");
    if (values.ndim() < 1 || values.shape(0) != n || values.size() != out.size())
        nas::bad_argument(fn, "values", "an array with one row per node (" + nas::to_str(n) + ")",
                          to_str_shape(values));
    const int64_t m = n > 0 ? values.size() / n : 1;
    const int64_t* fx = fixed.data();
    for (int64_t f = 0; f < fixed.size(); ++f)
        if (fx[f] < 0 || fx[f] >= n || (f > 0 && fx[f] <= fx[f - 1]))
            nas::bad_argument(fn, "fixed", "sorted distinct indices in [0, " + nas::to_str(n) + ")",
                              nas::to_str(fx[f]));
    if (!(step > 0.0) || !std::isfinite(step)) nas::bad_argument(fn, "step", "a float in (0, inf)", nas::to_str(step));
    if (n_steps < 0) nas::bad_argument(fn, "n_steps", "an int in [0, inf]", nas::to_str(n_steps));
    T* out_ptr = out.mutable_data();
    py::gil_scoped_release release;
    nas::diffuse_cpu<T>(indptr.data(), indices.data(), weights.data(), n, m, values.data(), out_ptr, fx,
                        fixed.size(), static_cast<T>(fixed_value), step, n_steps);
}

}  // namespace knn_diffusion_py

// ---- threads ---------------------------------------------------------------------------------------------
static void set_num_threads(int n) {
    if (n < 1) nas::bad_argument("set_num_threads", "n", "an int in [1, inf]", nas::to_str(n));
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

static int get_num_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

PYBIND11_MODULE(_C, m) {
    m.doc() = "nas_ext compiled kernels (use the nas_ext package, which validates inputs)";
    m.def("build_info", &build_info, "Version, CUDA support, OpenMP threads and compiler of this build.");
    m.def("set_num_threads", &set_num_threads, "OpenMP threads of the kernels called from this thread.",
          py::arg("n"));
    m.def("get_num_threads", &get_num_threads, "OpenMP threads of the kernels called from this thread.");

    // knn_graph
    m.def("knn_select_tile", &knn_diffusion_py::knn_select_tile,
          "Top-k neighbours of a tile of rows from its GEMM products.",
          py::arg("dots").noconvert(), py::arg("X").noconvert(), py::arg("sq").noconvert(), py::arg("row0"),
          py::arg("k"), py::arg("candidates"), py::arg("metric"), py::arg("out_indices").noconvert(),
          py::arg("out_dist").noconvert(), py::arg("pair_sums").noconvert());
    m.def("knn_symmetrize", &knn_diffusion_py::knn_symmetrize, "Symmetric union of directed kNN lists as CSR.",
          py::arg("neighbours").noconvert(), py::arg("dist").noconvert());

    // diffuse
    m.def("diffuse", &knn_diffusion_py::diffuse_typed<float>,
          "Explicit Euler Laplacian diffusion (float32 values).",
          py::arg("indptr").noconvert(), py::arg("indices").noconvert(), py::arg("weights").noconvert(),
          py::arg("values").noconvert(), py::arg("out").noconvert(), py::arg("fixed").noconvert(),
          py::arg("fixed_value"), py::arg("step"), py::arg("n_steps"));
    m.def("diffuse", &knn_diffusion_py::diffuse_typed<double>,
          "Explicit Euler Laplacian diffusion (float64 values).",
          py::arg("indptr").noconvert(), py::arg("indices").noconvert(), py::arg("weights").noconvert(),
          py::arg("values").noconvert(), py::arg("out").noconvert(), py::arg("fixed").noconvert(),
          py::arg("fixed_value"), py::arg("step"), py::arg("n_steps"));
}
