// Radius graph on CPU: see radius_graph.h for the contract.
//
// add_tile() scans a GEMM tile row by row with a vectorised candidate test (AVX-512, AVX2 or scalar, picked
// at run time), re-computes the exact distance of each candidate in double precision, and appends the
// pairs within delta to a per-block buffer; the blocks of a tile are then packed into one exact-size chunk.
// assemble() counts degrees, lays out the CSR and writes both directions of every pair in one pass over
// the chunks (taken in tile order, which makes every CSR row come out sorted).
#include "radius_graph.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <stdexcept>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NAS_RADIUS_X86 1
#include <immintrin.h>
#endif

#include "common.h"

namespace nas {

namespace {

constexpr int64_t kBlockRows = 16;  // tile rows per OpenMP work item

using ExactFn = double (*)(const float*, const float*, int64_t, bool);

}  // namespace

struct RadiusGraphBuilder::Scan {
    const float* dots;
    int64_t k, row0, col0;
    const int64_t* row_ids;  // add_tile_indexed: global row of tile row a (else row0 + a)
    const int64_t* col_ids;  // add_tile_indexed: global column of tile column b (else col0 + b)
    const float* X;
    int64_t d;
    bool euclidean;
    const float* col_term;  // euclidean: indexed by tile column (already offset / gathered)
    const float* row_term;  // euclidean: indexed by global row
    float cosine_candidate;
    float delta;
    ExactFn exact;
};

namespace {

using Scan = RadiusGraphBuilder::Scan;

// Exact distance of two float32 rows, accumulated in double: 1 - <x, y> (cosine, clamped at 0) or |x - y|.
double exact_distance_scalar(const float* x, const float* y, int64_t d, bool euclidean) {
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t t = 0;
    if (euclidean) {
        for (; t + 4 <= d; t += 4)
            for (int l = 0; l < 4; ++l) {
                const double diff = static_cast<double>(x[t + l]) - static_cast<double>(y[t + l]);
                acc[l] += diff * diff;
            }
        for (; t < d; ++t) {
            const double diff = static_cast<double>(x[t]) - static_cast<double>(y[t]);
            acc[0] += diff * diff;
        }
        return std::sqrt((acc[0] + acc[1]) + (acc[2] + acc[3]));
    }
    for (; t + 4 <= d; t += 4)
        for (int l = 0; l < 4; ++l) acc[l] += static_cast<double>(x[t + l]) * static_cast<double>(y[t + l]);
    for (; t < d; ++t) acc[0] += static_cast<double>(x[t]) * static_cast<double>(y[t]);
    return std::max(0.0, 1.0 - ((acc[0] + acc[1]) + (acc[2] + acc[3])));
}

// A candidate (i, j) becomes a pair when its exact distance, rounded to float32, is below delta.
inline void keep_if_within(const Scan& s, int64_t i, int64_t j, std::vector<RadiusPair>& out) {
    const float dist = static_cast<float>(s.exact(s.X + i * s.d, s.X + j * s.d, s.d, s.euclidean));
    if (dist < s.delta) out.push_back({static_cast<int32_t>(i), static_cast<int32_t>(j), dist});
}

// First column (tile-local) of row a that lies strictly above the diagonal (indexed tiles: all of them).
inline int64_t first_column(const Scan& s, int64_t a) {
    if (s.row_ids != nullptr) return 0;
    return std::min(s.k, std::max<int64_t>(0, s.row0 + a + 1 - s.col0));
}

inline int64_t row_of(const Scan& s, int64_t a) { return s.row_ids != nullptr ? s.row_ids[a] : s.row0 + a; }
inline int64_t col_of(const Scan& s, int64_t b) { return s.col_ids != nullptr ? s.col_ids[b] : s.col0 + b; }

void scan_row_scalar(const Scan& s, int64_t a, std::vector<RadiusPair>& out) {
    const int64_t i = row_of(s, a);
    const float* g = s.dots + a * s.k;
    if (s.euclidean) {
        const float thr = s.row_term[i];
        const float* c = s.col_term;
        for (int64_t b = first_column(s, a); b < s.k; ++b)
            if (std::fma(-2.0f, g[b], c[b]) < thr) keep_if_within(s, i, col_of(s, b), out);
    } else {
        for (int64_t b = first_column(s, a); b < s.k; ++b)
            if (1.0f - g[b] < s.cosine_candidate) keep_if_within(s, i, col_of(s, b), out);
    }
}

#ifdef NAS_RADIUS_X86

__attribute__((target("avx2,fma"))) double exact_distance_avx2(const float* x, const float* y, int64_t d,
                                                                 bool euclidean) {
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    int64_t t = 0;
    for (; t + 8 <= d; t += 8) {
        const __m256 xv = _mm256_loadu_ps(x + t), yv = _mm256_loadu_ps(y + t);
        const __m256d xl = _mm256_cvtps_pd(_mm256_castps256_ps128(xv));
        const __m256d xh = _mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1));
        const __m256d yl = _mm256_cvtps_pd(_mm256_castps256_ps128(yv));
        const __m256d yh = _mm256_cvtps_pd(_mm256_extractf128_ps(yv, 1));
        if (euclidean) {
            const __m256d dl = _mm256_sub_pd(xl, yl), dh = _mm256_sub_pd(xh, yh);
            acc0 = _mm256_fmadd_pd(dl, dl, acc0);
            acc1 = _mm256_fmadd_pd(dh, dh, acc1);
        } else {
            acc0 = _mm256_fmadd_pd(xl, yl, acc0);
            acc1 = _mm256_fmadd_pd(xh, yh, acc1);
        }
    }
    alignas(32) double lanes[4];
    _mm256_store_pd(lanes, _mm256_add_pd(acc0, acc1));
    double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; t < d; ++t) {
        const double xd = x[t], yd = y[t];
        sum += euclidean ? (xd - yd) * (xd - yd) : xd * yd;
    }
    return euclidean ? std::sqrt(sum) : std::max(0.0, 1.0 - sum);
}

