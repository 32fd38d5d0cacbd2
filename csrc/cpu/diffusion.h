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

// Entropy-propagation batch selection (seed 003, Algorithm 1 step 4) in one call: n_picks times, the active row
// of highest field value (ties: the lowest tie_key) is picked and leaves the active set, the next row of `ranked`
// enters it, the pick is pinned at 0 and the field takes n_steps Euler steps as in diffuse_cpu (m = 1, double),
// the pinned rows reset to 0 before every step and in the result. pin_batch keeps every pick of the call pinned
// (clamp "batch"), together with the sorted rows `pinned` (earlier picks of the same batch); without it only
// the current pick is. The active set starts as ranked[0:candidate_size].
// The caller checks: ranked distinct rows in [0, n), 1 <= candidate_size <= n_ranked (when n_picks > 0),
// n_picks <= n_ranked, a finite field, tie_key of size n. field (n) is updated in place; picks (n_picks) out.
// One parallel region serves the whole batch: per pick one barrier for the argmax (each thread reduces the
// per-thread maxima in the same order, so the picks do not depend on the thread count), one after the pin, and
// one per step. Same arithmetic as a loop of diffuse_cpu calls, so the same field bit for bit.
void propagate_select_cpu(const int64_t* indptr, const int32_t* indices, const float* weights, int64_t n,
                          double* field, const int64_t* ranked, int64_t n_ranked, int64_t candidate_size,
                          const int64_t* tie_key, int64_t n_picks, const int64_t* pinned, int64_t n_pinned,
                          bool pin_batch, double step, int64_t n_steps, int64_t* picks);

}  // namespace nas
