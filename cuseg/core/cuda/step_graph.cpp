#include "cuseg/core/cuda/step_graph.h"

#include "cuseg/config.h"
#include "cuseg/core/error.h"
#if CUSEG_HAS_CUDA
#include "cuseg/core/cuda/capture.h"
#include "cuseg/core/cuda/runtime.h"
#include "cuseg/core/cuda/step_memory.h"
#endif

namespace cuseg::cuda {

#if CUSEG_HAS_CUDA

struct StepGraph::Impl {
  Device device;
  StepMemory memory;
  int64_t runs = 0, kernels = 0;
  cudaGraphExec_t exec = nullptr;

  explicit Impl(Device d) : device(d), memory(d.index) {}
  ~Impl() {
    if (exec) cudaGraphExecDestroy(exec);
  }

  void capture(const std::function<void()>& enqueue) {
    cudaGraph_t graph = nullptr;
    {
      StepMemory::Serving serving(memory);
      graph = capture_graph(device.index, enqueue);
      serving.finish();
    }
    kernels = kernel_nodes(graph);
    const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    CUSEG_CUDA_CHECK(made);
  }
};

StepGraph::StepGraph(Device device) : impl_(std::make_unique<Impl>(device)) {
  CUSEG_CHECK(device.is_cuda(), "StepGraph: ", device.str(), " is not a CUDA device");
}

void StepGraph::run(const std::function<void()>& enqueue) {
  Impl& g = *impl_;
  set_device(g.device.index);
  if (g.runs == 0) {
    enqueue();
  } else if (g.runs == 1) {
    StepMemory::Recording recording(g.memory);
    enqueue();
  } else if (!g.exec) {
    g.capture(enqueue);
  }
  if (g.exec) CUSEG_CUDA_CHECK(cudaGraphLaunch(g.exec, stream(g.device.index)));
  ++g.runs;
}

size_t StepGraph::planned_bytes() const { return impl_->memory.planned_bytes(); }

#else

struct StepGraph::Impl {
  int64_t kernels = 0;
};

StepGraph::StepGraph(Device device) {
  throw_error(str_cat("StepGraph: ", device.str(), " requested but ", cuda_status()));
}

void StepGraph::run(const std::function<void()>&) {}
size_t StepGraph::planned_bytes() const { return 0; }

#endif

StepGraph::~StepGraph() = default;
bool StepGraph::replaying() const { return impl_->kernels > 0; }
int64_t StepGraph::graph_kernels() const { return impl_->kernels; }

}  // namespace cuseg::cuda