__attribute__((target("avx512f"))) double exact_distance_avx512(const float* x, const float* y, int64_t d,
                                                                  bool euclidean) {
    __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
    for (int64_t t = 0; t < d; t += 16) {
        const int64_t rest = d - t;
        const __mmask16 lm = rest >= 16 ? static_cast<__mmask16>(0xFFFF)
                                        : static_cast<__mmask16>((1u << rest) - 1u);
        const __m512 xv = _mm512_maskz_loadu_ps(lm, x + t), yv = _mm512_maskz_loadu_ps(lm, y + t);
        const __m512d xl = _mm512_cvtps_pd(_mm512_castps512_ps256(xv));
        const __m512d xh = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(xv), 1)));
        const __m512d yl = _mm512_cvtps_pd(_mm512_castps512_ps256(yv));
        const __m512d yh = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(yv), 1)));
        if (euclidean) {
            const __m512d dl = _mm512_sub_pd(xl, yl), dh = _mm512_sub_pd(xh, yh);
            acc0 = _mm512_fmadd_pd(dl, dl, acc0);
            acc1 = _mm512_fmadd_pd(dh, dh, acc1);
        } else {
            acc0 = _mm512_fmadd_pd(xl, yl, acc0);
            acc1 = _mm512_fmadd_pd(xh, yh, acc1);
        }
    }
    const double sum = _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
    return euclidean ? std::sqrt(sum) : std::max(0.0, 1.0 - sum);
}

// The candidate tests: cosine 1 - dot < t, euclidean fma(-2, dot, col_term) < row_term (t per row).
template <bool Euclidean>
__attribute__((target("avx2,fma"))) void scan_row_avx2_impl(const Scan& s, int64_t a,
                                                              std::vector<RadiusPair>& out) {
    const int64_t i = row_of(s, a), k = s.k;
    const float* g = s.dots + a * k;
    const float* c = Euclidean ? s.col_term : g;  // c is unused for cosine
    const float t = Euclidean ? s.row_term[i] : s.cosine_candidate;
    const __m256 thr = _mm256_set1_ps(t), minus_two = _mm256_set1_ps(-2.0f), one = _mm256_set1_ps(1.0f);
    int64_t b = first_column(s, a);
    for (; b + 8 <= k; b += 8) {
        const __m256 gv = _mm256_loadu_ps(g + b);
        const __m256 v = Euclidean ? _mm256_fmadd_ps(minus_two, gv, _mm256_loadu_ps(c + b)) : _mm256_sub_ps(one, gv);
        unsigned hit = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, thr, _CMP_LT_OQ)));
        while (hit) {
            keep_if_within(s, i, col_of(s, b + __builtin_ctz(hit)), out);
            hit &= hit - 1;
        }
    }
    for (; b < k; ++b) {
        const float v = Euclidean ? std::fma(-2.0f, g[b], c[b]) : 1.0f - g[b];
        if (v < t) keep_if_within(s, i, col_of(s, b), out);
    }
}

void scan_row_avx2(const Scan& s, int64_t a, std::vector<RadiusPair>& out) {
    if (s.euclidean) scan_row_avx2_impl<true>(s, a, out);
    else scan_row_avx2_impl<false>(s, a, out);
}

