// k-center greedy (Coreset) on the GPU: the picks of csrc/cpu/kcenter.cpp.
//
// Every open point keeps the squared distance to its nearest centre; each pick is the open point
// farthest from its centre (ties to the lowest index), after which every open point's distance is
// updated with the new centre. Per pick: one launch updates the distances and reduces (distance, index)
// per block, one single-block launch takes the overall farthest point, records it as pick i + 1 and
// closes it. No host round trip between picks.
// Squared distances are summed as the CPU does (16 running lane sums over the features, the tail, then
// the lanes in order, each product and sum rounded on its own), so both devices compute the same
// float32 values and make the same picks, ties included.
#include <math_constants.h>

#include <cstdint>

#include "common.h"
#include "cuda/cuda_common.cuh"
#include "cuda/ops.h"

namespace nas {
namespace cuda {

namespace {

constexpr int kBlock = 256;
constexpr int kWarps = kBlock / 32;
constexpr int kLanes = 16;  // the CPU's lane sums; one half-warp per row

struct Farthest {
    float distance;
    int64_t index;
};

__device__ __forceinline__ Farthest farther(Farthest a, Farthest b) {
    return (b.distance > a.distance || (b.distance == a.distance && b.index < a.index)) ? b : a;
}

constexpr Farthest kNobody{-1.0f, INT64_MAX};

// Squared distance between rows a and b, evaluated by the 16 lanes of a half-warp; valid in lane 0 of it.
// Every lane of the warp must call it (the shuffles span the warp).
__device__ float half_warp_squared_distance(const float* __restrict__ a, const float* __restrict__ b, int64_t d,
                                            bool valid) {
    const int lane = threadIdx.x % kLanes;
    const int64_t full = d / kLanes * kLanes;
    float part = 0.0f;
    if (valid)
        for (int64_t j = lane; j < full; j += kLanes) {
            const float t = a[j] - b[j];
            part = add_rn(part, mul_rn(t, t));
        }
    float total = 0.0f;
    if (valid && lane == 0)
        for (int64_t j = full; j < d; ++j) {
            const float t = a[j] - b[j];
            total = add_rn(total, mul_rn(t, t));
        }
#pragma unroll
    for (int l = 0; l < kLanes; ++l) total = add_rn(total, __shfl_sync(kFullMask, part, l, kLanes));
    return total;
}

__device__ Farthest block_farthest(Farthest value, Farthest* scratch) {
    for (int offset = 16; offset > 0; offset /= 2) {
        const Farthest other{__shfl_down_sync(kFullMask, value.distance, offset),
                             __shfl_down_sync(kFullMask, value.index, offset)};
        value = farther(value, other);
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) scratch[warp] = value;
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < kWarps; ++w) value = farther(value, scratch[w]);
        scratch[0] = value;
    }
    __syncthreads();
    return scratch[0];
}

struct Args {
    const float* X;  // n x d
    int64_t n, d;
    uint8_t* taken;     // centres and picks
    float* nearest_sq;  // squared distance of each open point to its nearest centre
    int64_t* picks;
    float* partial_distance;
    int64_t* partial_index;
};

// nearest_sq[x] = |x - X[centres[assign[x]]]|^2 for every open x (+inf without centres).
__global__ void __launch_bounds__(kBlock) init_kernel(const Args a, const int64_t* centres, int64_t n_centres,
                                                      const int32_t* assign) {
    const int64_t half = (blockIdx.x * static_cast<int64_t>(kBlock) + threadIdx.x) / kLanes;
    const int64_t halves = static_cast<int64_t>(gridDim.x) * kBlock / kLanes;
    const int64_t rounds = (a.n + halves - 1) / halves;  // the same for every lane of a warp
    for (int64_t round = 0; round < rounds; ++round) {
        const int64_t x = round * halves + half;
        const bool open = x < a.n && !a.taken[x];
        const float* centre = open && n_centres > 0 ? a.X + centres[assign[x]] * a.d : a.X;
        const float sq = half_warp_squared_distance(a.X + (open ? x : 0) * a.d, centre, a.d, open && n_centres > 0);
        if (open && threadIdx.x % kLanes == 0) a.nearest_sq[x] = n_centres > 0 ? sq : CUDART_INF_F;
    }
}

// With `pick_slot` >= 0: nearest_sq[x] = min(nearest_sq[x], |x - X[picks[pick_slot]]|^2) for open x.
// Then the farthest open point of each block's share goes to partial_*[block].
__global__ void __launch_bounds__(kBlock) update_kernel(const Args a, int64_t pick_slot) {
    __shared__ Farthest scratch[kWarps];
    const float* centre = pick_slot >= 0 ? a.X + a.picks[pick_slot] * a.d : a.X;
    const int64_t half = (blockIdx.x * static_cast<int64_t>(kBlock) + threadIdx.x) / kLanes;
    const int64_t halves = static_cast<int64_t>(gridDim.x) * kBlock / kLanes;
    const int64_t rounds = (a.n + halves - 1) / halves;
    Farthest best = kNobody;
    for (int64_t round = 0; round < rounds; ++round) {
        const int64_t x = round * halves + half;
        const bool open = x < a.n && !a.taken[x];
        float current = open ? a.nearest_sq[x] : 0.0f;
        // A point at distance 0 cannot get closer; the CPU skips it too.
        const bool update = open && pick_slot >= 0 && current != 0.0f;
        const float candidate = half_warp_squared_distance(a.X + (open ? x : 0) * a.d, centre, a.d, update);
        if (open && threadIdx.x % kLanes == 0) {
            if (update && candidate < current) {
                current = candidate;
                a.nearest_sq[x] = candidate;
            }
            best = farther(best, Farthest{current, x});
        }
    }
    best = block_farthest(best, scratch);
    if (threadIdx.x == 0) {
        a.partial_distance[blockIdx.x] = best.distance;
        a.partial_index[blockIdx.x] = best.index;
    }
}

// picks[slot] = the farthest point over all partials; it becomes a centre.
__global__ void __launch_bounds__(kBlock) finish_kernel(const Args a, int partials, int64_t slot, int32_t* status) {
    __shared__ Farthest scratch[kWarps];
    Farthest best = kNobody;
    for (int b = threadIdx.x; b < partials; b += kBlock)
        best = farther(best, Farthest{a.partial_distance[b], a.partial_index[b]});
    best = block_farthest(best, scratch);
    if (threadIdx.x != 0) return;
    if (best.index == INT64_MAX) {
        *status = 1;
        return;
    }
    a.picks[slot] = best.index;
    a.taken[best.index] = 1;
}

}  // namespace

