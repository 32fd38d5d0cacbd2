// Sparse Laplacian diffusion on the CPU: explicit Euler steps v <- v - step * (I - D^-1 A) v on a CSR graph.
#pragma once

#include <cstdint>

namespace nas {

// Runs n_steps explicit Euler steps of v <- v - step * (v - D^-1 A v) in one call, double-buffered.
//
// Graph: CSR (indptr n + 1, non-decreasing from 0 to nnz: checked by the caller; indices nnz) with per-edge
// weights A (float32); D = row sums of A, accumulated in double. Indices out of [0, n) and negative or
// non-finite weights are found in the row-sum pass, before any step, and raised (std::invalid_argument).
// values and out: n x m, C order (m signals diffused together); out receives the result.
// fixed: sorted, distinct row indices whose entries are reset to fixed_value before every step and in the
// output. A row whose weights sum to zero (in the value type) keeps its value. One parallel region serves the
// whole call; rows are split between threads by edges + rows (skewed degrees stay balanced), each thread
// resets the fixed entries of its own rows, and steps are separated by a barrier that yields its core.
template <typename T>
void diffuse_cpu(const int64_t* indptr, const int32_t* indices, const float* weights, int64_t n, int64_t m,
                 const T* values, T* out, const int64_t* fixed, int64_t n_fixed, T fixed_value, double step,
                 int64_t n_steps);

}  // namespace nas