template <bool Euclidean>
__attribute__((target("avx512f"))) inline __mmask16 candidates_avx512(const float* g, const float* c, __m512 thr,
                                                                        __mmask16 lanes) {
    const __m512 gv = _mm512_maskz_loadu_ps(lanes, g);
    const __m512 v = Euclidean ? _mm512_fmadd_ps(_mm512_set1_ps(-2.0f), gv, _mm512_maskz_loadu_ps(lanes, c))
                               : _mm512_sub_ps(_mm512_set1_ps(1.0f), gv);
    return _mm512_mask_cmp_ps_mask(lanes, v, thr, _CMP_LT_OQ);
}

// 64 columns per step; the rare hits are handed to keep_if_within.
template <bool Euclidean>
__attribute__((target("avx512f"))) void scan_row_avx512_impl(const Scan& s, int64_t a,
                                                              std::vector<RadiusPair>& out) {
    const int64_t i = row_of(s, a), k = s.k;
    const float* g = s.dots + a * k;
    const float* c = Euclidean ? s.col_term : g;  // c is unused for cosine
    const __m512 thr = _mm512_set1_ps(Euclidean ? s.row_term[i] : s.cosine_candidate);
    const __mmask16 all = 0xFFFF;
    int64_t b = first_column(s, a);
    for (; b + 64 <= k; b += 64) {
        const __mmask16 h0 = candidates_avx512<Euclidean>(g + b, c + b, thr, all);
        const __mmask16 h1 = candidates_avx512<Euclidean>(g + b + 16, c + b + 16, thr, all);
        const __mmask16 h2 = candidates_avx512<Euclidean>(g + b + 32, c + b + 32, thr, all);
        const __mmask16 h3 = candidates_avx512<Euclidean>(g + b + 48, c + b + 48, thr, all);
        uint64_t hit = static_cast<uint64_t>(h0) | (static_cast<uint64_t>(h1) << 16) |
                       (static_cast<uint64_t>(h2) << 32) | (static_cast<uint64_t>(h3) << 48);
        while (hit) {
            keep_if_within(s, i, col_of(s, b + __builtin_ctzll(hit)), out);
            hit &= hit - 1;
        }
    }
    for (; b < k; b += 16) {
        const int64_t rest = k - b;
        const __mmask16 lanes = rest >= 16 ? all : static_cast<__mmask16>((1u << rest) - 1u);
        unsigned hit = candidates_avx512<Euclidean>(g + b, c + b, thr, lanes);
        while (hit) {
            keep_if_within(s, i, col_of(s, b + __builtin_ctz(hit)), out);
            hit &= hit - 1;
        }
    }
}

void scan_row_avx512(const Scan& s, int64_t a, std::vector<RadiusPair>& out) {
    if (s.euclidean) scan_row_avx512_impl<true>(s, a, out);
    else scan_row_avx512_impl<false>(s, a, out);
}

#endif  // NAS_RADIUS_X86

using ScanRowFn = void (*)(const Scan&, int64_t, std::vector<RadiusPair>&);

}  // namespace

struct RadiusKernels {
    const char* isa;
    ScanRowFn scan_row;
    ExactFn exact;
};

namespace {

// Every kernel this CPU can run, best first.
std::vector<RadiusKernels> runnable_kernels() {
    std::vector<RadiusKernels> out;
#ifdef NAS_RADIUS_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) out.push_back({"avx512", scan_row_avx512, exact_distance_avx512});
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        out.push_back({"avx2", scan_row_avx2, exact_distance_avx2});
#endif
    out.push_back({"scalar", scan_row_scalar, exact_distance_scalar});
    return out;
}

const std::vector<RadiusKernels>& kernel_table() {
    static const std::vector<RadiusKernels> table = runnable_kernels();
    return table;
}

// Smallest float32 that is >= value (value finite or +inf).
float round_up_to_float(double value) {
    float f = static_cast<float>(value);
    if (static_cast<double>(f) < value) f = std::nextafter(f, std::numeric_limits<float>::infinity());
    return f;
}

}  // namespace

std::vector<std::string> RadiusGraphBuilder::available_isas() {
    std::vector<std::string> names;
    for (const RadiusKernels& k : kernel_table()) names.emplace_back(k.isa);
    return names;
}

const char* RadiusGraphBuilder::isa() const { return kernels_->isa; }

