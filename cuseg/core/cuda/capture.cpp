#include "cuseg/config.h"
#if CUSEG_HAS_CUDA
#include "cuseg/core/cuda/capture.h"

#include <vector>

namespace cuseg::cuda {

cudaGraph_t capture_graph(int device, const std::function<void()>& work) {
  cudaStream_t s = stream(device);
  CUSEG_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  try {
    work();
  } catch (...) {
    cudaGraph_t abandoned = nullptr;
    cudaStreamEndCapture(s, &abandoned);
    if (abandoned) cudaGraphDestroy(abandoned);
    cudaGetLastError();
    throw;
  }
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(s, &graph);
  if (ended != cudaSuccess) {
    cudaGetLastError();
    throw_error(str_cat("the work cannot be captured into a CUDA graph: ", cudaGetErrorString(ended),
                        " (a call in it waits for the device, reads to the host or allocates outside cuseg's "
                        "allocator)"));
  }
  return graph;
}

int64_t kernel_nodes(cudaGraph_t graph) {
  size_t count = 0;
  CUSEG_CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &count));
  std::vector<cudaGraphNode_t> nodes(count);
  CUSEG_CUDA_CHECK(cudaGraphGetNodes(graph, nodes.data(), &count));
  int64_t kernels = 0;
  for (cudaGraphNode_t node : nodes) {
    cudaGraphNodeType type;
    CUSEG_CUDA_CHECK(cudaGraphNodeGetType(node, &type));
    kernels += type == cudaGraphNodeTypeKernel;
  }
  return kernels;
}

}  // namespace cuseg::cuda
#endif
