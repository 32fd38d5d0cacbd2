// The one pybind11 binding file: every kernel of csrc/cpu (and csrc/cuda when built) under one name.
#include <cmath>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common.h"
#include "cpu/coverage.h"
#include "cpu/csr_relabel.h"
#include "cpu/diffusion.h"
#include "cpu/kcenter.h"
#include "cpu/knn_graph.h"
#include "cpu/radius_graph.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#ifndef NAS_VERSION
#define NAS_VERSION "0.0.0+dev"
#endif
#ifndef NAS_CXX_COMPILER
#define NAS_CXX_COMPILER "unknown"
#endif

namespace py = pybind11;

#ifdef NAS_WITH_CUDA
#include "cuda/ops.h"
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
    info["cuda_version"] = std::string(NAS_CUDA_VERSION);
#else
    info["cuda"] = false;
    info["cuda_devices"] = 0;
    info["cuda_version"] = py::none();
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

int64_t radius_add_tile(nas::RadiusGraphBuilder& self, const FloatMatrix& dots, int64_t row0, int64_t col0,
                        int64_t order_key) {
    if (dots.ndim() != 2)
        nas::bad_argument("RadiusGraphBuilder.add_tile", "dots", "a 2-D float32 array", nas::to_str(dots.ndim()) + " dimensions");
    const float* data = dots.data();
    const int64_t m = dots.shape(0), k = dots.shape(1);
    py::gil_scoped_release release;
    return self.add_tile(data, row0, m, col0, k, order_key);
}

int64_t radius_add_tile_indexed(nas::RadiusGraphBuilder& self, const FloatMatrix& dots,
                                py::array_t<int64_t, py::array::c_style> rows,
                                py::array_t<int64_t, py::array::c_style> cols, int64_t order_key) {
    const char* fn = "RadiusGraphBuilder.add_tile_indexed";
    if (dots.ndim() != 2) nas::bad_argument(fn, "dots", "a 2-D float32 array", nas::to_str(dots.ndim()) + " dimensions");
    if (rows.ndim() != 1 || rows.shape(0) != dots.shape(0))
        nas::bad_argument(fn, "rows", "a 1-D int64 array of dots.shape[0] indices", nas::to_str(rows.size()));
    if (cols.ndim() != 1 || cols.shape(0) != dots.shape(1))
        nas::bad_argument(fn, "cols", "a 1-D int64 array of dots.shape[1] indices", nas::to_str(cols.size()));
    const float* data = dots.data();
    const int64_t* r = rows.data();
    const int64_t* c = cols.data();
    const int64_t m = dots.shape(0), k = dots.shape(1);
    py::gil_scoped_release release;
    return self.add_tile_indexed(data, r, m, c, k, order_key);
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
        .def("add_tile", &radius_add_tile, py::arg("dots").noconvert(), py::arg("row0"), py::arg("col0"), py::arg("order_key") = -1,
             "Keep the pairs i < j of one tile of dot products; returns the number of pairs so far.")
        .def("add_tile_indexed", &radius_add_tile_indexed, py::arg("dots").noconvert(), py::arg("rows").noconvert(),
             py::arg("cols").noconvert(), py::arg("order_key"),
             "Scan a tile over chosen rows and columns (all columns above all rows); returns the pairs kept so far.")
        .def("assemble", &radius_assemble, "Build the CSR (indptr int64, indices int32, dist float32).")
        .def_property_readonly("isa", &nas::RadiusGraphBuilder::isa)
        .def_property_readonly("n_pairs", &nas::RadiusGraphBuilder::n_pairs)
        .def_property_readonly("n_edges", &nas::RadiusGraphBuilder::n_edges)
        .def_property_readonly("pair_bytes", &nas::RadiusGraphBuilder::pair_bytes)
        .def_static("available_isas", &nas::RadiusGraphBuilder::available_isas,
                    "Instruction sets with a radius kernel this CPU runs, best first.");
}

}  // namespace

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
                 std::vector<double> w = weights ? to_vector(*weights) : std::vector<double>();
                 py::gil_scoped_release release;  // the graph copies the indices (kept alive by the caller)
                 handle->state = std::make_unique<nas::CoverageState>(std::move(p), indices.data(), indices.size(),
                                                                      std::move(w), symmetric);
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
        .def("peek",
             [](CoverageHandle& h) {
                 std::pair<int64_t, double> best;
                 {
                     py::gil_scoped_release release;
                     std::lock_guard<std::mutex> lock(h.mutex);
                     best = h.state->peek();
                 }
                 return py::make_tuple(best.first, best.second);
             })
        .def("copy",
             [](CoverageHandle& h) {
                 auto copy = std::make_unique<CoverageHandle>();
                 py::gil_scoped_release release;
                 std::lock_guard<std::mutex> lock(h.mutex);
                 copy->state = std::make_unique<nas::CoverageState>(*h.state);
                 return copy;
             })
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
// The row count of a CSR graph with one weight per edge, after checking indptr (the kernels check the
// indices and weights themselves, in their first pass).
int64_t check_weighted_csr(const std::string& fn, const Int64Array& indptr, const Int32Array& indices,
                           const FloatArray& weights) {
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
    return n;
}

