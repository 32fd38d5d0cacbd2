// Sparse Laplacian diffusion on the CPU (see diffusion.h).
#include "cpu/diffusion.h"

#include <algorithm>
#include <cmath>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common.h"

namespace nas {

namespace {

int thread_count() {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

int thread_id() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// First row of part `part` of `parts` when rows are split evenly by (edges + rows) up to them.
int64_t split_row(const int64_t* indptr, int64_t n, int part, int parts) {
    if (part >= parts) return n;
    const int64_t total = indptr[n] + n;
    const int64_t target = static_cast<int64_t>(static_cast<double>(total) * part / parts);
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (indptr[mid] + mid < target) lo = mid + 1; else hi = mid;
    }
    return lo;
}

// step / D_i per row (0 where the weights sum to zero), checking the graph and the weights on the way.
template <typename T>
std::vector<T> row_coefficients(const int64_t* indptr, const int32_t* indices, const float* weights, int64_t n,
                                double step) {
    const int64_t nnz = indptr[n];
    std::vector<T> coef(static_cast<size_t>(n));
    int64_t bad_row = -1, bad_index = -1, bad_weight = -1;
#pragma omp parallel for schedule(static) reduction(max : bad_row, bad_index, bad_weight)
    for (int64_t i = 0; i < n; ++i) {
        const int64_t b = indptr[i], e = indptr[i + 1];
        if (b < 0 || e < b || e > nnz) {
            bad_row = std::max(bad_row, i);
            coef[i] = T(0);
            continue;
        }
        double sum = 0.0;
        for (int64_t p = b; p < e; ++p) {
            const int32_t j = indices[p];
            if (j < 0 || j >= n) bad_index = std::max(bad_index, p);
            const float w = weights[p];
            if (!(w >= 0.0f) || !std::isfinite(w)) bad_weight = std::max(bad_weight, p);
            sum += static_cast<double>(w);
        }
        coef[i] = sum > 0.0 ? static_cast<T>(step / sum) : T(0);
    }
    if (bad_row >= 0)
        bad_argument("diffuse", "graph", "a CSR graph with non-decreasing indptr in [0, nnz]",
                     "a decreasing indptr at row " + to_str(bad_row));
    if (bad_index >= 0)
        bad_argument("diffuse", "graph", "a CSR graph with indices in [0, " + to_str(n) + ")",
                     "index " + to_str(indices[bad_index]) + " at edge " + to_str(bad_index));
    if (bad_weight >= 0)
        bad_argument("diffuse", "weights", "finite and non-negative",
                     "the value " + to_str(weights[bad_weight]) + " at edge " + to_str(bad_weight));
    return coef;
}

// One Euler step for the rows [lo, hi) of a single signal (m == 1).
template <typename T>
inline void step_rows_single(const int64_t* indptr, const int32_t* indices, const float* weights, const T* coef,
                             T keep, const T* cur, T* nxt, int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
        const T c = coef[i];
        if (c == T(0)) {
            nxt[i] = cur[i];
            continue;
        }
        const int64_t e = indptr[i + 1];
        int64_t p = indptr[i];
        // Four independent sums hide the add latency on short rows.
        T a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (; p + 4 <= e; p += 4) {
            a0 += static_cast<T>(weights[p]) * cur[indices[p]];
            a1 += static_cast<T>(weights[p + 1]) * cur[indices[p + 1]];
            a2 += static_cast<T>(weights[p + 2]) * cur[indices[p + 2]];
            a3 += static_cast<T>(weights[p + 3]) * cur[indices[p + 3]];
        }
        for (; p < e; ++p) a0 += static_cast<T>(weights[p]) * cur[indices[p]];
        nxt[i] = keep * cur[i] + c * ((a0 + a1) + (a2 + a3));
    }
}

// One Euler step for the rows [lo, hi) of m signals stored row-major; acc is m scratch values.
template <typename T>
inline void step_rows_multi(const int64_t* indptr, const int32_t* indices, const float* weights, const T* coef,
                            T keep, const T* cur, T* nxt, int64_t m, int64_t lo, int64_t hi, T* acc) {
    for (int64_t i = lo; i < hi; ++i) {
        const T c = coef[i];
        const T* own = cur + i * m;
        T* dst = nxt + i * m;
        if (c == T(0)) {
            std::copy(own, own + m, dst);
            continue;
        }
        std::fill(acc, acc + m, T(0));
        for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p) {
            const T w = static_cast<T>(weights[p]);
            const T* src = cur + static_cast<int64_t>(indices[p]) * m;
#pragma omp simd
            for (int64_t q = 0; q < m; ++q) acc[q] += w * src[q];
        }
#pragma omp simd
        for (int64_t q = 0; q < m; ++q) dst[q] = keep * own[q] + c * acc[q];
    }
}

}  // namespace

template <typename T>
void diffuse_cpu(const int64_t* indptr, const int32_t* indices, const float* weights, int64_t n, int64_t m,
                 const T* values, T* out, const int64_t* fixed, int64_t n_fixed, T fixed_value, double step,
                 int64_t n_steps) {
    const std::vector<T> coef = row_coefficients<T>(indptr, indices, weights, n, step);
    const T keep = static_cast<T>(1.0 - step);
    // Start in the buffer that makes the last step land in `out`.
    std::vector<T> scratch(n_steps > 0 ? static_cast<size_t>(n * m) : 0);
    T* first = (n_steps % 2 == 0) ? out : scratch.data();
    T* second = (n_steps % 2 == 0) ? scratch.data() : out;

#pragma omp parallel
    {
        const int parts = thread_count(), part = thread_id();
        const int64_t lo = split_row(indptr, n, part, parts);
        const int64_t hi = split_row(indptr, n, part + 1, parts);
        const int64_t f_lo = std::lower_bound(fixed, fixed + n_fixed, lo) - fixed;
        const int64_t f_hi = std::lower_bound(fixed, fixed + n_fixed, hi) - fixed;
        auto reset_fixed = [&](T* buffer) {
            for (int64_t f = f_lo; f < f_hi; ++f) std::fill(buffer + fixed[f] * m, buffer + (fixed[f] + 1) * m, fixed_value);
        };
        std::vector<T> acc(static_cast<size_t>(m));

        std::copy(values + lo * m, values + hi * m, first + lo * m);
        reset_fixed(first);
#pragma omp barrier
        T* const buffers[2] = {first, second};
        for (int64_t s = 0; s < n_steps; ++s) {
            const T* cur = buffers[s % 2];
            T* nxt = buffers[(s + 1) % 2];
            if (m == 1) {
                step_rows_single(indptr, indices, weights, coef.data(), keep, cur, nxt, lo, hi);
            } else {
                step_rows_multi(indptr, indices, weights, coef.data(), keep, cur, nxt, m, lo, hi, acc.data());
            }
            reset_fixed(nxt);
#pragma omp barrier
        }
    }
}

template void diffuse_cpu<float>(const int64_t*, const int32_t*, const float*, int64_t, int64_t, const float*,
                                 float*, const int64_t*, int64_t, float, double, int64_t);
template void diffuse_cpu<double>(const int64_t*, const int32_t*, const float*, int64_t, int64_t, const double*,
                                  double*, const int64_t*, int64_t, double, double, int64_t);

}  // namespace nas
