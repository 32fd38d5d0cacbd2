// Radius graph on the GPU: the same edge rule as csrc/cpu/radius_graph.cpp, in two passes over the tile
// pairs on or above the diagonal (count, then fill into the CSR that nas_ext allocated in between).
//
// Edge rule (identical to the CPU): a pair i < j is an edge iff float32(exact distance) < float32(delta),
// the exact distance being accumulated in double from the float32 rows: max(0, 1 - <x_i, x_j>) (cosine,
// rows L2-normalised by the caller) or |x_i - x_j| (euclidean, rows centred by the caller).
// Per tile: TF32 tensor-core products (tile_gemm.cuh) -> a candidate test widened by the proven TF32
// error bound, so it can only admit extra pairs -> each candidate re-checked exactly by one warp -> edges
// counted (pass 1) or written at per-row cursors (pass 2, both directions). Self-loops and the final
// per-row sort are done by nas_ext with torch.
#include <cfloat>
#include <cmath>

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

struct RadiusArgs {
    const float* X;      // n x d, d % 32 == 0
    int64_t n, d;
    const float* scale;  // cosine: row norms |x_i|; euclidean: squared row norms |x_i|^2
    bool euclidean;
    float delta;         // the edge test, float32(dist) < delta
    float threshold;     // candidate iff lower bound < threshold (delta, or delta^2 rounded up)
    float eps;           // relative error bound of a tile product (kTf32RelativeError)
    int64_t pair_begin;  // first tile pair of this launch (upper_tile_pair numbering)
    // pass 1
    int32_t* counts;     // edges per row, pairs i < j in both directions (no self-loops)
    // pass 2
    unsigned long long* cursor;  // next free CSR slot of each row
    const int64_t* row_end;      // indptr[i + 1]: a write at or past it is a count/fill mismatch
    int32_t* indices;
    float* dist;
    int32_t* mismatch;           // set to 1 if the fill pass ever found more edges than the count pass
};

// Shared memory after the GEMM region: the candidate list of a tile and the per-row/column edge counts.
constexpr size_t kCandidateBytes = sizeof(uint16_t) * kTile * kTile;
constexpr size_t kRadiusSmemBytes = tile::kGemmBytes + kCandidateBytes + sizeof(int) * (2 * kTile + 1);

// Lower bound of the exact distance (cosine) or squared distance (euclidean) from a tile product.
__device__ __forceinline__ float lower_bound(const RadiusArgs& a, float product, float scale_i, float scale_j) {
    if (a.euclidean) {
        // |x - y|^2 = |x|^2 + |y|^2 - 2 <x, y> with |2 (product - exact)| <= eps (|x|^2 + |y|^2); the 2^-20
        // covers the float32 rounding of the squared norms and of this expression.
        const float norms = scale_i + scale_j;
        return norms * (1.0f - a.eps - 9.5367431640625e-07f) - 2.0f * product;
    }
    // 1 - <x, y> with |product - exact| <= eps |x| |y|; 2^-20 absolute covers this expression's rounding.
    return 1.0f - product - a.eps * (scale_i * scale_j) - 9.5367431640625e-07f;
}

// Exact distance of rows i and j in double by one warp (lane-strided sums, fixed tree): the result is
// the same for (i, j) and (j, i) and for every run. Returned by every lane.
__device__ __forceinline__ double warp_exact_distance(const float* __restrict__ X, int64_t d, int64_t i, int64_t j,
                                                      bool euclidean) {
    const float* xi = X + i * d;
    const float* xj = X + j * d;
    const int lane = threadIdx.x % 32;
    double acc = 0.0;
#pragma unroll 4
    for (int64_t k = lane; k < d; k += 32) {
        const double a = xi[k], b = xj[k];
        acc = euclidean ? fma(a - b, a - b, acc) : fma(a, b, acc);
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) acc += __shfl_down_sync(kFullMask, acc, offset);
    acc = __shfl_sync(kFullMask, acc, 0);
    return euclidean ? sqrt(acc) : fmax(0.0, 1.0 - acc);
}