template <typename T>
void diffuse_typed(Int64Array indptr, Int32Array indices, FloatArray weights, py::array_t<T, py::array::c_style> values,
                   py::array_t<T, py::array::c_style> out, Int64Array fixed, double fixed_value, double step,
                   int64_t n_steps) {
    const std::string fn = "diffuse";
    const int64_t n = check_weighted_csr(fn, indptr, indices, weights);
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

// propagate_select ------------------------------------------------------------------------------------
py::array_t<int64_t> propagate_select(Int64Array indptr, Int32Array indices, FloatArray weights, DoubleArray field,
                                      Int64Array ranked, int64_t candidate_size, Int64Array tie_key, int64_t n_picks,
                                      Int64Array pinned, double step, int64_t n_steps, bool pin_batch) {
    const std::string fn = "propagate_select";
    const int64_t n = check_weighted_csr(fn, indptr, indices, weights);
    const int64_t* ip = indptr.data();
    if (field.ndim() != 1 || field.shape(0) != n)
        nas::bad_argument(fn, "field", "a float64 array of shape (" + nas::to_str(n) + ",)", to_str_shape(field));
    const double* fv = field.data();
    for (int64_t i = 0; i < n; ++i)
        if (!std::isfinite(fv[i])) nas::bad_argument(fn, "field", "finite values", "the value " + nas::to_str(fv[i]));
    if (tie_key.ndim() != 1 || tie_key.shape(0) != n)
        nas::bad_argument(fn, "tie_key", "an int64 array of shape (" + nas::to_str(n) + ",)", to_str_shape(tie_key));
    const int64_t n_ranked = ranked.size();
    const int64_t* rk = ranked.data();
    std::vector<uint8_t> seen(static_cast<size_t>(n), 0);
    for (int64_t r = 0; r < n_ranked; ++r) {
        if (rk[r] < 0 || rk[r] >= n || seen[rk[r]])
            nas::bad_argument(fn, "ranked", "distinct rows in [0, " + nas::to_str(n) + ")", nas::to_str(rk[r]));
        seen[rk[r]] = 1;
    }
    const int64_t* pn = pinned.data();
    for (int64_t f = 0; f < pinned.size(); ++f)
        if (pn[f] < 0 || pn[f] >= n || (f > 0 && pn[f] <= pn[f - 1]))
            nas::bad_argument(fn, "pinned", "sorted distinct rows in [0, " + nas::to_str(n) + ")", nas::to_str(pn[f]));
    if (n_picks < 0 || n_picks > n_ranked)
        nas::bad_argument(fn, "n_picks", "an int in [0, " + nas::to_str(n_ranked) + "]", nas::to_str(n_picks));
    if (n_picks > 0 && (candidate_size < 1 || candidate_size > n_ranked))
        nas::bad_argument(fn, "candidate_size", "an int in [1, " + nas::to_str(n_ranked) + "]",
                          nas::to_str(candidate_size));
    if (!(step > 0.0) || !std::isfinite(step)) nas::bad_argument(fn, "step", "a float in (0, inf)", nas::to_str(step));
    if (n_steps < 0) nas::bad_argument(fn, "n_steps", "an int in [0, inf]", nas::to_str(n_steps));
    py::array_t<int64_t> picks(n_picks);
    double* out = field.mutable_data();
    int64_t* picks_out = picks.mutable_data();
    {
        py::gil_scoped_release release;
        nas::propagate_select_cpu(ip, indices.data(), weights.data(), n, out, rk, n_ranked,
                                  std::min(candidate_size, n_ranked), tie_key.data(), n_picks, pn, pinned.size(),
                                  pin_batch, step, n_steps, picks_out);
    }
    return picks;
}

// relabel_csr ------------------------------------------------------------------------------------------
// Node p becomes order[p]: the new indptr is returned, indices and dist are rewritten in place.
Int64Array relabel_csr(Int64Array indptr, Int32Array indices, FloatArray dist, Int64Array order) {
    const std::string fn = "relabel_csr";
    const int64_t n = check_weighted_csr(fn, indptr, indices, dist);
    if (order.ndim() != 1 || order.size() != n)
        nas::bad_argument(fn, "order", "a permutation of the " + nas::to_str(n) + " nodes", to_str_shape(order));
    if (n > INT32_MAX) nas::bad_argument(fn, "graph", "at most 2^31 - 1 nodes", nas::to_str(n));
    const int64_t* od = order.data();
    std::vector<char> seen(static_cast<size_t>(n), 0);
    for (int64_t p = 0; p < n; ++p) {
        if (od[p] < 0 || od[p] >= n || seen[od[p]])
            nas::bad_argument(fn, "order", "a permutation of [0, n)", "entry " + nas::to_str(od[p]) + " at " +
                              nas::to_str(p));
        seen[od[p]] = 1;
    }
    const int32_t* ix = indices.data();
    for (int64_t e = 0; e < indices.size(); ++e)
        if (ix[e] < 0 || ix[e] >= n)
            nas::bad_argument(fn, "graph", "column indices in [0, n)", nas::to_str(ix[e]));
    Int64Array out(n + 1);
    int64_t* out_ptr = out.mutable_data();
    int32_t* ix_mut = indices.mutable_data();
    float* d_mut = dist.mutable_data();
    const int64_t* ip = indptr.data();
    {
        py::gil_scoped_release release;
        nas::relabel_csr_cpu(ip, ix_mut, d_mut, n, od, out_ptr);
    }
    return out;
}

}  // namespace knn_diffusion_py