RadiusGraphBuilder::RadiusGraphBuilder(const float* X, int64_t n, int64_t d, const float* sq_norms,
                                       RadiusMetric metric, double delta, const std::string& isa)
    : X_(X), n_(n), d_(d), metric_(metric), delta_(static_cast<float>(delta)), kernels_(nullptr) {
    const char* fn = "RadiusGraphBuilder";
    for (const RadiusKernels& k : kernel_table())
        if (isa == "auto" || isa == k.isa) {
            kernels_ = &k;
            break;
        }
    if (kernels_ == nullptr) {
        std::string names = "'auto'";
        for (const RadiusKernels& k : kernel_table()) names += std::string(", '") + k.isa + "'";
        bad_argument(fn, "isa", "one of " + names + " on this CPU", "'" + isa + "'");
    }
    if (n < 1 || n > std::numeric_limits<int32_t>::max()) bad_argument(fn, "X", "1 to 2^31 - 1 rows", to_str(n));
    if (d < 1) bad_argument(fn, "X", "at least 1 column", to_str(d));
    if (!(delta > 0.0) || std::isnan(delta)) bad_argument(fn, "delta", "a float in (0, inf]", to_str(delta));
    if (metric == RadiusMetric::euclidean && sq_norms == nullptr)
        bad_argument(fn, "sq_norms", "the squared row norms for the euclidean metric", "None");
    // The GEMM products carry a rounding error of at most ~(d + 2) u (|x|^2 + |y|^2) whatever the summation
    // order (u = 2^-24); the candidate tests widen delta by 8 (d + 8) u of that scale so that they can
    // only admit extra candidates, which the exact re-check then rejects.
    const double slack = 8.0 * static_cast<double>(d + 8) * std::ldexp(1.0, -24);
    const double delta_f = static_cast<double>(delta_);
    if (metric == RadiusMetric::cosine) {
        cosine_candidate_ = round_up_to_float(delta_f + slack * (2.0 + delta_f));
    } else {
        const double delta_sq = delta_f * delta_f;
        col_term_.resize(static_cast<size_t>(n));
        row_term_.resize(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
            const double sq = static_cast<double>(sq_norms[i]);
            col_term_[static_cast<size_t>(i)] = static_cast<float>(sq * (1.0 - slack));
            row_term_[static_cast<size_t>(i)] = round_up_to_float(delta_sq * (1.0 + slack) - sq * (1.0 - slack));
        }
    }
}

int64_t RadiusGraphBuilder::add_tile(const float* dots, int64_t row0, int64_t m, int64_t col0, int64_t k,
                                     int64_t order_key) {
    const char* fn = "RadiusGraphBuilder.add_tile";
    if (row0 < 0 || m < 0 || row0 + m > n_) bad_argument(fn, "row0", "a row range inside [0, n)", to_str(row0));
    if (col0 < 0 || k < 0 || col0 + k > n_) bad_argument(fn, "col0", "a column range inside [0, n)", to_str(col0));
    if (order_key < 0) order_key = row0;
    if (order_key > row0) bad_argument(fn, "order_key", "in [0, row0] (or -1 for row0)", to_str(order_key));
    if (m == 0 || k == 0 || col0 + k <= row0 + 1) return n_pairs_;
    const float* col_term = col_term_.empty() ? nullptr : col_term_.data() + col0;
    return scan_tile(dots, m, k, row0, col0, nullptr, nullptr, col_term, order_key);
}

int64_t RadiusGraphBuilder::add_tile_indexed(const float* dots, const int64_t* row_ids, int64_t m,
                                             const int64_t* col_ids, int64_t k, int64_t order_key) {
    const char* fn = "RadiusGraphBuilder.add_tile_indexed";
    if (m == 0 || k == 0) return n_pairs_;
    for (int64_t a = 0; a < m; ++a)
        if (row_ids[a] < 0 || row_ids[a] >= n_ || (a > 0 && row_ids[a] <= row_ids[a - 1]))
            bad_argument(fn, "rows", "strictly increasing indices in [0, n)", to_str(row_ids[a]));
    for (int64_t b = 0; b < k; ++b)
        if (col_ids[b] < 0 || col_ids[b] >= n_ || (b > 0 && col_ids[b] <= col_ids[b - 1]))
            bad_argument(fn, "cols", "strictly increasing indices in [0, n)", to_str(col_ids[b]));
    if (col_ids[0] <= row_ids[m - 1])
        bad_argument(fn, "cols", "indices above every row index (a tile strictly above the diagonal)",
                     to_str(col_ids[0]));
    if (order_key < 0 || order_key > row_ids[0])
        bad_argument(fn, "order_key", "in [0, rows[0]]", to_str(order_key));
    std::vector<float> gathered;
    if (!col_term_.empty()) {
        gathered.resize(static_cast<size_t>(k));
        for (int64_t b = 0; b < k; ++b) gathered[static_cast<size_t>(b)] = col_term_[static_cast<size_t>(col_ids[b])];
    }
    return scan_tile(dots, m, k, row_ids[0], col_ids[0], row_ids, col_ids, gathered.empty() ? nullptr : gathered.data(),
                     order_key);
}

