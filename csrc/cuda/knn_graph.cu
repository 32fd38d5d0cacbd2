// k-nearest-neighbour candidates on the GPU, with the selection rule of csrc/cpu/knn_graph.cpp.
//
// knn_candidates: a block owns 128 rows and scans every column tile (TF32 tensor-core products from
// tile_gemm.cuh). Two threads per row each keep, in a bounded max-heap, the `candidates` smallest
// approximate keys of their half of the columns (key = |x_j|^2 - 2 <x_i, x_j> for euclidean, -<x_i, x_j>
// for cosine; ties to the lower index; the row itself excluded) and, for euclidean, sum the approximate
// distances to every other row (for the mean pairwise distance; nas_ext computes the cosine one exactly in
// closed form). The union of the two heaps holds the row's best `candidates` keys, the set the CPU kernel
// re-ranks.
// knn_exact: the exact distance of every candidate, accumulated in double in the CPU's order, so the
// final ranking by (exact distance, index), done by nas_ext with torch, is the CPU's.
#include <math_constants.h>

#include "common.h"
#include "cuda/cuda_common.cuh"
#include "cuda/ops.h"
#include "cuda/tile_gemm.cuh"

namespace nas {
namespace cuda {

namespace {

using tile::kThreads;
using tile::kTile;
using tile::kTileLd;

struct KnnArgs {
    const float* X;  // n x d, d % 32 == 0
    int64_t n, d;
    const float* sq;  // euclidean: squared row norms; cosine: unused
    bool euclidean;
    int64_t capacity;  // heap entries per half row
    float* heap_key;   // (n, 2, capacity)
    int32_t* heap_index;
    double* pair_sums;  // (n,), euclidean only
    int64_t panel_begin;
};

// Max-heap order of the CPU kernel: the top is the worst candidate, (larger key, then larger index).
__device__ __forceinline__ bool heap_less(float key_a, int32_t index_a, float key_b, int32_t index_b) {
    return key_a < key_b || (key_a == key_b && index_a < index_b);
}

__global__ void __launch_bounds__(kThreads) knn_candidates_kernel(const KnnArgs a) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    float* products = reinterpret_cast<float*>(smem_raw);

    const int64_t row0 = (a.panel_begin + blockIdx.x) * kTile;
    const int r = threadIdx.x / 2, half = threadIdx.x % 2;
    const int64_t i = row0 + r;
    const bool active = i < a.n;
    const int64_t base = ((active ? i : 0) * 2 + half) * a.capacity;
    float* keys = a.heap_key + base;
    int32_t* indices = a.heap_index + base;
    const float sq_i = a.euclidean && active ? a.sq[i] : 0.0f;

    int64_t size = 0;
    float worst_key = 0.0f;
    double distance_sum = 0.0;

    const int64_t tiles = (a.n + kTile - 1) / kTile;
    for (int64_t bj = 0; bj < tiles; ++bj) {
        const int64_t col0 = bj * kTile;
        tile::tile_products(products, a.X, a.n, a.d, row0, col0);
        if (active) {
            for (int c = half; c < kTile; c += 2) {
                const int64_t j = col0 + c;
                if (j >= a.n) break;
                if (j == i) continue;
                const float product = products[r * kTileLd + c];
                float key;
                if (a.euclidean) {
                    const float sq_j = a.sq[j];
                    distance_sum += static_cast<double>(sqrtf(fmaxf(sq_i + sq_j - 2.0f * product, 0.0f)));
                    key = sq_j - 2.0f * product;
                } else {
                    key = -product;
                }
                const int32_t index = static_cast<int32_t>(j);
                if (size < a.capacity) {
                    // Push: sift the new entry up from the end.
                    int64_t pos = size++;
                    while (pos > 0) {
                        const int64_t parent = (pos - 1) / 2;
                        if (!heap_less(keys[parent], indices[parent], key, index)) break;
                        keys[pos] = keys[parent];
                        indices[pos] = indices[parent];
                        pos = parent;
                    }
                    keys[pos] = key;
                    indices[pos] = index;
                    worst_key = keys[0];
                } else if (key < worst_key) {
                    // Replace the top: sift the new entry down from the root. Columns come in increasing
                    // order, so an equal key (a higher index) never displaces a kept one.
                    int64_t pos = 0;
                    while (true) {
                        int64_t child = 2 * pos + 1;
                        if (child >= a.capacity) break;
                        if (child + 1 < a.capacity &&
                            heap_less(keys[child], indices[child], keys[child + 1], indices[child + 1]))
                            ++child;
                        if (!heap_less(key, index, keys[child], indices[child])) break;
                        keys[pos] = keys[child];
                        indices[pos] = indices[child];
                        pos = child;
                    }
                    keys[pos] = key;
                    indices[pos] = index;
                    worst_key = keys[0];
                }
            }
        }
        __syncthreads();  // the next tile's staging overwrites the products
    }

