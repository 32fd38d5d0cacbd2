// k-nearest-neighbour graph on the CPU (see knn_graph.h).
#include "cpu/knn_graph.h"

#include <algorithm>
#include <cmath>
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

// Max-heap order on (key, index): the top is the worst candidate kept so far.
inline bool worse_first(const Candidate& a, const Candidate& b) {
    return a.key < b.key || (a.key == b.key && a.index < b.index);
}

// Sum over j != self of the distance from row self to j, from the tile row of products.
double row_distance_sum(const float* dots, const float* sq, int64_t n, int64_t self, KnnMetric metric) {
    double sum = 0.0;
    if (metric == KnnMetric::euclidean) {
        const float sq_self = sq[self];
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < n; ++j) {
            const float d2 = std::max(sq_self + sq[j] - 2.0f * dots[j], 0.0f);
            sum += static_cast<double>(std::sqrt(d2));
        }
        sum -= std::sqrt(static_cast<double>(std::max(2.0f * sq_self - 2.0f * dots[self], 0.0f)));
    } else {
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < n; ++j) {
            sum += static_cast<double>(1.0f - dots[j]);
        }
        sum -= static_cast<double>(1.0f - dots[self]);
    }
    return sum;
}

// Exact distance between rows a and b of X, accumulated in double.
double exact_distance(const float* X, int64_t d, int64_t a, int64_t b, KnnMetric metric) {
    const float* xa = X + a * d;
    const float* xb = X + b * d;
    double acc = 0.0;
    if (metric == KnnMetric::euclidean) {
        for (int64_t c = 0; c < d; ++c) {
            const double diff = static_cast<double>(xa[c]) - static_cast<double>(xb[c]);
            acc += diff * diff;
        }
        return std::sqrt(acc);
    }
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
        std::vector<Candidate> heap;
        heap.reserve(static_cast<size_t>(n_cand));
        std::vector<std::pair<double, int32_t>> ranked;
        ranked.reserve(static_cast<size_t>(n_cand));
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tile_rows; ++t) {
            const int64_t self = row0 + t;
            const float* row = dots + t * n;
            pair_sums[t] = row_distance_sum(row, sq, n, self, metric);

            heap.clear();
            for (int64_t j = 0; j < n; ++j) {
                if (j == self) continue;
                const float key = metric == KnnMetric::euclidean ? sq[j] - 2.0f * row[j] : -row[j];
                if (static_cast<int64_t>(heap.size()) < n_cand) {
                    heap.push_back({key, static_cast<int32_t>(j)});
                    std::push_heap(heap.begin(), heap.end(), worse_first);
                } else if (key < heap.front().key) {
                    // j is larger than every kept index, so an equal key never displaces (lowest index wins).
                    std::pop_heap(heap.begin(), heap.end(), worse_first);
                    heap.back() = {key, static_cast<int32_t>(j)};
                    std::push_heap(heap.begin(), heap.end(), worse_first);
                }
            }

            ranked.clear();
            for (const Candidate& c : heap) ranked.emplace_back(exact_distance(X, d, self, c.index, metric), c.index);
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
