// Weighted coverage greedy state (SPEC §3.2): incremental gains over a CSR graph and its transpose.
//
// gain(x) = sum over out-edges x->y of m(y) * max(0, w(x,y) - c(y)), 0 for a blocked x.
// Coverage levels c only rise and multipliers m only fall, so gains only fall: every change of c(y) or
// m(y) is pushed to the in-neighbours of y by its exact delta (O(in-degree of y)), and the argmax is a
// lazy max structure whose stale entries are refreshed when they surface. With unit weights a node is
// covered at most once, so a whole selection costs O(E) gain updates plus O(N + refreshes · log N) for
// the argmax, never O(E) per pick.
//
// The graph (CSR, weights, in-edges) is immutable and shared between a state and its copies, so a copy
// costs O(N): NAS restores a pristine state per share instead of rebuilding the transpose.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

namespace nas {

// The edges a coverage state reads, validated once and never changed.
struct CoverageGraph {
    // indptr: n + 1 offsets; indices: the nnz targets in [0, n), copied; weights: nnz values >= 0 or
    // empty (all 1). symmetric: the caller guarantees x->y exists iff y->x does (the CSR then doubles
    // as the transpose).
    CoverageGraph(std::vector<int64_t> indptr, const int32_t* indices, int64_t nnz, std::vector<double> weights,
                  bool symmetric);
    CoverageGraph(const CoverageGraph&) = delete;
    CoverageGraph& operator=(const CoverageGraph&) = delete;

    int64_t nnz() const { return edges; }
    double out_weight(int64_t edge) const { return unit ? 1.0 : weights[edge]; }
    int64_t in_degree(int64_t y) const { return in_indptr[y + 1] - in_indptr[y]; }

    int64_t n = 0;
    int64_t edges = 0;
    bool unit = true;
    std::vector<int64_t> indptr;
    std::unique_ptr<int32_t[]> indices;
    std::vector<double> weights;
    // In-edges of y, sources ascending: in_sources[in_indptr[y] .. in_indptr[y + 1]), with in_weights
    // alongside when weighted. Point into the CSR itself when it serves as its own transpose.
    const int64_t* in_indptr = nullptr;
    const int32_t* in_sources = nullptr;
    std::vector<double> in_weights;

private:
    std::vector<int64_t> own_in_indptr_;
    std::vector<int32_t> own_in_sources_;
};

class CoverageState {
public:
    // Gains within kTieTolerance * max(1, |g|) of the maximum are ties (incremental and from-scratch
    // sums of the same terms then break ties the same way).
    static constexpr double kTieTolerance = 1e-9;

    // Builds the graph (see CoverageGraph) and a state with nothing covered.
    CoverageState(std::vector<int64_t> indptr, const int32_t* indices, int64_t nnz, std::vector<double> weights,
                  bool symmetric);
    // An independent state in the same condition, sharing the immutable graph: O(N).
    CoverageState(const CoverageState&) = default;
    CoverageState& operator=(const CoverageState&) = delete;

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
    // The node pick(1) with index ties would return, and its gain, without picking it.
    std::pair<int64_t, double> peek();

    int64_t n() const { return n_; }
    int64_t nnz() const { return graph_->nnz(); }
    int64_t n_candidates() const { return n_candidates_; }
    std::vector<double> gains() const;
    const std::vector<double>& coverage() const { return level_; }
    const std::vector<double>& multipliers() const { return multiplier_; }
    const std::vector<uint8_t>& pickable() const { return pickable_; }

private:
    // Lazy max structure of the greedy: buckets of exactly equal stored gains (highest first), each a
    // min-heap of entries (tie key << 32 | node). See coverage.cpp.
    using Bucket = std::vector<uint64_t>;
    using Buckets = std::map<double, Bucket, std::greater<double>>;

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
    // Integer mode: cover many sources at once, recounting every gain in one pass when that is cheaper
    // than pushing each newly covered node to its in-neighbours.
    void cover_integer(const int64_t* sources, int64_t count);
    void recount_live();

    Buckets make_buckets(const int64_t* keys) const;
    // The buckets for index ties, built on first use and kept across calls: gains only fall and nodes
    // only stop being pickable, so every entry stays in a bucket at or above its node's gain.
    Buckets& index_buckets();
    // Drops or moves stale entries off the top of a bucket; false when the bucket ran empty.
    bool refresh_top(Buckets& buckets, Buckets::iterator it);
    // The bucket whose top entry is the next pick (needs a candidate).
    Buckets::iterator best_bucket(Buckets& buckets);

    std::shared_ptr<const CoverageGraph> graph_;
    int64_t n_ = 0;
    std::vector<double> level_;       // c(y)
    std::vector<double> multiplier_;  // m(y)
    // Integer mode (unit weights, no discount yet): every term is 0 or 1, so gain(x) is exactly the number
    // of live terms, kept in a compact int32 array. Blocking x with L live terms stores -1 - L: covers
    // decrement every in-neighbour without a test, at most L more times, so a blocked count stays
    // negative (and above -2^31, rows having fewer than 2^30 edges). The first discount switches to the
    // general mode: the gain of x with its number of positive terms (0 snaps the gain to exactly 0), side
    // by side so that an update touches one cache line; kBlocked marks a blocked x there.
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
    bool index_buckets_built_ = false;
    Buckets index_buckets_;
};

}  // namespace nas
