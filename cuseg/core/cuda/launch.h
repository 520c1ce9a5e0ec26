// Every kernel launch in cuseg goes through launch(): the one place where a launch is checked
// (CUDA's error, named after the kernel) and, in the emulated build, where CUDA's launch limits
// are enforced and launches are counted per stream. No `<<<>>>` anywhere else.
//
//   CUSEG_LAUNCH(my_kernel<T>, grid, block, shared_bytes, stream, arg0, arg1, ...);
//
// A kernel name with a comma in its template arguments goes in parentheses:
// CUSEG_LAUNCH((k<A, B>), ...).
#pragma once

#include <utility>

#include "cuseg/config.h"
#include "cuseg/core/cuda/runtime.h"

#if CUSEG_CUDA_EMULATED
#include "cuseg/emu/launch.h"
#endif

namespace cuseg::cuda {

// Where the launch is written, for the error message.
struct LaunchSite {
  const char* kernel;
  const char* file;
  int line;
};

template <class... Params, class... Args>
void launch(LaunchSite site, void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
            cudaStream_t s, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "launch: wrong number of kernel arguments");
#if CUSEG_CUDA_EMULATED
  emu::launch(site.kernel, kernel, grid, block, shared_bytes, s, Params(std::forward<Args>(args))...);
#else
  kernel<<<grid, block, shared_bytes, s>>>(Params(std::forward<Args>(args))...);
#endif
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) throw_cuda_error(err, site.kernel, site.file, site.line);
}

}  // namespace cuseg::cuda

#define CUSEG_LAUNCH(kernel, grid, block, shared_bytes, stream, ...) \
  ::cuseg::cuda::launch({#kernel, __FILE__, __LINE__}, kernel, grid, block, shared_bytes, stream, __VA_ARGS__)
