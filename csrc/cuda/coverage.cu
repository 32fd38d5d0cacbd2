// Weighted coverage greedy on the GPU: the state and the rules of csrc/cpu/coverage.cpp.
//
// gain(x) = sum over out-edges x->y of m(y) * max(0, w(x,y) - c(y)), 0 for a blocked x. When c(y) or
// m(y) changes, each in-edge x->y changes gain(x) by the exact difference of its term (atomicAdd), and
// live(x), the number of x's out-edges with a positive term, drops when a term dies: a gain whose live
// count is 0 reads as exactly 0 (the CPU snaps it to 0), and any other gain reads as max(0, stored sum).
// So a whole selection costs O(E) term updates, never O(E) per pick.
//
// A pick is three launches and no host round trip: per-block maxima of the readable gains, then per-block
// minima of the tie entries (key << 32 | node) among the gains within the CPU's tie tolerance of the
// maximum, then one block that takes the overall minimum entry, records the pick and covers its ball.
#include <cfloat>
#include <cmath>

#include "common.h"
#include "cuda/cuda_common.cuh"
#include "cuda/ops.h"

namespace nas {
namespace cuda {

namespace {

constexpr int kBlock = 256;
constexpr int kWarps = kBlock / 32;
constexpr uint64_t kNodeMask = 0xffffffffULL;
constexpr unsigned long long kNoEntry = ~0ULL;
constexpr double kTieTolerance = 1e-9;  // CoverageState::kTieTolerance of the CPU kernel

struct State {
    int64_t n;
    const int64_t* indptr;
    const int32_t* indices;
    const double* weights;  // null: every weight is 1
    const int64_t* in_indptr;
    const int32_t* in_sources;
    const double* in_weights;
    double* level;       // c(y)
    double* multiplier;  // m(y)
    double* gain;        // running sum of the terms of x
    int32_t* live;       // out-edges of x with a positive term
    const uint8_t* blocked;
    uint8_t* pickable;
};

State make_state(const CoverageInput& in) {
    if (in.n < 1 || in.n > INT32_MAX) bad_argument("CoverageState", "graph", "1 to 2^31 - 1 nodes", to_str(in.n));
    if (!in.indptr || !in.indices || !in.in_indptr || !in.in_sources || !in.level || !in.multiplier || !in.gain ||
        !in.live || !in.blocked || !in.pickable || (in.weights != 0) != (in.in_weights != 0))
        bad_argument("CoverageState", "state buffers", "device buffers", "a null pointer");
    return State{in.n,
                 device_ptr<const int64_t>(in.indptr),
                 device_ptr<const int32_t>(in.indices),
                 device_ptr<const double>(in.weights),
                 device_ptr<const int64_t>(in.in_indptr),
                 device_ptr<const int32_t>(in.in_sources),
                 device_ptr<const double>(in.in_weights),
                 device_ptr<double>(in.level),
                 device_ptr<double>(in.multiplier),
                 device_ptr<double>(in.gain),
                 device_ptr<int32_t>(in.live),
                 device_ptr<const uint8_t>(in.blocked),
                 device_ptr<uint8_t>(in.pickable)};
}

__device__ __forceinline__ double out_weight(const State& s, int64_t edge) { return s.weights ? s.weights[edge] : 1.0; }

__device__ __forceinline__ double readable_gain(const State& s, int64_t x) {
    return s.live[x] == 0 ? 0.0 : fmax(s.gain[x], 0.0);
}

// One warp re-prices every in-edge x->y after c(y), m(y) went from (old_level, old_mult) to
// (new_level, new_mult); the terms are the CPU's, computed with the same operations.
__device__ void reprice_in_edges(const State& s, int32_t y, double old_level, double new_level, double old_mult,
                                 double new_mult) {
    const int lane = threadIdx.x % 32;
    for (int64_t e = s.in_indptr[y] + lane; e < s.in_indptr[y + 1]; e += 32) {
        const int32_t x = s.in_sources[e];
        if (s.blocked[x]) continue;
        const double w = s.in_weights ? s.in_weights[e] : 1.0;
        const double old_term = w > old_level ? old_mult * (w - old_level) : 0.0;
        if (!(old_term > 0.0)) continue;  // a dead term stays dead: levels only rise, multipliers only fall
        const double new_term = w > new_level ? new_mult * (w - new_level) : 0.0;
        if (new_term == old_term) continue;
        if (!(new_term > 0.0)) atomicSub(&s.live[x], 1);
        atomicAdd(&s.gain[x], -(old_term - new_term));
    }
}

// c(y) <- max(c(y), w(source, y)) over the ball of `source`, by all warps of the block (a warp per target;
// repeated edges to one target are taken together, with the first of their run). Ends with a barrier.
__device__ void cover_source(const State& s, int64_t source) {
    const int warp = threadIdx.x / 32;
    const int64_t begin = s.indptr[source], end = s.indptr[source + 1];
    for (int64_t e = begin + warp; e < end; e += kWarps) {
        const int32_t y = s.indices[e];
        if (e > begin && s.indices[e - 1] == y) continue;
        double w = out_weight(s, e);
        for (int64_t f = e + 1; f < end && s.indices[f] == y; ++f) w = fmax(w, out_weight(s, f));
        const double old_level = s.level[y];
        if (!(w > old_level)) continue;
        reprice_in_edges(s, y, old_level, w, s.multiplier[y], s.multiplier[y]);
        __syncwarp();
        if (threadIdx.x % 32 == 0) s.level[y] = w;
    }
    __syncthreads();
}

// gain(x) = sum of x's out-weights, live(x) = how many are positive: c = 0 and m = 1 everywhere. The sum
// runs over the row in order, as on the CPU.
__global__ void init_kernel(const State s) {
    for (int64_t x = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; x < s.n;
         x += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        double total = 0.0;
        int32_t live = 0;
        for (int64_t e = s.indptr[x]; e < s.indptr[x + 1]; ++e) {
            const double w = out_weight(s, e);
            total += w;
            live += w > 0.0;
        }
        s.gain[x] = total;
        s.live[x] = live;
    }
}

__global__ void __launch_bounds__(kBlock) cover_kernel(const State s, const int64_t* sources, int64_t count) {
    for (int64_t i = 0; i < count; ++i) cover_source(s, sources[i]);
}

// hits[y] += 1 for every source whose ball holds y (each target once per source).
__global__ void discount_hits_kernel(const State s, const int64_t* sources, int64_t count, int32_t* hits) {
    const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32;
    const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
    const int lane = threadIdx.x % 32;
    for (int64_t i = warp; i < count; i += warps) {
        const int64_t begin = s.indptr[sources[i]], end = s.indptr[sources[i] + 1];
        for (int64_t e = begin + lane; e < end; e += 32) {
            const int32_t y = s.indices[e];
            if (e == begin || s.indices[e - 1] != y) atomicAdd(&hits[y], 1);
        }
    }
}

// m(y) *= factor once (or hits[y] times) for every hit y, re-pricing y's in-edges; a warp per node.
__global__ void discount_apply_kernel(const State s, const int32_t* hits, double factor, bool per_source) {
    const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32;
    const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
    for (int64_t y = warp; y < s.n; y += warps) {
        const int32_t times = per_source ? hits[y] : (hits[y] > 0 ? 1 : 0);
        if (times == 0) continue;
        const double old_mult = s.multiplier[y];
        double mult = old_mult;
        for (int32_t t = 0; t < times; ++t) mult *= factor;
        if (mult == old_mult) continue;
        reprice_in_edges(s, static_cast<int32_t>(y), s.level[y], s.level[y], old_mult, mult);
        __syncwarp();
        if (threadIdx.x % 32 == 0) s.multiplier[y] = mult;
    }
}

template <typename T, typename Op>
__device__ T block_reduce(T value, Op op, T* scratch) {
    for (int offset = 16; offset > 0; offset /= 2) value = op(value, __shfl_down_sync(kFullMask, value, offset));
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads();  // scratch may still be read from a previous reduction
    if (lane == 0) scratch[warp] = value;
    __syncthreads();
    if (warp == 0) {
        value = lane < kWarps ? scratch[lane] : scratch[0];
        for (int offset = 16; offset > 0; offset /= 2) value = op(value, __shfl_down_sync(kFullMask, value, offset));
        if (lane == 0) scratch[0] = value;
    }
    __syncthreads();
    return scratch[0];
}

struct MaxOp {
    __device__ double operator()(double a, double b) const { return fmax(a, b); }
};
struct MinOp {
    __device__ unsigned long long operator()(unsigned long long a, unsigned long long b) const { return a < b ? a : b; }
};

// partial_gain[b] = the largest readable gain among the pickable nodes of block b's stride (-inf if none).
__global__ void __launch_bounds__(kBlock) pick_max_kernel(const State s, double* partial_gain) {
    __shared__ double scratch[kWarps];
    double best = -DBL_MAX;
    for (int64_t x = blockIdx.x * static_cast<int64_t>(kBlock) + threadIdx.x; x < s.n;
         x += static_cast<int64_t>(gridDim.x) * kBlock)
        if (s.pickable[x]) best = fmax(best, readable_gain(s, x));
    best = block_reduce(best, MaxOp(), scratch);
    if (threadIdx.x == 0) partial_gain[blockIdx.x] = best;
}

// partial_entry[b] = the smallest tie entry (key << 32 | node) among the pickable nodes of block b's
// stride whose gain is within the tie tolerance of the overall maximum (kNoEntry if none).
__global__ void __launch_bounds__(kBlock) pick_entry_kernel(const State s, const int64_t* keys,
                                                            const double* partial_gain, int partials,
                                                            unsigned long long* partial_entry) {
    __shared__ double gain_scratch[kWarps];
    __shared__ unsigned long long entry_scratch[kWarps];
    double best = -DBL_MAX;
    for (int b = threadIdx.x; b < partials; b += kBlock) best = fmax(best, partial_gain[b]);
    best = block_reduce(best, MaxOp(), gain_scratch);
    const double floor = best - kTieTolerance * fmax(1.0, fabs(best));

    unsigned long long entry = kNoEntry;
    for (int64_t x = blockIdx.x * static_cast<int64_t>(kBlock) + threadIdx.x; x < s.n;
         x += static_cast<int64_t>(gridDim.x) * kBlock) {
        if (!s.pickable[x] || !(readable_gain(s, x) >= floor)) continue;
        const unsigned long long key = static_cast<unsigned long long>(keys ? keys[x] : x);
        const unsigned long long candidate = (key << 32) | static_cast<unsigned long long>(x);
        entry = candidate < entry ? candidate : entry;
    }
    entry = block_reduce(entry, MinOp(), entry_scratch);
    if (threadIdx.x == 0) partial_entry[blockIdx.x] = entry;
}

// One block: the winning entry over all partials becomes pick `slot`; it is recorded, made unpickable and
// its ball covered. status is set to 1 if no node could be picked (the caller checked that k fit).
__global__ void __launch_bounds__(kBlock) pick_finish_kernel(const State s, const unsigned long long* partial_entry,
                                                             int partials, int64_t slot, int64_t* picks,
                                                             double* gains, int32_t* status) {
    __shared__ unsigned long long scratch[kWarps];
    unsigned long long entry = kNoEntry;
    for (int b = threadIdx.x; b < partials; b += kBlock) entry = partial_entry[b] < entry ? partial_entry[b] : entry;
    entry = block_reduce(entry, MinOp(), scratch);
    if (entry == kNoEntry) {
        if (threadIdx.x == 0) *status = 1;
        return;
    }
    const int64_t x = static_cast<int64_t>(entry & kNodeMask);
    if (threadIdx.x == 0) {
        picks[slot] = x;
        gains[slot] = readable_gain(s, x);
        s.pickable[x] = 0;
    }
    __syncthreads();  // the gain is read before the cover below changes it
    cover_source(s, x);
}

}  // namespace

void coverage_init(const CoverageInput& in, uintptr_t stream) {
    use_device(in.device);
    const State s = make_state(in);
    init_kernel<<<grid_for(s.n, kBlock), kBlock, 0, as_stream(stream)>>>(s);
    check_launch("CoverageState init");
}

void coverage_cover(const CoverageInput& in, uintptr_t sources, int64_t count, uintptr_t stream) {
    use_device(in.device);
    const State s = make_state(in);
    if (count < 0 || (count > 0 && sources == 0))
        bad_argument("CoverageState.cover", "sources", "a device buffer", "none");
    if (count == 0) return;
    cover_kernel<<<1, kBlock, 0, as_stream(stream)>>>(s, device_ptr<const int64_t>(sources), count);
    check_launch("CoverageState.cover");
}

void coverage_discount(const CoverageInput& in, uintptr_t sources, int64_t count, double factor, bool per_source,
                       uintptr_t hits, uintptr_t stream) {
    const char* fn = "CoverageState.discount";
    use_device(in.device);
    const State s = make_state(in);
    if (!(factor >= 0.0 && factor <= 1.0)) bad_argument(fn, "factor", "a float in [0, 1]", to_str(factor));
    if (count < 0 || (count > 0 && (sources == 0 || hits == 0))) bad_argument(fn, "sources", "a device buffer", "none");
    if (count == 0 || factor == 1.0) return;
    int32_t* hit_counts = device_ptr<int32_t>(hits);
    NAS_CUDA_CHECK(cudaMemsetAsync(hit_counts, 0, sizeof(int32_t) * s.n, as_stream(stream)));
    discount_hits_kernel<<<grid_for(count * 32, kBlock), kBlock, 0, as_stream(stream)>>>(
        s, device_ptr<const int64_t>(sources), count, hit_counts);
    check_launch("CoverageState.discount (hits)");
    discount_apply_kernel<<<grid_for(s.n * 32, kBlock), kBlock, 0, as_stream(stream)>>>(s, hit_counts, factor,
                                                                                           per_source);
    check_launch("CoverageState.discount (apply)");
}

int coverage_pick_partials(int device) {
    use_device(device);
    const int blocks = 4 * multiprocessors(device);
    return blocks < kMaxPickPartials ? blocks : kMaxPickPartials;
}

void coverage_pick(const CoverageInput& in, int64_t k, uintptr_t keys, uintptr_t picks, uintptr_t gains,
                   uintptr_t partial_gain, uintptr_t partial_entry, int partials, uintptr_t status, uintptr_t stream) {
    const char* fn = "CoverageState.pick";
    use_device(in.device);
    const State s = make_state(in);
    if (k < 0) bad_argument(fn, "k", "an int >= 0", to_str(k));
    if (partials < 1 || partials > kMaxPickPartials)
        bad_argument(fn, "partials", "an int in [1, " + to_str(kMaxPickPartials) + "]", to_str(partials));
    if (k > 0 && (!picks || !gains || !partial_gain || !partial_entry || !status))
        bad_argument(fn, "pick buffers", "device buffers", "a null pointer");
    const cudaStream_t st = as_stream(stream);
    const int64_t* key_ptr = device_ptr<const int64_t>(keys);
    for (int64_t slot = 0; slot < k; ++slot) {
        pick_max_kernel<<<partials, kBlock, 0, st>>>(s, device_ptr<double>(partial_gain));
        check_launch("CoverageState.pick (max)");
        pick_entry_kernel<<<partials, kBlock, 0, st>>>(s, key_ptr, device_ptr<const double>(partial_gain), partials,
                                                       device_ptr<unsigned long long>(partial_entry));
        check_launch("CoverageState.pick (ties)");
        pick_finish_kernel<<<1, kBlock, 0, st>>>(s, device_ptr<const unsigned long long>(partial_entry), partials, slot,
                                                 device_ptr<int64_t>(picks), device_ptr<double>(gains),
                                                 device_ptr<int32_t>(status));
        check_launch("CoverageState.pick (cover)");
    }
}

}  // namespace cuda
}  // namespace nas
