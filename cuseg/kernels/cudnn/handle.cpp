#include "cuseg/kernels/cudnn/handle.h"

#include <array>
#include <mutex>

#include "cuseg/core/cuda/runtime.h"

namespace cuseg::cudnn {

void throw_cudnn_error(cudnnStatus_t status, const char* what, const char* file, int line) {
  throw Error(
      str_cat(file, ":", line, ": cuDNN error ", cudnnGetErrorString(status), " in ", what));
}

cudnnHandle_t handle(int device) {
  constexpr int kMaxDevices = 64;
  static std::array<cudnnHandle_t, kMaxDevices> handles{};
  static std::array<std::once_flag, kMaxDevices> once;
  cudaStream_t s = cuda::stream(device);  // also checks the index and makes the device current
  std::call_once(once[device], [&] {
    CUSEG_CUDNN_CHECK(cudnnCreate(&handles[device]));
    CUSEG_CUDNN_CHECK(cudnnSetStream(handles[device], s));
  });
  return handles[device];
}

}  // namespace cuseg::cudnn
