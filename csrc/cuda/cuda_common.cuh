// Shared helpers of the CUDA kernels: error checks that raise (never abort), pointer/stream casts,
// launch sizes, and the float rounding helpers that make device arithmetic match the CPU kernels.
//
// Memory is never allocated here: every buffer comes from torch's allocator through nas_ext (a device
// pointer passed as an integer), and every kernel runs on the stream handed over by the caller.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace nas {
namespace cuda {

// Throws std::runtime_error (a Python RuntimeError) naming the failed call.
inline void check(cudaError_t status, const char* what) {
    if (status != cudaSuccess) {
        cudaGetLastError();  // clear a non-sticky error so the next call starts clean
        throw std::runtime_error(std::string("nas_ext CUDA error in ") + what + ": " + cudaGetErrorName(status) +
                                 " (" + cudaGetErrorString(status) + ")");
    }
}

#define NAS_CUDA_CHECK(call) ::nas::cuda::check((call), #call)

// Checks the launch of the kernel just issued (bad configuration, missing image for this GPU, ...).
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

template <typename T>
inline T* device_ptr(uintptr_t address) {
    return reinterpret_cast<T*>(address);
}

inline cudaStream_t as_stream(uintptr_t handle) { return reinterpret_cast<cudaStream_t>(handle); }

// torch keeps its current device in its own CUDA runtime; this module links its own, so every entry
// point selects the device of its tensors explicitly.
inline void use_device(int device) { NAS_CUDA_CHECK(cudaSetDevice(device)); }

inline int multiprocessors(int device) {
    int count = 0;
    NAS_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
    return count;
}

// Blocks for a grid-stride loop over `items` with `threads` threads per block, at most `cap` blocks.
inline unsigned grid_for(int64_t items, int threads, int64_t cap = 65535) {
    int64_t blocks = (items + threads - 1) / threads;
    if (blocks < 1) blocks = 1;
    if (blocks > cap) blocks = cap;
    return static_cast<unsigned>(blocks);
}

constexpr unsigned kFullMask = 0xffffffffu;

// Sums of products with one rounding per operation, in a given order: nvcc would otherwise fuse a * b + c
// into one FMA, while the CPU kernels (compiled for baseline x86-64) round the product and the sum apart.
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }

}  // namespace cuda
}  // namespace nas
