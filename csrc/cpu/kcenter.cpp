#include "cpu/kcenter.h"

#include <limits>
#include <vector>

#include "common.h"

namespace nas {

namespace {

// Skip a row only when the triangle inequality proves the pick is farther than its nearest centre by
// this relative margin, orders of magnitude above float32 rounding: pruning never changes the result.
constexpr float kPruneMargin = 1e-4f;
constexpr float kPruneFactor = 4.0f * (1.0f + kPruneMargin) * (1.0f + kPruneMargin);
// Below this many float operations a pass runs on one thread: per-pick passes are short once pruning
// bites, and a parallel region's barrier then costs more than it saves (especially on a loaded machine).
constexpr int64_t kParallelWork = int64_t(1) << 20;

// Sum of squared differences with 16 independent lanes (vectorises without reassociation flags).
inline float squared_distance(const float* a, const float* b, int64_t d) {
    float lane[16] = {0.0f};
    int64_t j = 0;
    for (; j + 16 <= d; j += 16)
        for (int l = 0; l < 16; ++l) {
            const float t = a[j + l] - b[j + l];
            lane[l] += t * t;
        }
    float total = 0.0f;
    for (; j < d; ++j) {
        const float t = a[j] - b[j];
        total += t * t;
    }
    for (int l = 0; l < 16; ++l) total += lane[l];
    return total;
}

struct Farthest {
    float distance = -1.0f;
    int64_t index = std::numeric_limits<int64_t>::max();
    void offer(float value, int64_t i) {
        if (value > distance || (value == distance && i < index)) {
            distance = value;
            index = i;
        }
    }
};

}  // namespace

void kcenter_greedy_cpu(const float* X, int64_t n, int64_t d, const int64_t* centers, int64_t n_centers,
                        const int32_t* assign, int64_t first_pick, int64_t budget, int64_t* picks) {
    const char* fn = "kcenter_greedy";
    if (n < 1 || d < 1) bad_argument(fn, "X", "a non-empty 2-D array", to_str(n) + " x " + to_str(d));
    std::vector<uint8_t> taken(n, 0);
    for (int64_t i = 0; i < n_centers; ++i) {
        if (centers[i] < 0 || centers[i] >= n) bad_argument(fn, "centers", "indices in [0, " + to_str(n) + ")", to_str(centers[i]));
        taken[centers[i]] = 1;
    }
    int64_t open = 0;
    for (int64_t x = 0; x < n; ++x) open += !taken[x];
    if (budget < 0 || budget > open)
        bad_argument(fn, "budget", "an int in [0, " + to_str(open) + "] (the points that are not centres)", to_str(budget));
    if (first_pick >= 0 && (first_pick >= n || taken[first_pick]))
        bad_argument(fn, "first_pick", "a point that is not a centre", to_str(first_pick));
    if (n_centers > 0) {
        if (!assign) bad_argument(fn, "assign", "the nearest centre of every point", "nothing");
        for (int64_t x = 0; x < n; ++x)
            if (!taken[x] && (assign[x] < 0 || assign[x] >= n_centers))
                bad_argument(fn, "assign", "positions in [0, " + to_str(n_centers) + ")", to_str(assign[x]));
    }
    if (budget == 0) return;

    auto row = [&](int64_t i) { return X + i * d; };
    std::vector<int64_t> centre_rows(centers, centers + n_centers);
    centre_rows.reserve(n_centers + budget);
    std::vector<float> nearest_sq(n, std::numeric_limits<float>::infinity());
    std::vector<int32_t> nearest(n, -1);
    if (n_centers > 0) {
#pragma omp parallel for schedule(static)
        for (int64_t x = 0; x < n; ++x) {
            if (taken[x]) continue;
            nearest[x] = assign[x];
            nearest_sq[x] = squared_distance(row(x), row(centre_rows[assign[x]]), d);
        }
    }

    int64_t next = first_pick;
    if (next < 0) {
        Farthest best;
        for (int64_t x = 0; x < n; ++x)
            if (!taken[x]) best.offer(nearest_sq[x], x);
        next = best.index;
    }

    // active[c]: centre c is the nearest of some open row at a positive distance, so the next pick needs
    // its distance to c for the pruning test. Marked during each update pass for the following pick.
    std::vector<uint8_t> active(n_centers + budget, 0);
    for (int64_t x = 0; x < n; ++x)
        if (!taken[x] && nearest[x] >= 0 && nearest_sq[x] > 0.0f) active[nearest[x]] = 1;
    std::vector<float> gap_sq(n_centers + budget, 0.0f);  // squared distance from the latest pick to centre c
    std::vector<int32_t> active_ids;
    int64_t computed_last = n;  // rows whose distance the previous pass computed (sizes the next pass)
    for (int64_t i = 0; i < budget; ++i) {
        const int64_t p = next;
        picks[i] = p;
        taken[p] = 1;
        centre_rows.push_back(p);
        if (i + 1 == budget) break;
        const int32_t new_centre = static_cast<int32_t>(centre_rows.size() - 1);
        const float* pick_row = row(p);

        active_ids.clear();
        for (int32_t c = 0; c < new_centre; ++c)
            if (active[c]) {
                active_ids.push_back(c);
                active[c] = 0;
            }
        const int64_t n_active = static_cast<int64_t>(active_ids.size());
#pragma omp parallel for schedule(static) if (n_active * d >= kParallelWork)
        for (int64_t j = 0; j < n_active; ++j)
            gap_sq[active_ids[j]] = squared_distance(pick_row, row(centre_rows[active_ids[j]]), d);

        Farthest best;
        int64_t computed = 0;
        const bool parallel = n * 4 + computed_last * d >= kParallelWork;
#pragma omp parallel if (parallel) reduction(+ : computed)
        {
            Farthest local;
#pragma omp for schedule(static) nowait
            for (int64_t x = 0; x < n; ++x) {
                if (taken[x]) continue;
                float current = nearest_sq[x];
                const int32_t a = nearest[x];
                // d(x, p) >= d(p, c_a) - d(x, c_a) >= d(x, c_a) when d(p, c_a) >= 2 d(x, c_a) (with margin).
                const bool provably_closer = current == 0.0f || (a >= 0 && gap_sq[a] >= kPruneFactor * current);
                if (!provably_closer) {
                    ++computed;
                    const float candidate = squared_distance(row(x), pick_row, d);
                    if (candidate < current) {
                        current = candidate;
                        nearest_sq[x] = candidate;
                        nearest[x] = new_centre;
                    }
                }
                if (current > 0.0f) {
                    const int32_t owner = nearest[x];
#pragma omp atomic write
                    active[owner] = 1;
                }
                local.offer(current, x);
            }
#pragma omp critical
            best.offer(local.distance, local.index);
        }
        computed_last = computed;
        next = best.index;
    }
}

}  // namespace nas