template <bool kFill>
__global__ void __launch_bounds__(kThreads) radius_tiles_kernel(const RadiusArgs a) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    float* products = reinterpret_cast<float*>(smem_raw);
    uint16_t* candidates = reinterpret_cast<uint16_t*>(smem_raw + tile::kGemmBytes);
    int* row_hits = reinterpret_cast<int*>(smem_raw + tile::kGemmBytes + kCandidateBytes);
    int* col_hits = row_hits + kTile;
    int* n_candidates = col_hits + kTile;

    int64_t bi, bj;
    tile::upper_tile_pair(a.pair_begin + blockIdx.x, bi, bj);
    const int64_t row0 = bi * kTile, col0 = bj * kTile;
    const bool diagonal = bi == bj;

    for (int t = threadIdx.x; t < kTile; t += kThreads) row_hits[t] = col_hits[t] = 0;
    if (threadIdx.x == 0) *n_candidates = 0;
    tile::tile_products(products, a.X, a.n, a.d, row0, col0);  // ends with __syncthreads()

    // 1. Candidate pairs i < j whose distance may be below delta.
    for (int e = threadIdx.x; e < kTile * kTile; e += kThreads) {
        const int r = e / kTile, c = e % kTile;
        const int64_t i = row0 + r, j = col0 + c;
        if (i >= a.n || j >= a.n || (diagonal && c <= r)) continue;
        const float bound = lower_bound(a, products[r * kTileLd + c], a.scale[i], a.scale[j]);
        if (bound < a.threshold) candidates[atomicAdd(n_candidates, 1)] = static_cast<uint16_t>(e);
    }
    __syncthreads();

    // 2. Exact re-check, one warp per candidate; lane 0 records the edge.
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int total = *n_candidates;
    for (int q = warp; q < total; q += kThreads / 32) {
        const int e = candidates[q];
        const int r = e / kTile, c = e % kTile;
        const int64_t i = row0 + r, j = col0 + c;
        const float d = static_cast<float>(warp_exact_distance(a.X, a.d, i, j, a.euclidean));
        if (lane != 0 || !(d < a.delta)) continue;
        if (!kFill) {
            atomicAdd(&row_hits[r], 1);
            atomicAdd(&col_hits[c], 1);
            continue;
        }
        const unsigned long long at_i = atomicAdd(&a.cursor[i], 1ULL);
        const unsigned long long at_j = atomicAdd(&a.cursor[j], 1ULL);
        if (static_cast<int64_t>(at_i) >= a.row_end[i] || static_cast<int64_t>(at_j) >= a.row_end[j]) {
            atomicExch(a.mismatch, 1);
            continue;
        }
        a.indices[at_i] = static_cast<int32_t>(j);
        a.dist[at_i] = d;
        a.indices[at_j] = static_cast<int32_t>(i);
        a.dist[at_j] = d;
    }

    if (!kFill) {
        __syncthreads();
        for (int t = threadIdx.x; t < kTile; t += kThreads) {
            if (row_hits[t] > 0) atomicAdd(&a.counts[row0 + t], row_hits[t]);
            if (col_hits[t] > 0) atomicAdd(&a.counts[col0 + t], col_hits[t]);
        }
    }
}

// The smallest float32 >= value.
float round_up_to_float(double value) {
    float f = static_cast<float>(value);
    if (static_cast<double>(f) < value) f = std::nextafter(f, FLT_MAX);
    return f;
}

