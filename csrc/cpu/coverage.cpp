#include "cpu/coverage.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "common.h"

namespace nas {

namespace {

constexpr uint64_t kNodeMask = 0xffffffffULL;
const auto kMinHeap = std::greater<uint64_t>();

// cover() of many sources in integer mode recounts every gain (one parallel pass over the E edges)
// instead of pushing each newly covered node to its in-neighbours once the pushes would exceed
// E / kRecountFraction updates; both give the same exact integer gains.
constexpr int64_t kRecountFraction = 2;

// The in-edge lists of the nodes a cover or discount re-prices lie scattered over E-sized arrays and
// each starts with cache misses, so the lists kPrefetchAhead nodes ahead are requested while one is
// being priced (2-3x faster updates on a 10M-edge graph).
constexpr int64_t kPrefetchAhead = 4;

// Rows are limited to 2^30 - 1 edges, so that the negative counts of blocked nodes never overflow.
constexpr int64_t kMaxRowEdges = int64_t(1) << 30;

template <typename Bucket>
void heap_push(Bucket& bucket, uint64_t entry) {
    bucket.push_back(entry);
    std::push_heap(bucket.begin(), bucket.end(), kMinHeap);
}

template <typename Bucket>
void heap_pop(Bucket& bucket) {
    std::pop_heap(bucket.begin(), bucket.end(), kMinHeap);
    bucket.pop_back();
}

// Always inlined: as an out-of-line call it has no visible effect, so the optimiser may drop it.
__attribute__((always_inline)) inline void prefetch_range(const void* begin, const void* end) {
    for (const char* p = static_cast<const char*>(begin); p < static_cast<const char*>(end); p += 64)
        __builtin_prefetch(p);
}

__attribute__((always_inline)) inline void prefetch_in_edges(const CoverageGraph& g, int32_t y) {
    const int64_t begin = g.in_indptr[y], end = g.in_indptr[y + 1];
    prefetch_range(g.in_sources + begin, g.in_sources + end);
    if (!g.unit) prefetch_range(g.in_weights.data() + begin, g.in_weights.data() + end);
}

}  // namespace

CoverageGraph::CoverageGraph(std::vector<int64_t> indptr_in, const int32_t* indices_in, int64_t nnz,
                             std::vector<double> weights_in, bool symmetric)
    : edges(nnz), indptr(std::move(indptr_in)), weights(std::move(weights_in)) {
    const char* fn = "CoverageState";
    if (indptr.empty() || indptr.front() != 0)
        bad_argument(fn, "indptr", "a CSR offset array of length n + 1 starting at 0", "another array");
    n = static_cast<int64_t>(indptr.size()) - 1;
    if (n >= (int64_t(1) << 31)) bad_argument(fn, "graph", "a graph with fewer than 2^31 nodes", to_str(n));
    for (int64_t x = 0; x < n; ++x) {
        if (indptr[x + 1] < indptr[x]) bad_argument(fn, "indptr", "non-decreasing", "a decreasing step at row " + to_str(x));
        if (indptr[x + 1] - indptr[x] >= kMaxRowEdges)
            bad_argument(fn, "graph", "rows with fewer than 2^30 edges",
                         to_str(indptr[x + 1] - indptr[x]) + " at row " + to_str(x));
    }
    if (indptr.back() != edges)
        bad_argument(fn, "indptr", "ending at nnz = " + to_str(edges), "last offset " + to_str(indptr.back()));
    // Copy and range-check the targets in one parallel pass: for a large graph the copy costs mostly
    // first-touch page faults, which threads share.
    indices.reset(new int32_t[std::max<int64_t>(edges, 1)]);
    int32_t lowest = 0, highest = 0;
#pragma omp parallel for reduction(min : lowest) reduction(max : highest) schedule(static)
    for (int64_t e = 0; e < edges; ++e) {
        const int32_t y = indices_in[e];
        indices[e] = y;
        lowest = std::min(lowest, y);
        highest = std::max(highest, y);
    }
    if (edges > 0 && (lowest < 0 || highest >= n)) {
        const int32_t* bad = std::find_if(indices.get(), indices.get() + edges,
                                          [this](int32_t y) { return y < 0 || y >= n; });
        bad_argument(fn, "indices", "node ids in [0, " + to_str(n) + ")", "id " + to_str(*bad));
    }
    unit = weights.empty();
    if (!unit) {
        if (static_cast<int64_t>(weights.size()) != edges)
            bad_argument(fn, "weights", "of length nnz = " + to_str(edges), "length " + to_str(weights.size()));
        for (double w : weights)
            if (!std::isfinite(w) || w < 0) bad_argument(fn, "weights", "finite and >= 0", to_str(w));
    }

    // In-edges: a symmetric unit-weight graph is its own transpose; otherwise a counting sort lists the
    // in-edges of y by ascending source.
    if (symmetric && unit) {
        in_indptr = indptr.data();
        in_sources = indices.get();
        return;
    }
    own_in_indptr_.assign(n + 1, 0);
    for (int64_t e = 0; e < edges; ++e) ++own_in_indptr_[indices[e] + 1];
    for (int64_t y = 0; y < n; ++y) own_in_indptr_[y + 1] += own_in_indptr_[y];
    own_in_sources_.resize(edges);
    if (!unit) in_weights.resize(edges);
    std::vector<int64_t> fill(own_in_indptr_.begin(), own_in_indptr_.end() - 1);
    for (int64_t x = 0; x < n; ++x) {
        for (int64_t e = indptr[x]; e < indptr[x + 1]; ++e) {
            const int64_t slot = fill[indices[e]]++;
            own_in_sources_[slot] = static_cast<int32_t>(x);
            if (!unit) in_weights[slot] = weights[e];
        }
    }
    in_indptr = own_in_indptr_.data();
    in_sources = own_in_sources_.data();
}

CoverageState::CoverageState(std::vector<int64_t> indptr, const int32_t* indices, int64_t nnz,
                             std::vector<double> weights, bool symmetric)
    : graph_(std::make_shared<const CoverageGraph>(std::move(indptr), indices, nnz, std::move(weights), symmetric)) {
    const CoverageGraph& g = *graph_;
    n_ = g.n;
    level_.assign(n_, 0.0);
    multiplier_.assign(n_, 1.0);
    pickable_.assign(n_, 1);
    n_candidates_ = n_;
    integer_mode_ = g.unit;
    if (integer_mode_) {
        live_.resize(n_);
        for (int64_t x = 0; x < n_; ++x) live_[x] = static_cast<int32_t>(g.indptr[x + 1] - g.indptr[x]);
        return;
    }
    node_.resize(n_);
#pragma omp parallel for schedule(static)
    for (int64_t x = 0; x < n_; ++x) {
        double total = 0.0;
        int64_t live = 0;
        for (int64_t e = g.indptr[x]; e < g.indptr[x + 1]; ++e) {
            total += g.weights[e];
            live += g.weights[e] > 0.0;
        }
        node_[x] = NodeGain{total, live};
    }
}

void CoverageState::leave_integer_mode() {
    node_.resize(n_);
    for (int64_t x = 0; x < n_; ++x)
        node_[x] = live_[x] < 0 ? NodeGain{0.0, kBlocked} : NodeGain{static_cast<double>(live_[x]), live_[x]};
    integer_mode_ = false;
    std::vector<int32_t>().swap(live_);
}

void CoverageState::check_node(int64_t node, const char* function, const char* argument) const {
    if (node < 0 || node >= n_) bad_argument(function, argument, "node ids in [0, " + to_str(n_) + ")", "id " + to_str(node));
}

std::vector<double> CoverageState::gains() const {
    std::vector<double> out(n_);
    for (int64_t x = 0; x < n_; ++x) out[x] = gain_of(x);
    return out;
}

inline void CoverageState::lower_gain(int32_t x, double decrease, bool term_dies) {
    NodeGain& node = node_[x];
    if (node.live_terms == kBlocked) return;
    if (term_dies && --node.live_terms == 0) {
        node.gain = 0.0;
        return;
    }
    node.gain = std::max(0.0, node.gain - decrease);
}

void CoverageState::update_in_neighbours(int32_t y, double old_level, double old_mult) {
    const CoverageGraph& g = *graph_;
    if (integer_mode_) {
        // Only cover() gets here (c(y): 0 -> 1 with m(y) = 1): every in-neighbour loses one unit term
        // (blocked ones included: their counts stay negative, see the header).
        for (int64_t e = g.in_indptr[y]; e < g.in_indptr[y + 1]; ++e) --live_[g.in_sources[e]];
        return;
    }
    if (g.unit) {
        update_in_neighbours_unit(y, old_level, old_mult);
        return;
    }
    const double new_level = level_[y];
    const double new_mult = multiplier_[y];
    for (int64_t e = g.in_indptr[y]; e < g.in_indptr[y + 1]; ++e) {
        const double w = g.in_weights[e];
        const double old_term = w > old_level ? old_mult * (w - old_level) : 0.0;
        if (!(old_term > 0.0)) continue;  // a dead term stays dead: levels only rise, multipliers only fall
        const double new_term = w > new_level ? new_mult * (w - new_level) : 0.0;
        if (new_term != old_term) lower_gain(g.in_sources[e], old_term - new_term, !(new_term > 0.0));
    }
}

void CoverageState::update_in_neighbours_unit(int32_t y, double old_level, double old_mult) {
    const CoverageGraph& g = *graph_;
    const double old_term = 1.0 > old_level ? old_mult * (1.0 - old_level) : 0.0;
    const double new_term = 1.0 > level_[y] ? multiplier_[y] * (1.0 - level_[y]) : 0.0;
    if (!(old_term > 0.0) || new_term == old_term) return;
    const double decrease = old_term - new_term;
    const bool term_dies = !(new_term > 0.0);
    for (int64_t e = g.in_indptr[y]; e < g.in_indptr[y + 1]; ++e) lower_gain(g.in_sources[e], decrease, term_dies);
}

void CoverageState::cover_one(int64_t source) {
    const CoverageGraph& g = *graph_;
    const int64_t end = g.indptr[source + 1];
    for (int64_t e = g.indptr[source]; e < end; ++e) {
        if (e + kPrefetchAhead < end && g.out_weight(e + kPrefetchAhead) > level_[g.indices[e + kPrefetchAhead]])
            prefetch_in_edges(g, g.indices[e + kPrefetchAhead]);
        const int32_t y = g.indices[e];
        const double w = g.out_weight(e);
        if (w > level_[y]) {
            const double old_level = level_[y];
            level_[y] = w;
            update_in_neighbours(y, old_level, multiplier_[y]);
        }
    }
}

void CoverageState::cover(const int64_t* sources, int64_t count) {
    for (int64_t i = 0; i < count; ++i) check_node(sources[i], "CoverageState.cover", "sources");
    if (integer_mode_) {
        cover_integer(sources, count);
        return;
    }
    for (int64_t i = 0; i < count; ++i) cover_one(sources[i]);
}

void CoverageState::cover_integer(const int64_t* sources, int64_t count) {
    const CoverageGraph& g = *graph_;
    std::vector<int32_t> newly_covered;
    int64_t pushes = 0;
    for (int64_t i = 0; i < count; ++i) {
        for (int64_t e = g.indptr[sources[i]]; e < g.indptr[sources[i] + 1]; ++e) {
            const int32_t y = g.indices[e];
            if (level_[y] == 0.0) {
                level_[y] = 1.0;
                newly_covered.push_back(y);
                pushes += g.in_degree(y);
            }
        }
    }
    if (pushes * kRecountFraction > g.nnz()) {
        recount_live();
        return;
    }
    const int64_t count_new = static_cast<int64_t>(newly_covered.size());
    for (int64_t i = 0; i < count_new; ++i) {
        if (i + kPrefetchAhead < count_new) prefetch_in_edges(g, newly_covered[i + kPrefetchAhead]);
        update_in_neighbours(newly_covered[i], 0.0, 1.0);
    }
}

void CoverageState::recount_live() {
    const CoverageGraph& g = *graph_;
    std::vector<uint8_t> uncovered(n_);
    for (int64_t y = 0; y < n_; ++y) uncovered[y] = level_[y] == 0.0;
#pragma omp parallel for schedule(dynamic, 4096)
    for (int64_t x = 0; x < n_; ++x) {
        if (live_[x] < 0) continue;  // blocked
        int32_t live = 0;
        for (int64_t e = g.indptr[x]; e < g.indptr[x + 1]; ++e) live += uncovered[g.indices[e]];
        live_[x] = live;
    }
}

void CoverageState::discount(const int64_t* sources, int64_t count, double factor, bool per_source) {
    for (int64_t i = 0; i < count; ++i) check_node(sources[i], "CoverageState.discount", "sources");
    if (!(factor >= 0.0 && factor <= 1.0))
        bad_argument("CoverageState.discount", "factor", "a float in [0, 1]", to_str(factor));
    if (count == 0 || factor == 1.0) return;
    const CoverageGraph& g = *graph_;
    // hits[y]: distinct sources whose ball holds y; nodes are re-priced in order of first touch.
    std::vector<int32_t> hits(n_, 0);
    std::vector<int64_t> last_source(n_, -1);
    std::vector<uint8_t> seen_source(n_, 0);
    std::vector<int32_t> touched;
    for (int64_t i = 0; i < count; ++i) {
        const int64_t s = sources[i];
        if (seen_source[s]) continue;
        seen_source[s] = 1;
        for (int64_t e = g.indptr[s]; e < g.indptr[s + 1]; ++e) {
            const int32_t y = g.indices[e];
            if (last_source[y] == s) continue;
            last_source[y] = s;
            if (hits[y]++ == 0) touched.push_back(y);
        }
    }
    if (integer_mode_ && factor < 1.0 && !touched.empty()) leave_integer_mode();
    const int64_t count_touched = static_cast<int64_t>(touched.size());
    for (int64_t i = 0; i < count_touched; ++i) {
        if (i + kPrefetchAhead < count_touched) prefetch_in_edges(g, touched[i + kPrefetchAhead]);
        const int32_t y = touched[i];
        const double old_mult = multiplier_[y];
        const int32_t times = per_source ? hits[y] : 1;
        double mult = old_mult;
        for (int32_t t = 0; t < times; ++t) mult *= factor;
        if (mult == old_mult) continue;
        multiplier_[y] = mult;
        update_in_neighbours(y, level_[y], old_mult);
    }
}

void CoverageState::block(const int64_t* nodes, int64_t count) {
    for (int64_t i = 0; i < count; ++i) check_node(nodes[i], "CoverageState.block", "nodes");
    for (int64_t i = 0; i < count; ++i) {
        const int64_t x = nodes[i];
        if (integer_mode_) {
            if (live_[x] < 0) continue;
            live_[x] = -1 - live_[x];
        } else {
            if (node_[x].live_terms == kBlocked) continue;
            node_[x] = NodeGain{0.0, kBlocked};
        }
        if (pickable_[x]) {
            pickable_[x] = 0;
            --n_candidates_;
        }
    }
}

void CoverageState::exclude(const int64_t* nodes, int64_t count) {
    for (int64_t i = 0; i < count; ++i) check_node(nodes[i], "CoverageState.exclude", "nodes");
    for (int64_t i = 0; i < count; ++i) {
        const int64_t x = nodes[i];
        if (pickable_[x]) {
            pickable_[x] = 0;
            --n_candidates_;
        }
    }
}

// An entry is fresh while its node is pickable and its current gain still equals its bucket's; stale
// entries are moved to the bucket of their fresh gain when they reach the top of their bucket. Exact
// ties share a bucket, so a pick never walks them.
CoverageState::Buckets CoverageState::make_buckets(const int64_t* keys) const {
    // Candidates grouped by exact gain in index order, so a bucket is already a min-heap for tie keys =
    // index; random tie keys are heapified per bucket. Integer gains are their own slot number.
    std::unordered_map<double, size_t> slot_of;
    std::vector<std::pair<double, Bucket>> slots;
    double last_gain = -1.0;
    size_t last_slot = 0;
    for (int64_t x = 0; x < n_; ++x) {
        if (!pickable_[x]) continue;
        const double gain = gain_of(x);
        if (gain != last_gain) {
            if (integer_mode_) {
                last_slot = static_cast<size_t>(gain);
                if (last_slot >= slots.size()) slots.resize(last_slot + 1);
                slots[last_slot].first = gain;
            } else {
                const auto found = slot_of.try_emplace(gain, slots.size());
                if (found.second) slots.emplace_back(gain, Bucket());
                last_slot = found.first->second;
            }
            last_gain = gain;
        }
        const uint64_t key = keys ? static_cast<uint64_t>(keys[x]) : static_cast<uint64_t>(x);
        slots[last_slot].second.push_back((key << 32) | static_cast<uint64_t>(x));
    }
    Buckets buckets;
    for (auto& slot : slots) {
        if (slot.second.empty()) continue;
        if (keys) std::make_heap(slot.second.begin(), slot.second.end(), kMinHeap);
        buckets.emplace(slot.first, std::move(slot.second));
    }
    return buckets;
}

CoverageState::Buckets& CoverageState::index_buckets() {
    if (!index_buckets_built_) {
        index_buckets_ = make_buckets(nullptr);
        index_buckets_built_ = true;
    }
    return index_buckets_;
}

bool CoverageState::refresh_top(Buckets& buckets, Buckets::iterator it) {
    Bucket& bucket = it->second;
    while (!bucket.empty()) {
        const uint64_t entry = bucket.front();
        const int64_t x = static_cast<int64_t>(entry & kNodeMask);
        if (pickable_[x] && gain_of(x) == it->first) return true;
        heap_pop(bucket);
        if (pickable_[x]) heap_push(buckets[gain_of(x)], entry);
    }
    return false;
}

CoverageState::Buckets::iterator CoverageState::best_bucket(Buckets& buckets) {
    auto top = buckets.begin();
    while (!refresh_top(buckets, top)) {
        buckets.erase(top);
        top = buckets.begin();
    }
    const double best_gain = top->first;
    const double floor = best_gain - kTieTolerance * std::max(1.0, std::fabs(best_gain));
    auto best = top;
    for (auto it = std::next(top); it != buckets.end() && it->first >= floor;) {
        if (!refresh_top(buckets, it)) {
            it = buckets.erase(it);
            continue;
        }
        if (it->second.front() < best->second.front()) best = it;
        ++it;
    }
    return best;
}

void CoverageState::pick(int64_t k, const int64_t* keys, int64_t* picks, double* gains) {
    const char* fn = "CoverageState.pick";
    if (k < 0 || k > n_candidates_)
        bad_argument(fn, "k", "an int in [0, " + to_str(n_candidates_) + "] (the nodes that can still be picked)",
                     to_str(k));
    if (keys)
        for (int64_t x = 0; x < n_; ++x)
            if (keys[x] < 0 || keys[x] > static_cast<int64_t>(kNodeMask))
                bad_argument(fn, "keys", "tie keys in [0, 2^32)", to_str(keys[x]));
    if (k == 0) return;

    Buckets random_buckets;
    if (keys) random_buckets = make_buckets(keys);
    Buckets& buckets = keys ? random_buckets : index_buckets();
    for (int64_t i = 0; i < k; ++i) {
        const auto best = best_bucket(buckets);
        const int64_t x = static_cast<int64_t>(best->second.front() & kNodeMask);
        heap_pop(best->second);
        if (best->second.empty()) buckets.erase(best);
        picks[i] = x;
        gains[i] = gain_of(x);
        pickable_[x] = 0;
        --n_candidates_;
        cover_one(x);
    }
}

std::pair<int64_t, double> CoverageState::peek() {
    if (n_candidates_ == 0)
        bad_argument("CoverageState.peek", "state", "a state with a node that can still be picked", "none left");
    const auto best = best_bucket(index_buckets());
    const int64_t x = static_cast<int64_t>(best->second.front() & kNodeMask);
    return {x, gain_of(x)};
}

}  // namespace nas
