// Runtime facts about the CUDA devices this build can see (no device work).
#include <cuda_runtime.h>

namespace nas {

int cuda_device_count() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError();  // clear the sticky "no driver" error so later calls start clean
        return 0;
    }
    return count;
}

}  // namespace nas