int64_t RadiusGraphBuilder::scan_tile(const float* dots, int64_t m, int64_t k, int64_t row0, int64_t col0,
                                      const int64_t* row_ids, const int64_t* col_ids, const float* col_term,
                                      int64_t order_key) {
    const RadiusKernels& kern = *kernels_;
    const Scan scan{dots, k, row0, col0, row_ids, col_ids, X_, d_, metric_ == RadiusMetric::euclidean, col_term,
                    row_term_.empty() ? nullptr : row_term_.data(),
                    cosine_candidate_, delta_, kern.exact};
    const int64_t n_blocks = (m + kBlockRows - 1) / kBlockRows;
    if (static_cast<int64_t>(block_scratch_.size()) < n_blocks) block_scratch_.resize(static_cast<size_t>(n_blocks));

    std::exception_ptr failure = nullptr;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        std::vector<RadiusPair>& out = block_scratch_[static_cast<size_t>(blk)];
        out.clear();
        try {
            const int64_t end = std::min(m, (blk + 1) * kBlockRows);
            for (int64_t a = blk * kBlockRows; a < end; ++a) kern.scan_row(scan, a, out);
        } catch (...) {
#pragma omp critical(nas_radius_failure)
            failure = std::current_exception();
        }
    }
    if (failure) std::rethrow_exception(failure);

    int64_t total = 0;
    for (int64_t blk = 0; blk < n_blocks; ++blk) total += static_cast<int64_t>(block_scratch_[static_cast<size_t>(blk)].size());
    if (total > 0) {
        Chunk chunk{order_key, col0, {}};
        chunk.pairs.reserve(static_cast<size_t>(total));
        for (int64_t blk = 0; blk < n_blocks; ++blk) {
            const auto& part = block_scratch_[static_cast<size_t>(blk)];
            chunk.pairs.insert(chunk.pairs.end(), part.begin(), part.end());
        }
        chunks_.push_back(std::move(chunk));
        n_pairs_ += total;
    }
    return n_pairs_;
}

void RadiusGraphBuilder::assemble(int64_t* indptr, int32_t* indices, float* dist) {
    // Tile order (row block, then column block) visits each row's larger neighbours in ascending order and
    // each row's smaller neighbours (the mirrored pairs) in ascending order too.
    std::stable_sort(chunks_.begin(), chunks_.end(), [](const Chunk& x, const Chunk& y) {
        return x.row0 != y.row0 ? x.row0 < y.row0 : x.col0 < y.col0;
    });
    const size_t n = static_cast<size_t>(n_);
    std::vector<int64_t> upper(n, 0), lower(n, 0);  // neighbours above / below each row's own index
#pragma omp parallel sections
    {
#pragma omp section
        for (const Chunk& chunk : chunks_)
            for (const RadiusPair& p : chunk.pairs) ++upper[static_cast<size_t>(p.row)];
#pragma omp section
        for (const Chunk& chunk : chunks_)
            for (const RadiusPair& p : chunk.pairs) ++lower[static_cast<size_t>(p.col)];
    }
    indptr[0] = 0;
    for (size_t r = 0; r < n; ++r) {
        const int64_t start = indptr[r];
        indptr[r + 1] = start + lower[r] + 1 + upper[r];
        indices[start + lower[r]] = static_cast<int32_t>(r);  // the self-loop sits between the two halves
        dist[start + lower[r]] = 0.0f;
        upper[r] = start + lower[r] + 1;  // now: write cursor of the larger neighbours
        lower[r] = start;                 // now: write cursor of the smaller neighbours
    }
#pragma omp parallel sections
    {
#pragma omp section
        for (const Chunk& chunk : chunks_)
            for (const RadiusPair& p : chunk.pairs) {
                const int64_t at = upper[static_cast<size_t>(p.row)]++;
                indices[at] = p.col;
                dist[at] = p.dist;
            }
#pragma omp section
        for (const Chunk& chunk : chunks_)
            for (const RadiusPair& p : chunk.pairs) {
                const int64_t at = lower[static_cast<size_t>(p.col)]++;
                indices[at] = p.row;
                dist[at] = p.dist;
            }
    }
    chunks_.clear();
    chunks_.shrink_to_fit();
    block_scratch_.clear();
    block_scratch_.shrink_to_fit();
    n_pairs_ = 0;
}

}  // namespace nas