    // The two halves of a row are neighbouring lanes of one warp.
    const double row_sum = distance_sum + __shfl_xor_sync(kFullMask, distance_sum, 1);
    if (!active) return;
    for (int64_t slot = size; slot < a.capacity; ++slot) indices[slot] = -1;
    if (half == 0) a.pair_sums[i] = row_sum;
}

// exact[s] = exact distance from row s / per_row to candidate index[s] (+inf for an empty slot), summed
// in double in the same order and with the same roundings as exact_distance() of the CPU kernel.
__global__ void knn_exact_kernel(const float* __restrict__ X, int64_t n, int64_t d, bool euclidean,
                                 const int32_t* __restrict__ index, int64_t per_row, double* __restrict__ exact) {
    const int64_t slots = n * per_row;
    for (int64_t s = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; s < slots;
         s += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int32_t j = index[s];
        if (j < 0) {
            exact[s] = CUDART_INF;
            continue;
        }
        const float* xa = X + (s / per_row) * d;
        const float* xb = X + static_cast<int64_t>(j) * d;
        double acc = 0.0;
        if (euclidean) {
            for (int64_t c = 0; c < d; ++c) {
                const double diff = static_cast<double>(xa[c]) - static_cast<double>(xb[c]);
                acc = add_rn(acc, mul_rn(diff, diff));
            }
            exact[s] = sqrt(acc);
        } else {
            for (int64_t c = 0; c < d; ++c)
                acc = add_rn(acc, mul_rn(static_cast<double>(xa[c]), static_cast<double>(xb[c])));
            exact[s] = fmax(1.0 - acc, 0.0);
        }
    }
}

}  // namespace

void knn_candidates(const KnnInput& in, int64_t panel_begin, int64_t panel_end, int64_t capacity, uintptr_t heap_key,
                    uintptr_t heap_index, uintptr_t pair_sums, uintptr_t stream) {
    const char* fn = "knn_graph";
    use_device(in.device);
    if (in.n < 2 || in.n > INT32_MAX) bad_argument(fn, "X", "2 to 2^31 - 1 rows", to_str(in.n));
    if (in.d < tile::kDepth || in.d % tile::kDepth != 0)
        bad_argument(fn, "X", "features zero-padded to a multiple of 32", to_str(in.d) + " columns");
    if (in.X == 0 || (in.euclidean && in.sq == 0)) bad_argument(fn, "X", "device buffers", "a null pointer");
    if (in.X % 16 != 0) bad_argument(fn, "X", "a 16-byte aligned buffer", "another alignment");
    if (capacity < 1 || capacity > in.n - 1)
        bad_argument(fn, "candidates", "an int in [1, " + to_str(in.n - 1) + "]", to_str(capacity));
    const int64_t panels = (in.n + kTile - 1) / kTile;
    if (panel_begin < 0 || panel_end > panels || panel_begin > panel_end)
        bad_argument(fn, "panel range", "inside [0, " + to_str(panels) + "]",
                     to_str(panel_begin) + ".." + to_str(panel_end));
    if (heap_key == 0 || heap_index == 0 || pair_sums == 0)
        bad_argument(fn, "candidate buffers", "device buffers", "a null pointer");
    if (panel_begin == panel_end) return;

    KnnArgs a{};
    a.X = device_ptr<const float>(in.X);
    a.n = in.n;
    a.d = in.d;
    a.sq = device_ptr<const float>(in.sq);
    a.euclidean = in.euclidean;
    a.capacity = capacity;
    a.heap_key = device_ptr<float>(heap_key);
    a.heap_index = device_ptr<int32_t>(heap_index);
    a.pair_sums = device_ptr<double>(pair_sums);
    a.panel_begin = panel_begin;
    NAS_CUDA_CHECK(cudaFuncSetAttribute(knn_candidates_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(tile::kGemmBytes)));
    knn_candidates_kernel<<<static_cast<unsigned>(panel_end - panel_begin), kThreads, tile::kGemmBytes,
                            as_stream(stream)>>>(a);
    check_launch("knn_graph candidates");
}

void knn_exact(const KnnInput& in, uintptr_t index, int64_t per_row, uintptr_t exact, uintptr_t stream) {
    use_device(in.device);
    if (per_row < 1 || index == 0 || exact == 0)
        bad_argument("knn_graph", "candidates", "device buffers of n x per_row entries", to_str(per_row));
    constexpr int kBlock = 256;
    knn_exact_kernel<<<grid_for(in.n * per_row, kBlock), kBlock, 0, as_stream(stream)>>>(
        device_ptr<const float>(in.X), in.n, in.d, in.euclidean, device_ptr<const int32_t>(index), per_row,
        device_ptr<double>(exact));
    check_launch("knn_graph exact distances");
}

}  // namespace cuda
}  // namespace nas
