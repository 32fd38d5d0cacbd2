// k-nearest-neighbour graph on the CPU: per-row top-k selection over a tile of dot products, and the
// symmetric union of the directed kNN lists.
#pragma once

#include <cstdint>
#include <functional>

namespace nas {

enum class KnnMetric : int { euclidean = 0, cosine = 1 };

// Selects the k nearest neighbours of the rows [row0, row0 + tile_rows) of X (n x d, float32, C order)
// from dots (tile_rows x n), the tile of inner products <x_row, x_j> computed by a GEMM.
//
// Partial selection per row, no sort of the row: a vectorised pass computes the approximate keys
// (key = sq[j] - 2<x_i, x_j> for euclidean with sq the squared row norms, -<x_i, x_j> for cosine on
// L2-normalised rows) with their per-block minima; the `candidates`-th smallest block minimum bounds the
// candidates-th smallest key, so only the blocks under it are visited. The `candidates` (>= k) best keys
// are then re-ranked by their exact distance, accumulated in double from X (plain L2, or 1 - <x_i, x_j>),
// ties to the lowest index, and the k best are written sorted by neighbour index. The row itself is never
// a candidate. pair_sums[t] receives the sum of the distances from row row0 + t to every other row (from
// the tile: the mean pairwise distance comes for free).
void knn_select_tile_cpu(const float* dots, int64_t tile_rows, int64_t n, const float* X, int64_t d,
                         const float* sq, int64_t row0, int64_t k, int64_t candidates, KnnMetric metric,
                         int32_t* out_indices, float* out_dist, double* pair_sums);

// The symmetric union of directed kNN lists: neighbours (n x k, int32, each row sorted ascending, no
// self index) and their distances. Edge x->y exists iff y is among the k neighbours of x or x among those
// of y (the distance is the same both ways). Writes indptr (n + 1), then calls allocate(nnz) for the
// edge arrays and fills them, rows sorted ascending.
struct EdgeArrays {
    int32_t* indices;
    float* dist;
};
void knn_symmetrize_cpu(const int32_t* neighbours, const float* dist, int64_t n, int64_t k, int64_t* indptr,
                        const std::function<EdgeArrays(int64_t)>& allocate);

}  // namespace nas
