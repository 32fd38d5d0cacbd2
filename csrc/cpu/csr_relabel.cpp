#include "cpu/csr_relabel.h"

#include <cstddef>
#include <vector>

namespace nas {

void relabel_csr_cpu(const int64_t* indptr, int32_t* indices, float* dist, int64_t n, const int64_t* order,
                     int64_t* out_indptr) {
    const int64_t nnz = indptr[n];
    std::vector<int32_t> rows(static_cast<std::size_t>(nnz));  // pass 1: the new row of each edge, by new column
    std::vector<float> values(static_cast<std::size_t>(nnz));
    std::vector<int64_t> cursor(static_cast<std::size_t>(n) + 1, 0);
    for (int64_t e = 0; e < nnz; ++e) ++cursor[order[indices[e]] + 1];
    for (int64_t c = 0; c < n; ++c) cursor[c + 1] += cursor[c];
    std::vector<int64_t> column_start(cursor);  // bucket c of pass 1: [column_start[c], column_start[c + 1])
    for (int64_t p = 0; p < n; ++p) {
        const int32_t r = static_cast<int32_t>(order[p]);
        for (int64_t e = indptr[p]; e < indptr[p + 1]; ++e) {
            const int64_t at = cursor[order[indices[e]]]++;
            rows[at] = r;
            values[at] = dist[e];
        }
    }
    // pass 2: stable by new row; columns come out ascending because pass 1's buckets are read in order.
    out_indptr[0] = 0;
    for (int64_t p = 0; p < n; ++p) out_indptr[order[p] + 1] = indptr[p + 1] - indptr[p];
    for (int64_t r = 0; r < n; ++r) out_indptr[r + 1] += out_indptr[r];
    for (int64_t r = 0; r < n; ++r) cursor[r] = out_indptr[r];
    for (int64_t c = 0; c < n; ++c) {
        for (int64_t at = column_start[c]; at < column_start[c + 1]; ++at) {
            const int64_t e = cursor[rows[at]]++;
            indices[e] = static_cast<int32_t>(c);
            dist[e] = values[at];
        }
    }
}

}  // namespace nas
