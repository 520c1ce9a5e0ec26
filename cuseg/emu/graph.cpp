// Stream capture and CUDA graphs on the emulated device. Capturing a stream makes its queue record
// what it is given (runtime.cpp's enqueue: kernels, copies, memsets, host functions) in order,
// instead of running it; the graph holds that list, and a launch of its instantiation queues one
// operation that replays the list on the stream, counted as one launch. As in CUDA:
//   - only a stream made by cudaStreamCreate can be captured, by one thread, once at a time;
//   - that thread's calls that would wait for or allocate on the device are refused
//     (cudaErrorStreamCaptureUnsupported) and invalidate the capture, so its end returns
//     cudaErrorStreamCaptureInvalidated and no graph;
//   - the end must come from the thread that began it.
// Not emulated: events and waits inside a capture (refused), memory nodes (allocation in a
// capture is refused), several streams joining one capture, graph updates.
#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cuseg/emu/emulator.h"

struct CUgraphNode_st {
  cudaGraphNodeType kind;
};

struct CUgraph_st {
  std::vector<cuseg::emu::CapturedOp> ops;
  std::vector<std::unique_ptr<CUgraphNode_st>> nodes;  // one per op, for cudaGraphGetNodes
};

struct CUgraphExec_st {
  std::shared_ptr<const std::vector<cuseg::emu::CapturedOp>> ops;
};

namespace cuseg::emu {
namespace {

struct Capture {
  CUstream_st* stream;
  std::thread::id thread;
  std::vector<CapturedOp> ops;
};

std::mutex captures_m;
std::vector<std::unique_ptr<Capture>>& captures() {
  static auto* c = new std::vector<std::unique_ptr<Capture>>;
  return *c;
}

}  // namespace
}  // namespace cuseg::emu

using namespace cuseg::emu;

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  if (!stream) return report(cudaErrorStreamCaptureUnsupported, "cudaStreamBeginCapture: the legacy stream cannot be captured");
  if (capturing) return report(cudaErrorIllegalState, "cudaStreamBeginCapture: this thread already captures a stream");
  CUstream_st* st = stream_of(stream);
  auto capture = std::make_unique<Capture>(Capture{st, std::this_thread::get_id(), {}});
  {
    std::lock_guard lock(st->m);
    if (st->capture) return report(cudaErrorIllegalState, "cudaStreamBeginCapture: the stream is already captured");
    st->capture = &capture->ops;
    st->capture_invalidated = false;
  }
  capturing = st;
  std::lock_guard lock(captures_m);
  captures().push_back(std::move(capture));
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (!stream || !graph) return report(cudaErrorInvalidValue, "cudaStreamEndCapture: no stream or no graph");
  *graph = nullptr;
  CUstream_st* st = stream_of(stream);
  std::unique_ptr<Capture> capture;
  {
    std::lock_guard lock(captures_m);
    auto& all = captures();
    for (auto it = all.begin(); it != all.end(); ++it)
      if ((*it)->stream == st) {
        if ((*it)->thread != std::this_thread::get_id())
          return report(cudaErrorStreamCaptureWrongThread, "cudaStreamEndCapture: the capture began on another thread");
        capture = std::move(*it);
        all.erase(it);
        break;
      }
  }
  if (!capture) return report(cudaErrorIllegalState, "cudaStreamEndCapture: the stream is not being captured");
  bool invalidated;
  {
    std::lock_guard lock(st->m);
    st->capture = nullptr;
    invalidated = st->capture_invalidated;
  }
  capturing = nullptr;
  if (invalidated)
    return report(cudaErrorStreamCaptureInvalidated, "cudaStreamEndCapture: a call during the capture was refused");
  auto* g = new CUgraph_st;
  g->ops = std::move(capture->ops);
  for (const CapturedOp& op : g->ops) g->nodes.push_back(std::make_unique<CUgraphNode_st>(CUgraphNode_st{op.kind}));
  *graph = g;
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  CUstream_st* st = stream_of(stream);
  std::lock_guard lock(st->m);
  *status = !st->capture ? cudaStreamCaptureStatusNone
            : st->capture_invalidated ? cudaStreamCaptureStatusInvalidated
                                      : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, size_t* count) {
  if (!graph || !count) return report(cudaErrorInvalidValue, "cudaGraphGetNodes: no graph or no count");
  if (nodes)
    for (size_t i = 0; i < std::min(*count, graph->nodes.size()); ++i) nodes[i] = graph->nodes[i].get();
  *count = graph->nodes.size();
  return cudaSuccess;
}

cudaError_t cudaGraphNodeGetType(cudaGraphNode_t node, cudaGraphNodeType* type) {
  if (!node || !type) return report(cudaErrorInvalidValue, "cudaGraphNodeGetType: no node or no type");
  *type = node->kind;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (!exec || !graph) return report(cudaErrorInvalidValue, "cudaGraphInstantiate: no graph");
  *exec = new CUgraphExec_st{std::make_shared<const std::vector<CapturedOp>>(graph->ops)};
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (!exec) return report(cudaErrorInvalidValue, "cudaGraphLaunch: no graph");
  CUstream_st* st = stream_of(stream);
  {
    std::lock_guard lock(st->m);
    if (st->capture) return report(cudaErrorStreamCaptureUnsupported, "cudaGraphLaunch into a capture is not emulated");
    ++st->launches;  // the whole graph: one launch
  }
  enqueue_op(st, [ops = exec->ops] {
    for (const CapturedOp& op : *ops) op.run();
  });
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;  // a launch still queued holds its own reference to the operations
  return cudaSuccess;
}
