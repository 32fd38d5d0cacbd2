// Host entry points of the CUDA kernels, as seen by csrc/bindings.cpp (plain C++: no CUDA headers).
//
// Every buffer is a device address (uintptr_t, from torch's allocator via nas_ext) and every function
// enqueues work on `stream` (torch's current stream, as an integer) of `device`, then returns: nothing
// waits for the GPU here. Arguments are validated cheaply (a std::invalid_argument becomes a ValueError)
// and CUDA failures become std::runtime_error (RuntimeError). nas_ext/_cuda.py documents the layouts.
#pragma once

#include <cstdint>

namespace nas {
namespace cuda {

// Most blocks of the per-pick reductions (coverage and k-center); partial buffers hold this many.
constexpr int kMaxPickPartials = 1024;

// ---- radius_graph (csrc/cuda/radius_graph.cu) ----
struct RadiusInput {
    int device;
    uintptr_t X;      // float32 n x d, rows prepared as on the CPU, features zero-padded to d % 32 == 0
    int64_t n, d;
    uintptr_t scale;  // float32 n: row norms (cosine) or squared row norms (euclidean)
    bool euclidean;
    double delta;
};
// Tile pairs (row tile <= column tile) of n rows; the passes run over ranges of them.
int64_t radius_tile_pairs(int64_t n);
// Pass 1: counts[i] (int32, zeroed by the caller) += edges i -> j, j != i, found in the tile pairs.
void radius_count(const RadiusInput& in, int64_t pair_begin, int64_t pair_end, uintptr_t counts, uintptr_t stream);
// Pass 2: writes both directions of every edge at cursor[i] (uint64, advanced atomically) below
// row_end[i]; sets *mismatch (int32) to 1 if a row overflows.
void radius_fill(const RadiusInput& in, int64_t pair_begin, int64_t pair_end, uintptr_t cursor, uintptr_t row_end,
                 uintptr_t indices, uintptr_t dist, uintptr_t mismatch, uintptr_t stream);

// ---- knn_graph (csrc/cuda/knn_graph.cu) ----
struct KnnInput {
    int device;
    uintptr_t X;   // float32 n x d, features zero-padded to d % 32 == 0
    int64_t n, d;
    uintptr_t sq;  // float32 n squared row norms (euclidean), 0 for cosine
    bool euclidean;
};
// For the row panels [panel_begin, panel_end) of 128 rows: heap_key (float32) and heap_index (int32),
// both (n, 2, capacity), receive each half row's best approximate candidates (index -1: empty), and
// pair_sums (float64, n) the sum of the approximate distances to every other row (euclidean only).
void knn_candidates(const KnnInput& in, int64_t panel_begin, int64_t panel_end, int64_t capacity, uintptr_t heap_key,
                    uintptr_t heap_index, uintptr_t pair_sums, uintptr_t stream);
// exact (float64, n x per_row) = the exact distance of each candidate in index (int32, n x per_row).
void knn_exact(const KnnInput& in, uintptr_t index, int64_t per_row, uintptr_t exact, uintptr_t stream);

// ---- CoverageState (csrc/cuda/coverage.cu) ----
struct CoverageInput {
    int device;
    int64_t n;
    uintptr_t indptr, indices, weights;             // out-edges: int64 n + 1, int32, float64 (0: all 1)
    uintptr_t in_indptr, in_sources, in_weights;    // in-edges (the transpose), same types
    uintptr_t level, multiplier, gain;              // float64 n
    uintptr_t live;                                 // int32 n
    uintptr_t blocked, pickable;                    // uint8 n
};
void coverage_init(const CoverageInput& in, uintptr_t stream);
void coverage_cover(const CoverageInput& in, uintptr_t sources, int64_t count, uintptr_t stream);
// hits: int32 n scratch.
void coverage_discount(const CoverageInput& in, uintptr_t sources, int64_t count, double factor, bool per_source,
                       uintptr_t hits, uintptr_t stream);
// Blocks of the per-pick reductions on this device (<= kMaxPickPartials).
int coverage_pick_partials(int device);
// k picks into picks (int64) and gains (float64); keys: int64 n tie keys (0: the node index);
// partial_gain (float64) and partial_entry (uint64) hold `partials` values; *status (int32) = 1 if a pick
// found no candidate.
void coverage_pick(const CoverageInput& in, int64_t k, uintptr_t keys, uintptr_t picks, uintptr_t gains,
                   uintptr_t partial_gain, uintptr_t partial_entry, int partials, uintptr_t status, uintptr_t stream);

// ---- diffuse (csrc/cuda/diffusion.cu) ----
struct DiffusionInput {
    int device;
    int64_t n, m;                       // values are n x m
    uintptr_t indptr, indices, weights;  // int64 n + 1, int32, float32
    uintptr_t coef;                     // n scratch values of the value type
    uintptr_t fixed;                    // uint8 n mask, or 0
    double fixed_value, step;
    int64_t n_steps;
    uintptr_t first, second;            // value buffers: `first` holds the input; step s reads buffer s % 2
    bool is_double;                     // float64 values (else float32)
};
void diffuse(const DiffusionInput& in, uintptr_t stream);

// ---- kcenter_greedy (csrc/cuda/kcenter.cu) ----
struct KcenterInput {
    int device;
    uintptr_t X;  // float32 n x d
    int64_t n, d;
    uintptr_t taken;       // uint8 n: 1 for the centres (and a forced first pick)
    uintptr_t nearest_sq;  // float32 n scratch
    uintptr_t centres;     // int64 n_centres
    int64_t n_centres;
    uintptr_t assign;      // int32 n: position in centres of each point's nearest centre
};
// budget picks into picks (int64); with has_first_pick, picks[0] is already written and taken.
void kcenter_greedy(const KcenterInput& in, int64_t budget, bool has_first_pick, uintptr_t picks,
                    uintptr_t partial_distance, uintptr_t partial_index, int partials, uintptr_t status,
                    uintptr_t stream);

}  // namespace cuda
}  // namespace nas