void kcenter_greedy(const KcenterInput& in, int64_t budget, bool has_first_pick, uintptr_t picks,
                    uintptr_t partial_distance, uintptr_t partial_index, int partials, uintptr_t status,
                    uintptr_t stream) {
    const char* fn = "kcenter_greedy";
    use_device(in.device);
    if (in.n < 1 || in.d < 1) bad_argument(fn, "X", "a non-empty 2-D array", to_str(in.n) + " x " + to_str(in.d));
    if (!in.X || !in.taken || !in.nearest_sq || (in.n_centres > 0 && (!in.centres || !in.assign)))
        bad_argument(fn, "buffers", "device buffers", "a null pointer");
    if (budget < 0) bad_argument(fn, "budget", "an int >= 0", to_str(budget));
    if (partials < 1 || partials > kMaxPickPartials)
        bad_argument(fn, "partials", "an int in [1, " + to_str(kMaxPickPartials) + "]", to_str(partials));
    if (budget > 0 && (!picks || !partial_distance || !partial_index || !status))
        bad_argument(fn, "pick buffers", "device buffers", "a null pointer");
    const cudaStream_t st = as_stream(stream);
    const Args a{device_ptr<const float>(in.X), in.n, in.d, device_ptr<uint8_t>(in.taken),
                 device_ptr<float>(in.nearest_sq), device_ptr<int64_t>(picks), device_ptr<float>(partial_distance),
                 device_ptr<int64_t>(partial_index)};
    int32_t* status_ptr = device_ptr<int32_t>(status);

    init_kernel<<<partials, kBlock, 0, st>>>(a, device_ptr<const int64_t>(in.centres), in.n_centres,
                                             device_ptr<const int32_t>(in.assign));
    check_launch("kcenter_greedy (init)");
    if (budget == 0) return;
    if (!has_first_pick) {  // else the caller wrote picks[0] and marked it taken
        update_kernel<<<partials, kBlock, 0, st>>>(a, -1);
        check_launch("kcenter_greedy (farthest)");
        finish_kernel<<<1, kBlock, 0, st>>>(a, partials, 0, status_ptr);
        check_launch("kcenter_greedy (pick)");
    }
    for (int64_t slot = 1; slot < budget; ++slot) {
        update_kernel<<<partials, kBlock, 0, st>>>(a, slot - 1);
        check_launch("kcenter_greedy (update)");
        finish_kernel<<<1, kBlock, 0, st>>>(a, partials, slot, status_ptr);
        check_launch("kcenter_greedy (pick)");
    }
}

}  // namespace cuda
}  // namespace nas
