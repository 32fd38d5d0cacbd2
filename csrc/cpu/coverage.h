// Weighted coverage greedy state (SPEC §3.2): incremental gains over a CSR graph and its transpose.
//
// gain(x) = sum over out-edges x->y of m(y) * max(0, w(x,y) - c(y)), 0 for a blocked x.
// Coverage levels c only rise and multipliers m only fall, so gains only fall: every change of c(y) or
// m(y) is pushed to the in-neighbours of y by its exact delta (O(in-degree of y)), and the argmax is a
// lazy max structure whose stale entries are refreshed when they surface. With unit weights a node is
// covered at most once, so a whole selection costs O(E) gain updates plus O(N + refreshes · log N) for
// the argmax, never O(E) per pick.
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
    // symmetric: the caller guarantees x->y exists iff y->x does (the CSR then doubles as the transpose).
    CoverageState(std::vector<int64_t> indptr, std::vector<int32_t> indices, std::vector<double> weights,
                  bool symmetric);

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
    std::vector<double> gains() const;
    const std::vector<double>& coverage() const { return level_; }
    const std::vector<double>& multipliers() const { return multiplier_; }
    const std::vector<uint8_t>& pickable() const { return pickable_; }

private:
    double out_weight(int64_t edge) const { return unit_ ? 1.0 : weights_[edge]; }
    void check_node(int64_t node, const char* function, const char* argument) const;
    // Re-price every in-edge of y after c(y) or m(y) changed from (old_level, old_mult).
    void update_in_neighbours(int32_t y, double old_level, double old_mult);
    // The same for unit weights, where every in-edge of y changes by the same amount.
    void update_in_neighbours_unit(int32_t y, double old_level, double old_mult);
    // Subtract one term's decrease from x's gain; a term that dies may leave x with none (gain exactly 0).
    void lower_gain(int32_t x, double decrease, bool term_dies);
    void leave_integer_mode();
    double gain_of(int64_t x) const {
        return integer_mode_ ? (live_[x] > 0 ? static_cast<double>(live_[x]) : 0.0) : node_[x].gain;
    }
    void cover_one(int64_t source);

    int64_t n_ = 0;
    bool unit_ = true;
    std::vector<int64_t> indptr_;
    std::vector<int32_t> indices_;
    std::vector<double> weights_;
    std::vector<int64_t> in_indptr_;  // the transpose, unless the CSR serves as its own
    std::vector<int32_t> in_sources_;
    const int64_t* in_indptr_view_ = nullptr;
    const int32_t* in_sources_view_ = nullptr;
    std::vector<double> in_weights_;

    std::vector<double> level_;       // c(y)
    std::vector<double> multiplier_;  // m(y)
    // Integer mode (unit weights, no discount yet): every term is 0 or 1, so gain(x) is exactly the number
    // of live terms, kept in a compact int32 array. The first discount switches to the general mode:
    // the gain of x with its number of positive terms (0 snaps the gain to exactly 0), side by side so
    // that an update touches one cache line. kBlocked marks a blocked x in both modes.
    struct NodeGain {
        double gain;
        int64_t live_terms;
    };
    static constexpr int32_t kBlocked = -1;
    bool integer_mode_ = true;
    std::vector<int32_t> live_;
    std::vector<NodeGain> node_;
    std::vector<uint8_t> pickable_;
    int64_t n_candidates_ = 0;
};

}  // namespace nas
