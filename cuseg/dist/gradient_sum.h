// The sum over the ranks of every parameter gradient before an optimizer step, as a communicator
// does it. Through the host (any communicator): after the backward, in buckets
// (allreduce_sum(tensors)). On the GPUs (NCCL, dist/nccl_communicator.h): each bucket's sum starts
// on a communication stream as soon as the backward has finished its gradients, so the sums of
// the last layers overlap with the backward of the earlier ones, as PyTorch's DDP does.
//
// The trainer's part, for a step: begin(), then the step's last backward calling ready(i) as each
// gradient becomes final, then finish() before the optimizer reads the gradients. Every rank
// makes the same calls in the same order (they run the same graph), which NCCL requires.
#pragma once

#include <cstddef>
#include <string>

namespace cuseg {

class GradientSum {
 public:
  virtual ~GradientSum() = default;
  // Before the backward that precedes a step.
  virtual void begin() {}
  // During it: gradients[i] will not change before the step.
  virtual void ready(size_t) {}
  // Every gradient is now the sum over the ranks, for what its device runs next; the host has
  // waited for the sums, so a rank that died or hangs ends the job here (--collective-timeout).
  // `what` names the collective in that message.
  virtual void finish(const std::string& what) = 0;
  // "through the host", "on the GPUs (NCCL), overlapped with the backward"
  virtual std::string description() const = 0;
};

}  // namespace cuseg
