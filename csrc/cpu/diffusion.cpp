// Sparse Laplacian diffusion on the CPU (see diffusion.h).
#include "cpu/diffusion.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common.h"

namespace nas {

namespace {

// Threads worth starting for a graph: a step over fewer than this many rows + edges per thread is shorter
// than the barrier that ends it.
constexpr int64_t kWorkPerThread = 1 << 15;
// Edges between the one a row starts at and the one whose index and weight are prefetched (1 KiB each).
constexpr int64_t kPrefetchAhead = 256;

int threads_for(int64_t n, int64_t nnz) {
#ifdef _OPENMP
    const int64_t wanted = std::max<int64_t>(1, (n + nnz) / kWorkPerThread);
    return static_cast<int>(std::min<int64_t>(omp_get_max_threads(), wanted));
#else
    (void)n;
    (void)nnz;
    return 1;
#endif
}

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

// The barrier between two Euler steps. The OpenMP barrier spins for a long time before it sleeps; on a machine
// whose cores are shared with other busy processes, a spinning thread holds a core that the thread it waits
// for needs, and a 10-step call then runs several times slower with 2 threads than with 1. This barrier spins
// briefly, then yields the core at every check, which costs nothing when the machine is idle.
class StepBarrier {
  public:
    // Every thread of the team calls wait(team size).
    void wait(int parties) {
        const int generation = generation_.load(std::memory_order_acquire);
        if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == parties) {
            arrived_.store(0, std::memory_order_relaxed);
            generation_.fetch_add(1, std::memory_order_acq_rel);
            return;
        }
        for (int spins = 0; generation_.load(std::memory_order_acquire) == generation; ++spins) {
            if (spins < kSpinsBeforeYield) {
                pause();
            } else {
                std::this_thread::yield();
            }
        }
    }

  private:
    static constexpr int kSpinsBeforeYield = 2000;

    static void pause() {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }

    std::atomic<int> arrived_{0};
    std::atomic<int> generation_{0};
};

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

// Sums the weights of the rows [lo, hi) into sums (accumulated in double, stored in the value type) and
// checks their edges. Returns the first bad edge (index out of range or weight negative / not finite), or -1.
template <typename T>
int64_t row_sums(const int64_t* indptr, const int32_t* indices, const float* weights, int64_t n, int64_t lo,
                 int64_t hi, T* sums) {
    int64_t bad_edge = -1;
    for (int64_t i = lo; i < hi; ++i) {
        double sum = 0.0;
        for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p) {
            const float w = weights[p];
            if ((indices[p] < 0 || indices[p] >= n || !(w >= 0.0f) || !std::isfinite(w)) && bad_edge < 0)
                bad_edge = p;
            sum += static_cast<double>(w);
        }
        sums[i] = static_cast<T>(sum);
    }
    return bad_edge;
}

// Raises the error for the first bad edge the row-sum pass found (bad_edges: one slot per thread, -1 = none).
void raise_bad_edge(const char* function, const std::vector<int64_t>& bad_edges, const int32_t* indices,
                    const float* weights, int64_t n) {
    for (const int64_t p : bad_edges) {
        if (p < 0) continue;
        if (indices[p] < 0 || indices[p] >= n)
            bad_argument(function, "graph", "a CSR graph with indices in [0, " + to_str(n) + ")",
                         "index " + to_str(indices[p]) + " at edge " + to_str(p));
        bad_argument(function, "weights", "finite and non-negative",
                     "the value " + to_str(weights[p]) + " at edge " + to_str(p));
    }
}