#ifdef NAS_WITH_CUDA
// ---- CUDA kernels (csrc/cuda): device addresses and streams as integers; nas_ext/_cuda.py drives them ----
namespace cuda_py {

namespace cu = nas::cuda;

template <typename T>
py::class_<T> input_class(py::module_& m, const char* name) {
    return py::class_<T>(m, name).def(py::init<>());
}

void bind(py::module_& m) {
    // Every entry point only enqueues work on a stream: the GIL is released around it.
    const auto no_gil = py::call_guard<py::gil_scoped_release>();

    input_class<cu::RadiusInput>(m, "CudaRadiusInput")
        .def_readwrite("device", &cu::RadiusInput::device)
        .def_readwrite("X", &cu::RadiusInput::X)
        .def_readwrite("n", &cu::RadiusInput::n)
        .def_readwrite("d", &cu::RadiusInput::d)
        .def_readwrite("scale", &cu::RadiusInput::scale)
        .def_readwrite("euclidean", &cu::RadiusInput::euclidean)
        .def_readwrite("delta", &cu::RadiusInput::delta);
    m.def("cuda_radius_tile_pairs", &cu::radius_tile_pairs, py::arg("n"));
    m.def("cuda_radius_count", &cu::radius_count, no_gil, py::arg("spec"), py::arg("pair_begin"), py::arg("pair_end"),
          py::arg("counts"), py::arg("stream"));
    m.def("cuda_radius_fill", &cu::radius_fill, no_gil, py::arg("spec"), py::arg("pair_begin"), py::arg("pair_end"),
          py::arg("cursor"), py::arg("row_end"), py::arg("indices"), py::arg("dist"), py::arg("mismatch"),
          py::arg("stream"));

    input_class<cu::KnnInput>(m, "CudaKnnInput")
        .def_readwrite("device", &cu::KnnInput::device)
        .def_readwrite("X", &cu::KnnInput::X)
        .def_readwrite("n", &cu::KnnInput::n)
        .def_readwrite("d", &cu::KnnInput::d)
        .def_readwrite("sq", &cu::KnnInput::sq)
        .def_readwrite("euclidean", &cu::KnnInput::euclidean);
    m.def("cuda_knn_candidates", &cu::knn_candidates, no_gil, py::arg("spec"), py::arg("panel_begin"),
          py::arg("panel_end"), py::arg("capacity"), py::arg("heap_key"), py::arg("heap_index"), py::arg("pair_sums"),
          py::arg("stream"));
    m.def("cuda_knn_exact", &cu::knn_exact, no_gil, py::arg("spec"), py::arg("index"), py::arg("per_row"),
          py::arg("exact"), py::arg("stream"));

    input_class<cu::CoverageInput>(m, "CudaCoverageInput")
        .def_readwrite("device", &cu::CoverageInput::device)
        .def_readwrite("n", &cu::CoverageInput::n)
        .def_readwrite("indptr", &cu::CoverageInput::indptr)
        .def_readwrite("indices", &cu::CoverageInput::indices)
        .def_readwrite("weights", &cu::CoverageInput::weights)
        .def_readwrite("in_indptr", &cu::CoverageInput::in_indptr)
        .def_readwrite("in_sources", &cu::CoverageInput::in_sources)
        .def_readwrite("in_weights", &cu::CoverageInput::in_weights)
        .def_readwrite("level", &cu::CoverageInput::level)
        .def_readwrite("multiplier", &cu::CoverageInput::multiplier)
        .def_readwrite("gain", &cu::CoverageInput::gain)
        .def_readwrite("live", &cu::CoverageInput::live)
        .def_readwrite("blocked", &cu::CoverageInput::blocked)
        .def_readwrite("pickable", &cu::CoverageInput::pickable);
    m.attr("cuda_max_pick_partials") = cu::kMaxPickPartials;
    m.def("cuda_pick_partials", &cu::coverage_pick_partials, no_gil, py::arg("device"));
    m.def("cuda_coverage_init", &cu::coverage_init, no_gil, py::arg("spec"), py::arg("stream"));
    m.def("cuda_coverage_cover", &cu::coverage_cover, no_gil, py::arg("spec"), py::arg("sources"), py::arg("count"),
          py::arg("stream"));
    m.def("cuda_coverage_discount", &cu::coverage_discount, no_gil, py::arg("spec"), py::arg("sources"),
          py::arg("count"), py::arg("factor"), py::arg("per_source"), py::arg("hits"), py::arg("stream"));
    m.def("cuda_coverage_pick", &cu::coverage_pick, no_gil, py::arg("spec"), py::arg("k"), py::arg("keys"),
          py::arg("picks"), py::arg("gains"), py::arg("partial_gain"), py::arg("partial_entry"), py::arg("partials"),
          py::arg("status"), py::arg("stream"));

    input_class<cu::DiffusionInput>(m, "CudaDiffusionInput")
        .def_readwrite("device", &cu::DiffusionInput::device)
        .def_readwrite("n", &cu::DiffusionInput::n)
        .def_readwrite("m", &cu::DiffusionInput::m)
        .def_readwrite("indptr", &cu::DiffusionInput::indptr)
        .def_readwrite("indices", &cu::DiffusionInput::indices)
        .def_readwrite("weights", &cu::DiffusionInput::weights)
        .def_readwrite("coef", &cu::DiffusionInput::coef)
        .def_readwrite("fixed", &cu::DiffusionInput::fixed)
        .def_readwrite("fixed_value", &cu::DiffusionInput::fixed_value)
        .def_readwrite("step", &cu::DiffusionInput::step)
        .def_readwrite("n_steps", &cu::DiffusionInput::n_steps)
        .def_readwrite("first", &cu::DiffusionInput::first)
        .def_readwrite("second", &cu::DiffusionInput::second)
        .def_readwrite("is_double", &cu::DiffusionInput::is_double);
    m.def("cuda_diffuse", &cu::diffuse, no_gil, py::arg("spec"), py::arg("stream"));

    input_class<cu::KcenterInput>(m, "CudaKcenterInput")
        .def_readwrite("device", &cu::KcenterInput::device)
        .def_readwrite("X", &cu::KcenterInput::X)
        .def_readwrite("n", &cu::KcenterInput::n)
        .def_readwrite("d", &cu::KcenterInput::d)
        .def_readwrite("taken", &cu::KcenterInput::taken)
        .def_readwrite("nearest_sq", &cu::KcenterInput::nearest_sq)
        .def_readwrite("centres", &cu::KcenterInput::centres)
        .def_readwrite("n_centres", &cu::KcenterInput::n_centres)
        .def_readwrite("assign", &cu::KcenterInput::assign);
    m.def("cuda_kcenter_greedy", &cu::kcenter_greedy, no_gil, py::arg("spec"), py::arg("budget"),
          py::arg("has_first_pick"), py::arg("picks"), py::arg("partial_distance"), py::arg("partial_index"),
          py::arg("partials"), py::arg("status"), py::arg("stream"));
}

}  // namespace cuda_py
#endif  // NAS_WITH_CUDA

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

