// Sparse Laplacian diffusion on the GPU: the explicit Euler steps of csrc/cpu/diffusion.cpp,
// v <- (1 - step) v + (step / D_i) sum_j A_ij v_j, with the fixed entries reset after every step.
//
// One launch per step on the caller's stream (no host round trip between steps). For one signal (m == 1)
// four lanes share a row and keep the CPU's four partial sums (edge p of a full group of four goes to
// sum p % 4, the remainder to sum 0, combined as (s0 + s1) + (s2 + s3)); for m > 1 one thread per entry
// sums the row in order, as the CPU does. Products and sums are rounded separately (no FMA), so with the
// CPU built for baseline x86-64 both devices produce the same numbers.
#include "common.h"
#include "cuda/cuda_common.cuh"
#include "cuda/ops.h"

namespace nas {
namespace cuda {

namespace {

constexpr int kBlock = 256;
constexpr int kLanesPerRow = 4;
constexpr int kRowsPerWarp = 32 / kLanesPerRow;

// coef[i] = step / (sum of row i's weights), 0 for a row whose weights sum to 0 (it keeps its value).
template <typename T>
__global__ void coefficients_kernel(const int64_t* __restrict__ indptr, const float* __restrict__ weights, int64_t n,
                                    double step, T* __restrict__ coef) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        double sum = 0.0;
        for (int64_t p = indptr[i]; p < indptr[i + 1]; ++p) sum += static_cast<double>(weights[p]);
        coef[i] = sum > 0.0 ? static_cast<T>(step / sum) : T(0);
    }
}

template <typename T>
struct StepArgs {
    const int64_t* indptr;
    const int32_t* indices;
    const float* weights;
    const T* coef;
    const uint8_t* fixed;  // null when nothing is fixed
    T fixed_value;
    T keep;  // 1 - step
    int64_t n, m;
};

template <typename T>
__global__ void __launch_bounds__(kBlock) step_single_kernel(const StepArgs<T> a, const T* __restrict__ cur,
                                                             T* __restrict__ nxt) {
    const int lane = threadIdx.x % 32;
    const int part = lane % kLanesPerRow;
    const int group_lane = lane - part;  // lane holding sum 0 of this row
    const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32;
    const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
    for (int64_t first = warp * kRowsPerWarp; first < a.n; first += warps * kRowsPerWarp) {
        const int64_t i = first + lane / kLanesPerRow;
        const bool valid = i < a.n;
        T sum = T(0);
        int64_t b = 0, e = 0;
        if (valid) {
            b = a.indptr[i];
            e = a.indptr[i + 1];
            const int64_t full_end = b + (e - b) / kLanesPerRow * kLanesPerRow;
            for (int64_t p = b + part; p < full_end; p += kLanesPerRow)
                sum = add_rn(sum, mul_rn(static_cast<T>(a.weights[p]), cur[a.indices[p]]));
            if (part == 0)
                for (int64_t p = full_end; p < e; ++p)
                    sum = add_rn(sum, mul_rn(static_cast<T>(a.weights[p]), cur[a.indices[p]]));
        }
        const T s1 = __shfl_sync(kFullMask, sum, group_lane + 1);
        const T s2 = __shfl_sync(kFullMask, sum, group_lane + 2);
        const T s3 = __shfl_sync(kFullMask, sum, group_lane + 3);
        if (!valid || part != 0) continue;
        const T c = a.coef[i];
        const T row_sum = add_rn(add_rn(sum, s1), add_rn(s2, s3));
        T value = c == T(0) ? cur[i] : add_rn(mul_rn(a.keep, cur[i]), mul_rn(c, row_sum));
        if (a.fixed && a.fixed[i]) value = a.fixed_value;
        nxt[i] = value;
    }
}

template <typename T>
__global__ void __launch_bounds__(kBlock) step_multi_kernel(const StepArgs<T> a, const T* __restrict__ cur,
                                                            T* __restrict__ nxt) {
    const int64_t total = a.n * a.m;
    for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t i = t / a.m, q = t % a.m;
        const T c = a.coef[i];
        T value;
        if (c == T(0)) {
            value = cur[t];
        } else {
            T acc = T(0);
            for (int64_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p)
                acc = add_rn(acc, mul_rn(static_cast<T>(a.weights[p]),
                                         cur[static_cast<int64_t>(a.indices[p]) * a.m + q]));
            value = add_rn(mul_rn(a.keep, cur[t]), mul_rn(c, acc));
        }
        if (a.fixed && a.fixed[i]) value = a.fixed_value;
        nxt[t] = value;
    }
}

template <typename T>
void run(const DiffusionInput& in, uintptr_t stream) {
    const cudaStream_t st = as_stream(stream);
    T* coef = device_ptr<T>(in.coef);
    coefficients_kernel<T><<<grid_for(in.n, kBlock), kBlock, 0, st>>>(device_ptr<const int64_t>(in.indptr),
                                                                       device_ptr<const float>(in.weights), in.n,
                                                                       in.step, coef);
    check_launch("diffuse (row coefficients)");
    StepArgs<T> a{device_ptr<const int64_t>(in.indptr), device_ptr<const int32_t>(in.indices),
                  device_ptr<const float>(in.weights), coef, device_ptr<const uint8_t>(in.fixed),
                  static_cast<T>(in.fixed_value), static_cast<T>(1.0 - in.step), in.n, in.m};
    T* buffers[2] = {device_ptr<T>(in.first), device_ptr<T>(in.second)};
    for (int64_t s = 0; s < in.n_steps; ++s) {
        const T* cur = buffers[s % 2];
        T* nxt = buffers[(s + 1) % 2];
        if (in.m == 1) {
            step_single_kernel<T><<<grid_for(in.n * kLanesPerRow, kBlock), kBlock, 0, st>>>(a, cur, nxt);
        } else {
            step_multi_kernel<T><<<grid_for(in.n * in.m, kBlock), kBlock, 0, st>>>(a, cur, nxt);
        }
        check_launch("diffuse (step)");
    }
}

}  // namespace

void diffuse(const DiffusionInput& in, uintptr_t stream) {
    const char* fn = "diffuse";
    use_device(in.device);
    if (in.n < 1 || in.m < 1) bad_argument(fn, "values", "a non-empty array", to_str(in.n) + " x " + to_str(in.m));
    if (!(in.step > 0.0)) bad_argument(fn, "step", "a float in (0, inf)", to_str(in.step));
    if (in.n_steps < 0) bad_argument(fn, "n_steps", "an int in [0, inf]", to_str(in.n_steps));
    if (!in.indptr || !in.indices || !in.weights || !in.coef || !in.first || !in.second)
        bad_argument(fn, "buffers", "device buffers", "a null pointer");
    if (in.is_double) {
        run<double>(in, stream);
    } else {
        run<float>(in, stream);
    }
}

}  // namespace cuda
}  // namespace nas
