// Weighted coverage greedy state (SPEC §3.2): incremental gains over a CSR graph and its transpose.
//
// gain(x) = sum over out-edges x->y of m(y) * max(0, w(x,y) - c(y)), 0 for a blocked x.
// Coverage levels c only rise and multipliers m only fall, so gains only fall: every change of c(y) or
// m(y) is pushed to the in-neighbours of y by its exact delta (O(in-degree of y)), and the argmax is a
// lazy max structure whose stale entries are refreshed when they surface. A whole selection therefore
// costs O(E) gain updates plus O((N + updates) log N) for the argmax, never O(E) per pick.
#pragma once

#include <cstdint>
#include <vector>

namespace nas {

class CoverageState {
public:
    // Gains within kTieTolerance * max(1, |g|) of the maximum are ties (incremental and from-scratch
    // sums of the same terms then break ties the same way).
    static constexpr double kTieTolerance = 1e-9;

    // indptr: n + 1 offsets, indices: nnz targets in [0, n), weights: nnz values >= 0 or empty (all 1).
    CoverageState(std::vector<int64_t> indptr, std::vector<int32_t> indices, std::vector<double> weights);

    // c(y) <- max(c(y), w(s, y)) for every out-edge s -> y of every source.
    void cover(const int64_t* sources, int64_t count);
    // m(y) *= factor once for every y in the union of the sources' balls, or once per (distinct)
    // covering source when per_source is true.
    void discount(const int64_t* sources, int64_t count, double factor, bool per_source);
    // Blocked nodes lose their gain for good and are never picked (their balls are not covered).
    void block(const int64_t* nodes, int64_t count);
    // Excluded nodes are never picked; their out-edges still count.
    void exclude(const int64_t* nodes, int64_t count);
    // k greedy picks; keys (n values < 2^32, or nullptr for the node index) order the ties, the lowest
    // key wins. Each pick is covered and excluded before the next one. Writes k picks and gains.
    void pick(int64_t k, const int64_t* keys, int64_t* picks, double* gains);

    int64_t n() const { return n_; }
    int64_t nnz() const { return static_cast<int64_t>(indices_.size()); }
    int64_t n_candidates() const { return n_candidates_; }
    const std::vector<double>& gains() const { return gain_; }
    const std::vector<double>& coverage() const { return level_; }
    const std::vector<double>& multipliers() const { return multiplier_; }
    const std::vector<uint8_t>& pickable() const { return pickable_; }

private:
    double out_weight(int64_t edge) const { return unit_ ? 1.0 : weights_[edge]; }
    double in_weight(int64_t edge) const { return unit_ ? 1.0 : in_weights_[edge]; }
    void check_node(int64_t node, const char* function, const char* argument) const;
    // Re-price every in-edge of y after c(y) or m(y) changed from (old_level, old_mult).
    void update_in_neighbours(int32_t y, double old_level, double old_mult);
    void cover_one(int64_t source);

    int64_t n_ = 0;
    bool unit_ = true;
    std::vector<int64_t> indptr_;
    std::vector<int32_t> indices_;
    std::vector<double> weights_;
    std::vector<int64_t> in_indptr_;
    std::vector<int32_t> in_sources_;
    std::vector<double> in_weights_;

    std::vector<double> level_;       // c(y)
    std::vector<double> multiplier_;  // m(y)
    std::vector<double> gain_;
    std::vector<int64_t> live_terms_;  // out-edges of x with a positive term; 0 snaps the gain to exactly 0
    std::vector<uint8_t> blocked_;
    std::vector<uint8_t> pickable_;
    int64_t n_candidates_ = 0;
};

}  // namespace nas
