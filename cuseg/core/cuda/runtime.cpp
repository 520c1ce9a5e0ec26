#include "cuseg/core/cuda/runtime.h"

#include <array>
#include <mutex>

#include "cuseg/core/device.h"

namespace cuseg::cuda {

void throw_cuda_error(cudaError_t err, const char* what, const char* file, int line) {
  throw Error(str_cat(file, ":", line, ": CUDA error ", cudaGetErrorName(err), " (",
                      cudaGetErrorString(err), ") in ", what));
}

void set_device(int device) {
  CUSEG_CHECK(device >= 0 && device < cuda_device_count(), "cuda:", device, " is not available (",
              cuda_status(), ")");
  CUSEG_CUDA_CHECK(cudaSetDevice(device));
}

cudaStream_t stream(int device) {
  constexpr int kMaxDevices = 64;
  static std::array<cudaStream_t, kMaxDevices> streams{};
  static std::array<std::once_flag, kMaxDevices> once;
  CUSEG_CHECK(device >= 0 && device < kMaxDevices, "cuda:", device, " is out of range");
  set_device(device);
  // Streams are never destroyed: memory may still be freed on them during static destruction.
  std::call_once(once[device], [&] {
    CUSEG_CUDA_CHECK(cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking));
  });
  return streams[device];
}

}  // namespace cuseg::cuda
