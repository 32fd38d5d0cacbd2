// k-nearest-neighbour graph on the CPU (see knn_graph.h).
#include "cpu/knn_graph.h"

#include "common.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nas {

namespace {

struct Candidate {
    float key;
    int32_t index;
};

inline bool better(const Candidate& a, const Candidate& b) {
    return a.key < b.key || (a.key == b.key && a.index < b.index);
}

constexpr int64_t kBlock = 64;

// Per-thread buffers of the row scan.
struct ScanScratch {
    std::vector<float> keys;        // one tile row of keys
    std::vector<float> block_mins;  // the smallest key of each block of kBlock columns
    std::vector<float> order;       // a copy of block_mins for nth_element
    std::vector<Candidate> kept;    // the candidates of the row
};

// Keys of one tile row (vectorised), returning the sum of the distances from `self` to every other row.
// Keys: sq[j] - 2<x_i, x_j> (euclidean), -<x_i, x_j> (cosine); smaller is nearer.
template <KnnMetric metric>
inline __attribute__((always_inline)) double row_keys(const float* row, const float* sq, int64_t n,
                                                     int64_t self, float* keys, float* block_mins) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    const float sq_self = metric == KnnMetric::euclidean ? sq[self] : 0.0f;
    double sum = 0.0;
    for (int64_t j0 = 0, b = 0; j0 < n; j0 += kBlock, ++b) {
        const int64_t len = std::min(kBlock, n - j0);
        float block_min = kInf, block_sum = 0.0f;
#pragma omp simd reduction(min : block_min) reduction(+ : block_sum)
        for (int64_t u = 0; u < len; ++u) {
            float key;
            if constexpr (metric == KnnMetric::euclidean) {
                key = sq[j0 + u] - 2.0f * row[j0 + u];
                block_sum += std::sqrt(std::max(sq_self + key, 0.0f));
            } else {
                key = -row[j0 + u];
                block_sum += 1.0f + key;
            }
            keys[j0 + u] = key;
            block_min = std::min(block_min, key);
        }
        sum += static_cast<double>(block_sum);
        block_mins[b] = block_min;
    }
    if constexpr (metric == KnnMetric::euclidean) {
        sum -= static_cast<double>(std::sqrt(std::max(sq_self + keys[self], 0.0f)));
    } else {
        sum -= static_cast<double>(1.0f + keys[self]);
    }
    return sum;
}

// The key pass compiled for AVX-512, AVX2 and baseline x86-64, picked at load time (one portable wheel).
NAS_CPU_DISPATCH double row_keys_euclidean(const float* row, const float* sq, int64_t n, int64_t self, float* keys,
                                           float* block_mins) {
    return row_keys<KnnMetric::euclidean>(row, sq, n, self, keys, block_mins);
}

NAS_CPU_DISPATCH double row_keys_cosine(const float* row, const float* sq, int64_t n, int64_t self, float* keys,
                                        float* block_mins) {
    return row_keys<KnnMetric::cosine>(row, sq, n, self, keys, block_mins);
}

// Leaves in scratch.kept the n_cand best (key, index) of one tile row, self excluded, ties to the lowest
// index; returns the row's distance sum. Partial selection without a sort of the row: the n_cand-th
// smallest block minimum bounds the n_cand-th smallest key (n_cand blocks each hold a key at or below it),
// so only blocks whose minimum is within that bound are visited, and only their keys within it are kept.
double select_row(const float* row, const float* sq, int64_t n, int64_t self, int64_t n_cand, KnnMetric metric,
                  ScanScratch& scratch) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    const int64_t n_blocks = (n + kBlock - 1) / kBlock;
    scratch.keys.resize(static_cast<size_t>(n));
    scratch.block_mins.resize(static_cast<size_t>(n_blocks));
    float* keys = scratch.keys.data();
    float* block_mins = scratch.block_mins.data();
    const double sum = metric == KnnMetric::euclidean ? row_keys_euclidean(row, sq, n, self, keys, block_mins)
                                                      : row_keys_cosine(row, sq, n, self, keys, block_mins);
    // The row itself is never a candidate: drop it from its block's minimum.
    keys[self] = kInf;
    const int64_t self_block = self / kBlock;
    const int64_t self_end = std::min(n, (self_block + 1) * kBlock);
    block_mins[self_block] = *std::min_element(keys + self_block * kBlock, keys + self_end);

    float bound = kInf;
    if (n_blocks >= n_cand) {
        scratch.order.assign(block_mins, block_mins + n_blocks);
        std::nth_element(scratch.order.begin(), scratch.order.begin() + (n_cand - 1), scratch.order.end());
        bound = scratch.order[n_cand - 1];
    }
    std::vector<Candidate>& kept = scratch.kept;
    kept.clear();
    for (int64_t b = 0; b < n_blocks; ++b) {
        if (!(block_mins[b] <= bound)) continue;
        const int64_t end = std::min(n, (b + 1) * kBlock);
        for (int64_t j = b * kBlock; j < end; ++j)
            if (keys[j] <= bound && j != self) kept.push_back({keys[j], static_cast<int32_t>(j)});
    }
    if (static_cast<int64_t>(kept.size()) > n_cand) {
        std::nth_element(kept.begin(), kept.begin() + (n_cand - 1), kept.end(), better);
        kept.resize(static_cast<size_t>(n_cand));
    }
    return sum;
}

