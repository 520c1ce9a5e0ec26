// Internal: stream capture as cuseg uses it (launch_count.cpp, step_graph.cpp). capture_graph runs
// `work` with the device's stream captured (this thread's calls only) and returns the graph; when
// `work` throws, or a call in it was refused (a wait, a read to the host, an allocation), the
// capture is abandoned, the stream left usable, and the error thrown.
#pragma once

#include <cstdint>
#include <functional>

#include "cuseg/core/cuda/runtime.h"

namespace cuseg::cuda {

cudaGraph_t capture_graph(int device, const std::function<void()>& work);
int64_t kernel_nodes(cudaGraph_t graph);

}  // namespace cuseg::cuda
