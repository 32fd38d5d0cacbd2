// Relabelling the nodes of a CSR graph in place (two stable counting sorts, no comparison sort).
#pragma once

#include <cstdint>

namespace nas {

// Node p of the graph (indptr, indices, dist) becomes node order[p] (order: a permutation of [0, n)).
// Writes the relabelled graph's indptr to out_indptr (n + 1) and its edges over indices / dist (nnz
// each), every row sorted by column: a stable counting sort by the new column, then one by the new row.
// Scratch: nnz int32 + nnz float32 + n + 1 int64; O(nnz + n) time, one thread.
void relabel_csr_cpu(const int64_t* indptr, int32_t* indices, float* dist, int64_t n, const int64_t* order,
                     int64_t* out_indptr);

}  // namespace nas