// One Euler step for the rows [lo, hi) of a single signal (m == 1), in the value type. Dividing by D_i
// (rather than multiplying by a precomputed 1 / D_i) keeps rows of tiny (subnormal) weights finite.
template <typename T>
inline void step_rows_single(const int64_t* indptr, const int32_t* indices, const float* weights, const T* sums,
                             double step, const T* cur, T* nxt, int64_t lo, int64_t hi) {
    const T keep = static_cast<T>(1.0 - step), rate = static_cast<T>(step);
    const int64_t stream_end = indptr[hi];
    for (int64_t i = lo; i < hi; ++i) {
        const T d = sums[i];
        if (d == T(0)) {
            nxt[i] = cur[i];
            continue;
        }
        const int64_t e = indptr[i + 1];
        int64_t p = indptr[i];
        // The edge stream runs through the caches once per step; fetching it ahead without keeping it (NTA)
        // leaves the cache to the gathered values (~20% faster on a 1.7M-edge kNN graph).
        if (p + kPrefetchAhead < stream_end) {
            __builtin_prefetch(indices + p + kPrefetchAhead, 0, 0);
            __builtin_prefetch(weights + p + kPrefetchAhead, 0, 0);
        }
        // Four independent sums hide the add latency on short rows.
        T a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (; p + 4 <= e; p += 4) {
            a0 += static_cast<T>(weights[p]) * cur[indices[p]];
            a1 += static_cast<T>(weights[p + 1]) * cur[indices[p + 1]];
            a2 += static_cast<T>(weights[p + 2]) * cur[indices[p + 2]];
            a3 += static_cast<T>(weights[p + 3]) * cur[indices[p + 3]];
        }
        for (; p < e; ++p) a0 += static_cast<T>(weights[p]) * cur[indices[p]];
        nxt[i] = keep * cur[i] + rate * (((a0 + a1) + (a2 + a3)) / d);
    }
}

// One Euler step for the rows [lo, hi) of m signals stored row-major; acc is m scratch values.
template <typename T>
inline void step_rows_multi(const int64_t* indptr, const int32_t* indices, const float* weights, const T* sums,
                            double step, const T* cur, T* nxt, int64_t m, int64_t lo, int64_t hi, T* acc) {
    const T keep = static_cast<T>(1.0 - step), rate = static_cast<T>(step);
    for (int64_t i = lo; i < hi; ++i) {
        const T d = sums[i];
        const T* own = cur + i * m;
        T* dst = nxt + i * m;
        if (d == T(0)) {
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
        for (int64_t q = 0; q < m; ++q) dst[q] = keep * own[q] + rate * (acc[q] / d);
    }
}

}  // namespace

template <typename T>
void diffuse_cpu(const int64_t* indptr, const int32_t* indices, const float* weights, int64_t n, int64_t m,
                 const T* values, T* out, const int64_t* fixed, int64_t n_fixed, T fixed_value, double step,
                 int64_t n_steps) {
    std::vector<T> sums(static_cast<size_t>(n));
    // Start in the buffer that makes the last step land in `out`.
    std::unique_ptr<T[]> scratch(n_steps > 0 ? new T[static_cast<size_t>(n * m)] : nullptr);
    T* first = (n_steps % 2 == 0) ? out : scratch.get();
    T* second = (n_steps % 2 == 0) ? scratch.get() : out;
    const int threads = threads_for(n, indptr[n]);
    std::vector<int64_t> bad_edges(static_cast<size_t>(threads), -1);
    StepBarrier barrier;

    // One parallel region for the whole call: the row sums (and edge checks), the copy, then every step.
#pragma omp parallel num_threads(threads)
    {
        const int parts = thread_count(), part = thread_id();
        const int64_t lo = split_row(indptr, n, part, parts);
        const int64_t hi = split_row(indptr, n, part + 1, parts);
        const int64_t f_lo = std::lower_bound(fixed, fixed + n_fixed, lo) - fixed;
        const int64_t f_hi = std::lower_bound(fixed, fixed + n_fixed, hi) - fixed;
        auto reset_fixed = [&](T* buffer) {
            for (int64_t f = f_lo; f < f_hi; ++f)
                std::fill(buffer + fixed[f] * m, buffer + (fixed[f] + 1) * m, fixed_value);
        };
        std::vector<T> acc(static_cast<size_t>(m));

        bad_edges[part] = row_sums(indptr, indices, weights, n, lo, hi, sums.data());
        std::copy(values + lo * m, values + hi * m, first + lo * m);
        reset_fixed(first);
        barrier.wait(parts);
        const bool valid = std::all_of(bad_edges.begin(), bad_edges.begin() + parts, [](int64_t e) { return e < 0; });

        T* const buffers[2] = {first, second};
        for (int64_t s = 0; valid && s < n_steps; ++s) {
            const T* cur = buffers[s % 2];
            T* nxt = buffers[(s + 1) % 2];
            if (m == 1) {
                step_rows_single(indptr, indices, weights, sums.data(), step, cur, nxt, lo, hi);
            } else {
                step_rows_multi(indptr, indices, weights, sums.data(), step, cur, nxt, m, lo, hi, acc.data());
            }
            reset_fixed(nxt);
            barrier.wait(parts);
        }
    }

    raise_bad_edge("diffuse", bad_edges, indices, weights, n);
}

