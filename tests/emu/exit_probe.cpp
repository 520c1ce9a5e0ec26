// A process that ends with a kernel still running on the emulated device, as a CUDA program may:
// the stream's worker thread keeps running the grid while main's statics are destroyed, and must
// not touch any of them (under ASan a use after free, which used to deadlock with the leak
// check at exit). ctest: emulator_exit_with_a_kernel_in_flight, which must exit 0, quickly.
#include <cstdio>

#include "cuseg/core/cuda/launch.h"
#include "cuseg/core/device.h"

namespace {

// Every thread waits at a barrier many times: the emulator runs such blocks on fibers.
__global__ void barriers_kernel(int* out) {
  for (int i = 0; i < 16; ++i) __syncthreads();
  if (threadIdx.x == 0) out[blockIdx.x] = 1;
}

}  // namespace

int main() {
  using namespace cuseg::cuda;
  if (!cuseg::cuda_available()) {
    std::printf("SKIPPED: no (emulated) GPU: %s\n", cuseg::cuda_status().c_str());
    return 0;
  }
  int* out = nullptr;
  CUSEG_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&out), 64 * sizeof(int)));
  CUSEG_LAUNCH(barriers_kernel, dim3(64), dim3(256), 0, stream(0), out);
  std::printf("launched; exiting with the kernel in flight\n");
  return 0;
}
