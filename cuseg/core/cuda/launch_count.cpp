#include "cuseg/core/cuda/launch_count.h"

#include "cuseg/config.h"
#include "cuseg/core/error.h"
#if CUSEG_HAS_CUDA
#include "cuseg/core/cuda/capture.h"
#include "cuseg/core/cuda/runtime.h"
#endif

namespace cuseg::cuda {

int64_t count_kernel_launches(Device device, const std::function<void()>& work) {
  CUSEG_CHECK(device.is_cuda(), "count_kernel_launches: ", device.str(), " is not a CUDA device");
#if !CUSEG_HAS_CUDA
  (void)work;
  throw_error(str_cat("count_kernel_launches: ", device.str(), " requested but ", cuda_status()));
#else
  cudaStream_t s = stream(device.index);
#endif
#if CUSEG_HAS_CUDA  // a GPU or the emulated one, whose capture refuses what a GPU's would
  CUSEG_CUDA_CHECK(cudaStreamSynchronize(s));
  cudaGraph_t graph = capture_graph(device.index, work);
  const int64_t kernels = kernel_nodes(graph);
  cudaGraphExec_t exec = nullptr;
  CUSEG_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  CUSEG_CUDA_CHECK(cudaGraphLaunch(exec, s));
  CUSEG_CUDA_CHECK(cudaStreamSynchronize(s));
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  return kernels;
#endif
}

}  // namespace cuseg::cuda