// Exact distance between rows a and b of X, accumulated in double.
NAS_CPU_DISPATCH double exact_distance(const float* X, int64_t d, int64_t a, int64_t b, KnnMetric metric) {
    const float* xa = X + a * d;
    const float* xb = X + b * d;
    double acc = 0.0;
    if (metric == KnnMetric::euclidean) {
#pragma omp simd reduction(+ : acc)
        for (int64_t c = 0; c < d; ++c) {
            const double diff = static_cast<double>(xa[c]) - static_cast<double>(xb[c]);
            acc += diff * diff;
        }
        return std::sqrt(acc);
    }
#pragma omp simd reduction(+ : acc)
    for (int64_t c = 0; c < d; ++c) acc += static_cast<double>(xa[c]) * static_cast<double>(xb[c]);
    return std::max(1.0 - acc, 0.0);
}

}  // namespace

void knn_select_tile_cpu(const float* dots, int64_t tile_rows, int64_t n, const float* X, int64_t d,
                         const float* sq, int64_t row0, int64_t k, int64_t candidates, KnnMetric metric,
                         int32_t* out_indices, float* out_dist, double* pair_sums) {
    const int64_t n_cand = std::min<int64_t>(std::max(candidates, k), n - 1);
#pragma omp parallel
    {
        ScanScratch scratch;
        std::vector<std::pair<double, int32_t>> ranked;
        ranked.reserve(static_cast<size_t>(n_cand));
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tile_rows; ++t) {
            const int64_t self = row0 + t;
            pair_sums[t] = select_row(dots + t * n, sq, n, self, n_cand, metric, scratch);

            ranked.clear();
            for (const Candidate& c : scratch.kept)
                ranked.emplace_back(exact_distance(X, d, self, c.index, metric), c.index);
            std::partial_sort(ranked.begin(), ranked.begin() + k, ranked.end());
            std::sort(ranked.begin(), ranked.begin() + k,
                      [](const auto& a, const auto& b) { return a.second < b.second; });
            for (int64_t q = 0; q < k; ++q) {
                out_indices[t * k + q] = ranked[q].second;
                out_dist[t * k + q] = static_cast<float>(ranked[q].first);
            }
        }
    }
}

void knn_symmetrize_cpu(const int32_t* neighbours, const float* dist, int64_t n, int64_t k, int64_t* indptr,
                        const std::function<EdgeArrays(int64_t)>& allocate) {
    // Reverse lists (who has row y among its neighbours), sources ascending by construction.
    std::vector<int64_t> rev_ptr(static_cast<size_t>(n) + 1, 0);
    for (int64_t e = 0; e < n * k; ++e) ++rev_ptr[static_cast<size_t>(neighbours[e]) + 1];
    for (int64_t y = 0; y < n; ++y) rev_ptr[y + 1] += rev_ptr[y];
    std::vector<int32_t> rev_src(static_cast<size_t>(n * k));
    std::vector<float> rev_dist(static_cast<size_t>(n * k));
    {
        std::vector<int64_t> fill(rev_ptr.begin(), rev_ptr.end() - 1);
        for (int64_t x = 0; x < n; ++x) {
            for (int64_t q = 0; q < k; ++q) {
                const int64_t pos = fill[neighbours[x * k + q]]++;
                rev_src[pos] = static_cast<int32_t>(x);
                rev_dist[pos] = dist[x * k + q];
            }
        }
    }

    // Merge of the two sorted lists of each row: a count pass, then the fill pass.
    auto merge_row = [&](int64_t x, int32_t* idx_out, float* dist_out) -> int64_t {
        const int32_t* a = neighbours + x * k;
        const int32_t* a_end = a + k;
        const float* ad = dist + x * k;
        int64_t b = rev_ptr[x];
        const int64_t b_end = rev_ptr[x + 1];
        int64_t count = 0;
        while (a != a_end || b != b_end) {
            int32_t node;
            float value;
            if (b == b_end || (a != a_end && *a < rev_src[b])) {
                node = *a++;
                value = *ad++;
            } else if (a == a_end || rev_src[b] < *a) {
                node = rev_src[b];
                value = rev_dist[b++];
            } else {
                node = *a++;
                value = *ad++;
                ++b;
            }
            if (idx_out != nullptr) {
                idx_out[count] = node;
                dist_out[count] = value;
            }
            ++count;
        }
        return count;
    };

    indptr[0] = 0;
#pragma omp parallel for schedule(static)
    for (int64_t x = 0; x < n; ++x) indptr[x + 1] = merge_row(x, nullptr, nullptr);
    for (int64_t x = 0; x < n; ++x) indptr[x + 1] += indptr[x];

    const EdgeArrays out = allocate(indptr[n]);
#pragma omp parallel for schedule(static)
    for (int64_t x = 0; x < n; ++x) merge_row(x, out.indices + indptr[x], out.dist + indptr[x]);
}

}  // namespace nas
