#include "cpu/coverage.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>

#include "common.h"

namespace nas {

namespace {

constexpr uint64_t kNodeMask = 0xffffffffULL;

// Lazy max structure of the greedy: buckets of exactly equal stored gains (highest first), each a
// min-heap of entries (tie key << 32 | node). An entry is fresh while its node is pickable and its
// current gain still equals the bucket's; stale entries are moved to the bucket of their fresh gain
// when they reach the top of their bucket. Exact ties share a bucket, so a pick never walks them.
using Bucket = std::vector<uint64_t>;
using Buckets = std::map<double, Bucket, std::greater<double>>;
const auto kMinHeap = std::greater<uint64_t>();

void heap_push(Bucket& bucket, uint64_t entry) {
    bucket.push_back(entry);
    std::push_heap(bucket.begin(), bucket.end(), kMinHeap);
}

void heap_pop(Bucket& bucket) {
    std::pop_heap(bucket.begin(), bucket.end(), kMinHeap);
    bucket.pop_back();
}

}  // namespace

CoverageState::CoverageState(std::vector<int64_t> indptr, std::vector<int32_t> indices, std::vector<double> weights,
                             bool symmetric)
    : indptr_(std::move(indptr)), indices_(std::move(indices)), weights_(std::move(weights)) {
    const char* fn = "CoverageState";
    if (indptr_.empty() || indptr_.front() != 0)
        bad_argument(fn, "indptr", "a CSR offset array of length n + 1 starting at 0", "another array");
    n_ = static_cast<int64_t>(indptr_.size()) - 1;
    if (n_ >= (int64_t(1) << 31)) bad_argument(fn, "graph", "a graph with fewer than 2^31 nodes", to_str(n_));
    const int64_t nnz = static_cast<int64_t>(indices_.size());
    for (int64_t x = 0; x < n_; ++x)
        if (indptr_[x + 1] < indptr_[x]) bad_argument(fn, "indptr", "non-decreasing", "a decreasing step at row " + to_str(x));
    if (indptr_.back() != nnz)
        bad_argument(fn, "indptr", "ending at nnz = " + to_str(nnz), "last offset " + to_str(indptr_.back()));
    for (int64_t e = 0; e < nnz; ++e)
        if (indices_[e] < 0 || indices_[e] >= n_)
            bad_argument(fn, "indices", "node ids in [0, " + to_str(n_) + ")", "id " + to_str(indices_[e]));
    unit_ = weights_.empty();
    if (!unit_) {
        if (static_cast<int64_t>(weights_.size()) != nnz)
            bad_argument(fn, "weights", "of length nnz = " + to_str(nnz), "length " + to_str(weights_.size()));
        for (double w : weights_)
            if (!std::isfinite(w) || w < 0) bad_argument(fn, "weights", "finite and >= 0", to_str(w));
    }

    // In-edges: a symmetric unit-weight graph is its own transpose; otherwise a counting sort lists the
    // in-edges of y by ascending source.
    if (symmetric && unit_) {
        in_indptr_view_ = indptr_.data();
        in_sources_view_ = indices_.data();
    } else {
        in_indptr_.assign(n_ + 1, 0);
        for (int32_t y : indices_) ++in_indptr_[y + 1];
        for (int64_t y = 0; y < n_; ++y) in_indptr_[y + 1] += in_indptr_[y];
        in_sources_.resize(nnz);
        if (!unit_) in_weights_.resize(nnz);
        std::vector<int64_t> fill(in_indptr_.begin(), in_indptr_.end() - 1);
        for (int64_t x = 0; x < n_; ++x) {
            for (int64_t e = indptr_[x]; e < indptr_[x + 1]; ++e) {
                const int64_t slot = fill[indices_[e]]++;
                in_sources_[slot] = static_cast<int32_t>(x);
                if (!unit_) in_weights_[slot] = weights_[e];
            }
        }
        in_indptr_view_ = in_indptr_.data();
        in_sources_view_ = in_sources_.data();
    }

    level_.assign(n_, 0.0);
    multiplier_.assign(n_, 1.0);
    pickable_.assign(n_, 1);
    n_candidates_ = n_;
    integer_mode_ = unit_;
    if (integer_mode_) {
        live_.resize(n_);
        for (int64_t x = 0; x < n_; ++x) {
            const int64_t degree = indptr_[x + 1] - indptr_[x];
            if (degree > std::numeric_limits<int32_t>::max())
                bad_argument(fn, "graph", "rows with fewer than 2^31 edges", to_str(degree) + " at row " + to_str(x));
            live_[x] = static_cast<int32_t>(degree);
        }
        return;
    }
    node_.resize(n_);
#pragma omp parallel for schedule(static)
    for (int64_t x = 0; x < n_; ++x) {
        double total = 0.0;
        int64_t live = 0;
        for (int64_t e = indptr_[x]; e < indptr_[x + 1]; ++e) {
            total += weights_[e];
            live += weights_[e] > 0.0;
        }
        node_[x] = NodeGain{total, live};
    }
}

void CoverageState::leave_integer_mode() {
    node_.resize(n_);
    for (int64_t x = 0; x < n_; ++x)
        node_[x] = live_[x] == kBlocked ? NodeGain{0.0, kBlocked} : NodeGain{static_cast<double>(live_[x]), live_[x]};
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
    if (integer_mode_) {
        // Only cover() gets here (c(y): 0 -> 1 with m(y) = 1): every in-neighbour loses one unit term.
        for (int64_t e = in_indptr_view_[y]; e < in_indptr_view_[y + 1]; ++e) {
            int32_t& live = live_[in_sources_view_[e]];
            live -= live > 0;
        }
        return;
    }
    if (unit_) {
        update_in_neighbours_unit(y, old_level, old_mult);
        return;
    }
    const double new_level = level_[y];
    const double new_mult = multiplier_[y];
    for (int64_t e = in_indptr_view_[y]; e < in_indptr_view_[y + 1]; ++e) {
        const double w = in_weights_[e];
        const double old_term = w > old_level ? old_mult * (w - old_level) : 0.0;
        if (!(old_term > 0.0)) continue;  // a dead term stays dead: levels only rise, multipliers only fall
        const double new_term = w > new_level ? new_mult * (w - new_level) : 0.0;
        if (new_term != old_term) lower_gain(in_sources_view_[e], old_term - new_term, !(new_term > 0.0));
    }
}

void CoverageState::update_in_neighbours_unit(int32_t y, double old_level, double old_mult) {
    const double old_term = 1.0 > old_level ? old_mult * (1.0 - old_level) : 0.0;
    const double new_term = 1.0 > level_[y] ? multiplier_[y] * (1.0 - level_[y]) : 0.0;
    if (!(old_term > 0.0) || new_term == old_term) return;
    const double decrease = old_term - new_term;
    const bool term_dies = !(new_term > 0.0);
    for (int64_t e = in_indptr_view_[y]; e < in_indptr_view_[y + 1]; ++e)
        lower_gain(in_sources_view_[e], decrease, term_dies);
}

void CoverageState::cover_one(int64_t source) {
    for (int64_t e = indptr_[source]; e < indptr_[source + 1]; ++e) {
        const int32_t y = indices_[e];
        const double w = out_weight(e);
        if (w > level_[y]) {
            const double old_level = level_[y];
            level_[y] = w;
            update_in_neighbours(y, old_level, multiplier_[y]);
        }
    }
}

void CoverageState::cover(const int64_t* sources, int64_t count) {
    for (int64_t i = 0; i < count; ++i) check_node(sources[i], "CoverageState.cover", "sources");
    for (int64_t i = 0; i < count; ++i) cover_one(sources[i]);
}

void CoverageState::discount(const int64_t* sources, int64_t count, double factor, bool per_source) {
    for (int64_t i = 0; i < count; ++i) check_node(sources[i], "CoverageState.discount", "sources");
    if (!(factor >= 0.0 && factor <= 1.0))
        bad_argument("CoverageState.discount", "factor", "a float in [0, 1]", to_str(factor));
    if (count == 0 || factor == 1.0) return;
    // hits[y]: distinct sources whose ball holds y; nodes are re-priced in order of first touch.
    std::vector<int32_t> hits(n_, 0);
    std::vector<int64_t> last_source(n_, -1);
    std::vector<uint8_t> seen_source(n_, 0);
    std::vector<int32_t> touched;
    for (int64_t i = 0; i < count; ++i) {
        const int64_t s = sources[i];
        if (seen_source[s]) continue;
        seen_source[s] = 1;
        for (int64_t e = indptr_[s]; e < indptr_[s + 1]; ++e) {
            const int32_t y = indices_[e];
            if (last_source[y] == s) continue;
            last_source[y] = s;
            if (hits[y]++ == 0) touched.push_back(y);
        }
    }
    if (integer_mode_ && factor < 1.0 && !touched.empty()) leave_integer_mode();
    for (int32_t y : touched) {
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
            if (live_[x] == kBlocked) continue;
            live_[x] = kBlocked;
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

    // Initial buckets: candidates grouped by exact gain in index order, so a bucket is already a min-heap
    // for tie keys = index; random tie keys are heapified per bucket.
    Buckets buckets;
    {
        std::unordered_map<double, size_t> slot_of;
        std::vector<std::pair<double, Bucket>> slots;
        double last_gain = -1.0;
        size_t last_slot = 0;
        for (int64_t x = 0; x < n_; ++x) {
            if (!pickable_[x]) continue;
            const double gain = gain_of(x);
            if (gain != last_gain) {
                const auto found = slot_of.try_emplace(gain, slots.size());
                if (found.second) slots.emplace_back(gain, Bucket());
                last_slot = found.first->second;
                last_gain = gain;
            }
            const uint64_t key = keys ? static_cast<uint64_t>(keys[x]) : static_cast<uint64_t>(x);
            slots[last_slot].second.push_back((key << 32) | static_cast<uint64_t>(x));
        }
        for (auto& slot : slots) {
            if (keys) std::make_heap(slot.second.begin(), slot.second.end(), kMinHeap);
            buckets.emplace(slot.first, std::move(slot.second));
        }
    }

    // Drop or move stale entries off the top of a bucket; false when the bucket ran empty.
    auto refresh_top = [&](Buckets::iterator it) {
        Bucket& bucket = it->second;
        while (!bucket.empty()) {
            const uint64_t entry = bucket.front();
            const int64_t x = static_cast<int64_t>(entry & kNodeMask);
            if (pickable_[x] && gain_of(x) == it->first) return true;
            heap_pop(bucket);
            if (pickable_[x]) heap_push(buckets[gain_of(x)], entry);
        }
        return false;
    };

    for (int64_t i = 0; i < k; ++i) {
        auto top = buckets.begin();
        while (!refresh_top(top)) {
            buckets.erase(top);
            top = buckets.begin();
        }
        const double best_gain = top->first;
        const double floor = best_gain - kTieTolerance * std::max(1.0, std::fabs(best_gain));
        auto best = top;
        for (auto it = std::next(top); it != buckets.end() && it->first >= floor;) {
            if (!refresh_top(it)) {
                it = buckets.erase(it);
                continue;
            }
            if (it->second.front() < best->second.front()) best = it;
            ++it;
        }
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

}  // namespace nas