#ifdef NAS_WITH_CUDA
    // CUDA kernels (csrc/cuda/*.cu)
    cuda_py::bind(m);
#endif

    // ---- radius_graph ----
    bind_radius_graph(m);

    // ---- coverage ----
    bind_coverage(m);

    // ---- kcenter ----
    m.def("kcenter_greedy", &kcenter_greedy, py::arg("X"), py::arg("centers"), py::arg("assign"),
          py::arg("first_pick"), py::arg("budget"),
          "k-center greedy picks (squared Euclidean, lowest index on ties); use nas_ext.kcenter_greedy.");

    // ---- threads ----
    m.def("set_num_threads", &set_num_threads, "OpenMP threads of the kernels called from this thread.",
          py::arg("n"));
    m.def("get_num_threads", &get_num_threads, "OpenMP threads of the kernels called from this thread.");

    // ---- knn_graph ----
    m.def("knn_select_tile", &knn_diffusion_py::knn_select_tile,
          "Top-k neighbours of a tile of rows from its GEMM products.",
          py::arg("dots").noconvert(), py::arg("X").noconvert(), py::arg("sq").noconvert(), py::arg("row0"),
          py::arg("k"), py::arg("candidates"), py::arg("metric"), py::arg("out_indices").noconvert(),
          py::arg("out_dist").noconvert(), py::arg("pair_sums").noconvert());
    m.def("relabel_csr", &knn_diffusion_py::relabel_csr,
          "Relabel a CSR graph's nodes (node p -> order[p]): returns indptr, rewrites indices and dist in place.",
          py::arg("indptr").noconvert(), py::arg("indices").noconvert(), py::arg("dist").noconvert(),
          py::arg("order").noconvert());
    m.def("knn_symmetrize", &knn_diffusion_py::knn_symmetrize, "Symmetric union of directed kNN lists as CSR.",
          py::arg("neighbours").noconvert(), py::arg("dist").noconvert());

    // ---- diffuse ----
    m.def("diffuse", &knn_diffusion_py::diffuse_typed<float>,
          "Explicit Euler Laplacian diffusion (float32 values).",
          py::arg("indptr").noconvert(), py::arg("indices").noconvert(), py::arg("weights").noconvert(),
          py::arg("values").noconvert(), py::arg("out").noconvert(), py::arg("fixed").noconvert(),
          py::arg("fixed_value"), py::arg("step"), py::arg("n_steps"));
    m.def("propagate_select", &knn_diffusion_py::propagate_select,
          "Entropy-propagation batch selection: n_picks argmax picks, each pinned and diffused (field in place).",
          py::arg("indptr").noconvert(), py::arg("indices").noconvert(), py::arg("weights").noconvert(),
          py::arg("field").noconvert(), py::arg("ranked").noconvert(), py::arg("candidate_size"),
          py::arg("tie_key").noconvert(), py::arg("n_picks"), py::arg("pinned").noconvert(), py::arg("step"),
          py::arg("n_steps"), py::arg("pin_batch"));
    m.def("diffuse", &knn_diffusion_py::diffuse_typed<double>,
          "Explicit Euler Laplacian diffusion (float64 values).",
          py::arg("indptr").noconvert(), py::arg("indices").noconvert(), py::arg("weights").noconvert(),
          py::arg("values").noconvert(), py::arg("out").noconvert(), py::arg("fixed").noconvert(),
          py::arg("fixed_value"), py::arg("step"), py::arg("n_steps"));
}