RadiusArgs make_args(const RadiusInput& in) {
    const char* fn = "radius_graph";
    if (in.n < 1 || in.n > INT32_MAX) bad_argument(fn, "X", "1 to 2^31 - 1 rows", to_str(in.n));
    if (in.d < tile::kDepth || in.d % tile::kDepth != 0)
        bad_argument(fn, "X", "features zero-padded to a multiple of 32", to_str(in.d) + " columns");
    if (in.X == 0 || in.scale == 0) bad_argument(fn, "X", "device buffers", "a null pointer");
    if (in.X % 16 != 0) bad_argument(fn, "X", "a 16-byte aligned buffer", "another alignment");
    if (!(in.delta > 0.0) || !std::isfinite(in.delta))
        bad_argument(fn, "delta", "a float in (0, inf)", to_str(in.delta));
    RadiusArgs a{};
    a.X = device_ptr<const float>(in.X);
    a.n = in.n;
    a.d = in.d;
    a.scale = device_ptr<const float>(in.scale);
    a.euclidean = in.euclidean;
    a.delta = static_cast<float>(in.delta);
    const double delta_f = static_cast<double>(a.delta);
    // euclidean: |x - y| < delta  <=>  |x - y|^2 < delta^2, widened by 2^-20 for the float32 evaluation.
    a.threshold = in.euclidean ? round_up_to_float(delta_f * delta_f * (1.0 + 9.5367431640625e-07)) : a.delta;
    a.eps = round_up_to_float(tile::kTf32RelativeError(in.d));
    return a;
}

template <bool kFill>
void launch_tiles(RadiusArgs a, int64_t pair_begin, int64_t pair_end, uintptr_t stream) {
    const int64_t total = radius_tile_pairs(a.n);
    if (pair_begin < 0 || pair_end > total || pair_begin > pair_end)
        bad_argument("radius_graph", "pair range", "inside [0, " + to_str(total) + "]",
                     to_str(pair_begin) + ".." + to_str(pair_end));
    auto kernel = radius_tiles_kernel<kFill>;
    NAS_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(kRadiusSmemBytes)));
    constexpr int64_t kMaxBlocks = int64_t(1) << 30;
    for (int64_t begin = pair_begin; begin < pair_end; begin += kMaxBlocks) {
        const int64_t blocks = pair_end - begin < kMaxBlocks ? pair_end - begin : kMaxBlocks;
        a.pair_begin = begin;
        kernel<<<static_cast<unsigned>(blocks), kThreads, kRadiusSmemBytes, as_stream(stream)>>>(a);
        check_launch(kFill ? "radius_graph fill pass" : "radius_graph count pass");
    }
}

}  // namespace

int64_t radius_tile_pairs(int64_t n) {
    const int64_t tiles = (n + kTile - 1) / kTile;
    return tiles * (tiles + 1) / 2;
}

void radius_count(const RadiusInput& in, int64_t pair_begin, int64_t pair_end, uintptr_t counts, uintptr_t stream) {
    use_device(in.device);
    RadiusArgs a = make_args(in);
    if (counts == 0) bad_argument("radius_graph", "counts", "a device buffer of n int32", "a null pointer");
    a.counts = device_ptr<int32_t>(counts);
    launch_tiles<false>(a, pair_begin, pair_end, stream);
}

void radius_fill(const RadiusInput& in, int64_t pair_begin, int64_t pair_end, uintptr_t cursor, uintptr_t row_end,
                 uintptr_t indices, uintptr_t dist, uintptr_t mismatch, uintptr_t stream) {
    use_device(in.device);
    RadiusArgs a = make_args(in);
    if (cursor == 0 || row_end == 0 || indices == 0 || dist == 0 || mismatch == 0)
        bad_argument("radius_graph", "CSR buffers", "device buffers", "a null pointer");
    a.cursor = device_ptr<unsigned long long>(cursor);
    a.row_end = device_ptr<const int64_t>(row_end);
    a.indices = device_ptr<int32_t>(indices);
    a.dist = device_ptr<float>(dist);
    a.mismatch = device_ptr<int32_t>(mismatch);
    launch_tiles<true>(a, pair_begin, pair_end, stream);
}

}  // namespace cuda
}  // namespace nas
