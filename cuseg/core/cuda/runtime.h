// Internal: the CUDA runtime as cuseg uses it. Every call goes through CUSEG_CUDA_CHECK and every
// launch through CUSEG_LAUNCH (launch.h), so errors carry file, line and CUDA's message.
#pragma once

#include <cuda_runtime.h>

#include "cuseg/core/error.h"

namespace cuseg::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t err, const char* what, const char* file, int line);

// The stream all of cuseg's work on `device` is queued on (created once, non-blocking). Creating
// it also sets the device's default memory pool to keep freed memory (release threshold
// UINT64_MAX) instead of handing it back to the driver at every synchronization.
cudaStream_t stream(int device);

// The stream of `device` if stream(device) has created it, else nullptr. Never throws and never
// calls CUDA: for paths that must not fail, such as freeing memory during unwinding.
cudaStream_t existing_stream(int device) noexcept;

// Makes `device` current for the calling thread.
void set_device(int device);

inline unsigned grid_1d(int64_t n, int threads) {
  int64_t blocks = (n + threads - 1) / threads;
  return unsigned(blocks < 1 ? 1 : blocks);
}

}  // namespace cuseg::cuda

#define CUSEG_CUDA_CHECK(expr)                                                \
  do {                                                                        \
    cudaError_t cuseg_err_ = (expr);                                          \
    if (cuseg_err_ != cudaSuccess)                                            \
      ::cuseg::cuda::throw_cuda_error(cuseg_err_, #expr, __FILE__, __LINE__); \
  } while (0)
