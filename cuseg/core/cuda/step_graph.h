// Internal: a unit of device work that repeats exactly (a training step), run as one CUDA graph
// launch once it is steady. Plain C++: callable from code built without CUDA headers.
//
// run(enqueue): the first call runs `enqueue` eagerly (a warm-up: plans and caches made lazily
// appear here, not in the recording); the second runs it eagerly with its device allocations
// recorded (cuda/step_memory.h); the third captures it into a graph, its allocations served from
// the planned block, and launches the graph; every later call only launches the graph — `enqueue`
// is not called again.
//
// So `enqueue` may only queue work on the device's stream, the same work with the same sizes each
// time: no wait for the device, no read to the host, no host value that changes between calls in
// its kernels' arguments (such values go through device memory written before run(), as the
// optimizer's staged hyper-parameters do). What a capture cannot hold, the capture refuses (the
// emulated device as a GPU), and run() throws saying what.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "cuseg/core/device.h"

namespace cuseg::cuda {

class StepGraph {
 public:
  explicit StepGraph(Device device);
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  void run(const std::function<void()>& enqueue);

  bool replaying() const;         // the graph exists: run() launches it
  int64_t graph_kernels() const;  // kernel nodes in the graph (0 before it exists)
  size_t planned_bytes() const;   // the step's planned device memory (0 before the recording)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cuseg::cuda