void propagate_select_cpu(const int64_t* indptr, const int32_t* indices, const float* weights, int64_t n,
                          double* field, const int64_t* ranked, int64_t n_ranked, int64_t candidate_size,
                          const int64_t* tie_key, int64_t n_picks, const int64_t* pinned, int64_t n_pinned,
                          bool pin_batch, double step, int64_t n_steps, int64_t* picks) {
    std::vector<double> sums(static_cast<size_t>(n));
    std::vector<double> scratch(static_cast<size_t>(n));
    std::vector<uint8_t> active(static_cast<size_t>(n), 0);
    for (int64_t r = 0; r < candidate_size; ++r) active[ranked[r]] = 1;
    const int threads = threads_for(n, indptr[n]);
    std::vector<int64_t> bad_edges(static_cast<size_t>(threads), -1);
    std::vector<int64_t> best_rows(static_cast<size_t>(threads), -1);
    std::vector<double> best_values(static_cast<size_t>(threads), 0.0);
    int64_t upcoming = candidate_size;
    int final_buffer = 0;
    StepBarrier barrier;

    // The better of two candidate rows: the higher value, on equal values the lower tie key; -1 is no row.
    auto better = [&](int64_t row, double value, int64_t best, double best_value) {
        return row >= 0 && (best < 0 || value > best_value || (value == best_value && tie_key[row] < tie_key[best]));
    };

#pragma omp parallel num_threads(threads)
    {
        const int parts = thread_count(), part = thread_id();
        const int64_t lo = split_row(indptr, n, part, parts);
        const int64_t hi = split_row(indptr, n, part + 1, parts);
        bad_edges[part] = row_sums(indptr, indices, weights, n, lo, hi, sums.data());
        barrier.wait(parts);
        const bool valid = std::all_of(bad_edges.begin(), bad_edges.begin() + parts, [](int64_t e) { return e < 0; });

        double* const buffers[2] = {field, scratch.data()};
        int current = 0;
        std::vector<int64_t> held;  // this thread's rows held at 0 during the steps
        if (pin_batch)
            for (int64_t f = 0; f < n_pinned; ++f)
                if (pinned[f] >= lo && pinned[f] < hi) held.push_back(pinned[f]);
        for (int64_t b = 0; valid && b < n_picks; ++b) {
            const double* cur = buffers[current];
            int64_t best = -1;
            double best_value = 0.0;
            for (int64_t i = lo; i < hi; ++i)
                if (active[i] && better(i, cur[i], best, best_value)) best = i, best_value = cur[i];
            best_rows[part] = best;
            best_values[part] = best_value;
            barrier.wait(parts);
            // Every thread reduces the same slots in the same order: the same pick, whatever the thread count.
            int64_t pick = -1;
            double pick_value = 0.0;
            for (int t = 0; t < parts; ++t)
                if (better(best_rows[t], best_values[t], pick, pick_value)) pick = best_rows[t], pick_value = best_values[t];
            if (part == 0) {
                picks[b] = pick;
                active[pick] = 0;
                if (upcoming < n_ranked) active[ranked[upcoming++]] = 1;
            }
            if (!pin_batch) held.clear();
            if (pick >= lo && pick < hi) held.push_back(pick);
            for (const int64_t f : held) buffers[current][f] = 0.0;
            barrier.wait(parts);
            for (int64_t s = 0; s < n_steps; ++s) {
                step_rows_single(indptr, indices, weights, sums.data(), step, buffers[current],
                                 buffers[1 - current], lo, hi);
                current = 1 - current;
                for (const int64_t f : held) buffers[current][f] = 0.0;
                barrier.wait(parts);
            }
        }
        if (part == 0) final_buffer = current;
    }

    raise_bad_edge("propagate_select", bad_edges, indices, weights, n);
    if (final_buffer == 1) std::copy(scratch.begin(), scratch.end(), field);
}

template void diffuse_cpu<float>(const int64_t*, const int32_t*, const float*, int64_t, int64_t, const float*,
                                 float*, const int64_t*, int64_t, float, double, int64_t);
template void diffuse_cpu<double>(const int64_t*, const int32_t*, const float*, int64_t, int64_t, const double*,
                                  double*, const int64_t*, int64_t, double, double, int64_t);

}  // namespace nas
