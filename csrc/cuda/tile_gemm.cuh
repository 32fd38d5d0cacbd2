// One 128 x 128 tile of dot products <x_i, x_j> on the tensor cores (TF32 in, FP32 accumulate), left in
// shared memory for a fused epilogue (threshold, compaction or top-k), so no N x N matrix ever exists.
//
// TF32 keeps 10 of the 23 mantissa bits, so a tile product is only an estimate: the kernels that use it
// take it as a filter with a proven error bound (kTf32RelativeError below) and decide every kept pair
// from an exact re-computation over the float32 rows.
//
// Layout: 8 warps; warp w computes rows 64 * (w / 4) .. + 64 and columns 32 * (w % 4) .. + 32 of the tile
// as 4 x 2 WMMA 16x16x8 fragments. Features are streamed in chunks of 32 through a two-stage cp.async
// pipeline. Requirements: X is row-major with d % 32 == 0 (callers zero-pad the features, which changes
// no product) and 16-byte aligned; rows past n are read as row n - 1 and ignored by the epilogue.
#pragma once

#include <cuda_pipeline.h>
#include <mma.h>

#include <cmath>
#include <cstdint>

namespace nas {
namespace cuda {
namespace tile {

constexpr int kTile = 128;                  // rows and columns of a tile
constexpr int kDepth = 32;                  // features per pipeline stage
constexpr int kThreads = 256;               // 8 warps
constexpr int kStageLd = kDepth + 4;        // padded row of a staged panel (floats): spreads banks
constexpr int kTileLd = kTile + 4;          // padded row of the product tile (floats)
constexpr int kPanelFloats = kTile * kStageLd;
constexpr int kStageFloats = 4 * kPanelFloats;       // 2 stages x (row panel + column panel)
constexpr int kProductFloats = kTile * kTileLd;
constexpr int kGemmFloats = kStageFloats > kProductFloats ? kStageFloats : kProductFloats;
constexpr size_t kGemmBytes = sizeof(float) * kGemmFloats;  // the products alias the staging buffers

// |tile product - exact product| <= kTf32RelativeError(d) * sum_k |x_ik x_jk| <= that * |x_i| |x_j|.
// Inputs rounded to TF32 (even by truncation) carry a relative error below 2^-10 each, so a product of
// two is within 2^-9 (+2^-20) of the exact one; the FP32 accumulation of d terms adds at most d * 2^-23
// of sum |x_ik x_jk|, taken twice over; the + 8 covers the remaining second-order terms.
__host__ __device__ inline double kTf32RelativeError(int64_t d) {
    return 1.0 / 512.0 + static_cast<double>(d + 8) / 4194304.0;  // 2^-9 + (d + 8) 2^-22
}

// Copies features [k0, k0 + kDepth) of rows row0 .. row0 + kTile - 1 into a staged panel (asynchronously).
__device__ __forceinline__ void stage_panel(float* panel, const float* __restrict__ X, int64_t n, int64_t d,
                                            int64_t row0, int64_t k0) {
    constexpr int kChunksPerRow = kDepth / 4;  // 16-byte chunks
    for (int c = threadIdx.x; c < kTile * kChunksPerRow; c += kThreads) {
        const int r = c / kChunksPerRow;
        const int q = c % kChunksPerRow;
        const int64_t row = row0 + r < n ? row0 + r : n - 1;
        __pipeline_memcpy_async(panel + r * kStageLd + 4 * q, X + row * d + k0 + 4 * q, 16);
    }
}

// products[r * kTileLd + c] = <X[row0 + r], X[col0 + c]> (TF32 estimate) for r, c in [0, kTile).
// `smem` holds kGemmFloats floats, 32-byte aligned. All threads of the block must call it.
__device__ inline void tile_products(float* smem, const float* __restrict__ X, int64_t n, int64_t d, int64_t row0,
                                     int64_t col0) {
    using namespace nvcuda;
    const int warp = threadIdx.x / 32;
    const int warp_row = (warp / 4) * 64;
    const int warp_col = (warp % 4) * 32;

    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[4][2];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    auto rows_panel = [&](int stage) { return smem + (2 * stage) * kPanelFloats; };
    auto cols_panel = [&](int stage) { return smem + (2 * stage + 1) * kPanelFloats; };

    const int64_t chunks = d / kDepth;
    stage_panel(rows_panel(0), X, n, d, row0, 0);
    stage_panel(cols_panel(0), X, n, d, col0, 0);
    __pipeline_commit();
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
        const int stage = static_cast<int>(chunk & 1);
        if (chunk + 1 < chunks) {
            stage_panel(rows_panel(stage ^ 1), X, n, d, row0, (chunk + 1) * kDepth);
            stage_panel(cols_panel(stage ^ 1), X, n, d, col0, (chunk + 1) * kDepth);
            __pipeline_commit();
            __pipeline_wait_prior(1);
        } else {
            __pipeline_wait_prior(0);
        }
        __syncthreads();

        const float* A = rows_panel(stage);
        const float* B = cols_panel(stage);
#pragma unroll
        for (int kk = 0; kk < kDepth; kk += 8) {
            wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a[4];
            wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> b[2];
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                wmma::load_matrix_sync(a[i], A + (warp_row + 16 * i) * kStageLd + kk, kStageLd);
#pragma unroll
                for (int t = 0; t < a[i].num_elements; ++t) a[i].x[t] = wmma::__float_to_tf32(a[i].x[t]);
            }
#pragma unroll
            for (int j = 0; j < 2; ++j) {
                // B(k, c) = X[col0 + c][k]: the column panel read as a column-major K x N matrix.
                wmma::load_matrix_sync(b[j], B + (warp_col + 16 * j) * kStageLd + kk, kStageLd);
#pragma unroll
                for (int t = 0; t < b[j].num_elements; ++t) b[j].x[t] = wmma::__float_to_tf32(b[j].x[t]);
            }
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        }
        __syncthreads();  // the stage is overwritten by the next-but-one chunk (or by the products)
    }

#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
            wmma::store_matrix_sync(smem + (warp_row + 16 * i) * kTileLd + warp_col + 16 * j, acc[i][j], kTileLd,
                                    wmma::mem_row_major);
    __syncthreads();
}

// Tile pairs (bi <= bj) of a symmetric all-pairs scan, numbered column by column:
// p = bj (bj + 1) / 2 + bi. Exact for p < 2^50 (the double square root is corrected by integer steps).
__host__ __device__ inline void upper_tile_pair(int64_t p, int64_t& bi, int64_t& bj) {
    int64_t j = static_cast<int64_t>((sqrt(8.0 * static_cast<double>(p) + 1.0) - 1.0) * 0.5);
    while (j > 0 && j * (j + 1) / 2 > p) --j;
    while ((j + 1) * (j + 2) / 2 <= p) ++j;
    bj = j;
    bi = p - j * (j + 1) / 2;
}

}  // namespace tile
}  // namespace cuda
}  // namespace nas
