// k-center greedy (Coreset): repeatedly pick the point farthest from its nearest centre.
#pragma once

#include <cstdint>

namespace nas {

// X: (n, d) float32 row-major. centers: indices of the initial centres; assign[x] is the position in
// `centers` of the centre nearest to x (ignored for centres, may be null when n_centers == 0).
// first_pick: a forced first pick (-1: none). Writes `budget` picks; squared Euclidean distances;
// ties go to the lowest index. Rows whose nearest centre is provably closer than the new pick
// (triangle inequality, with a safety margin far above float rounding) skip the distance computation.
void kcenter_greedy_cpu(const float* X, int64_t n, int64_t d, const int64_t* centers, int64_t n_centers,
                        const int32_t* assign, int64_t first_pick, int64_t budget, int64_t* picks);

}  // namespace nas
