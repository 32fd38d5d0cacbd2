// Sparse Laplacian diffusion on the CPU: explicit Euler steps v <- v - step * (I - D^-1 A) v on a CSR graph.
#pragma once

#include <cstdint>

namespace nas {

// Runs n_steps explicit Euler steps of v <- v - step * (v - D^-1 A v) in one call, double-buffered.
//
// Graph: CSR (indptr n + 1, indices nnz) with per-edge weights A (float32, >= 0); D = row sums of A.
// values and out: n x m, C order (m signals diffused together); out receives the result.
// fixed: sorted, distinct row indices whose entries are reset to fixed_value before every step and in the
// output. A row whose weights sum to zero keeps its value. The reset is fused into each thread's row range,
// and rows are split between threads by edges + rows, so skewed degrees stay balanced.
template <typename T>
void diffuse_cpu(const int64_t* indptr, const int32_t* indices, const float* weights, int64_t n, int64_t m,
                 const T* values, T* out, const int64_t* fixed, int64_t n_fixed, T fixed_value, double step,
                 int64_t n_steps);

}  // namespace nas
