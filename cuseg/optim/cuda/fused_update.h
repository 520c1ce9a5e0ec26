// Internal: the CUDA side of the fused optimizer step. A table of every parameter tensor (value,
// gradient, state pointers, size, group) is built on the device once; each step is then one
// launch over all of them, blocks taking fixed-size chunks of whichever tensor holds them.
#pragma once

#include <vector>

#include "cuseg/core/cuda/scratch.h"
#include "cuseg/optim/optimizer.h"

namespace cuseg::cuda {

class FusedUpdate {
 public:
  FusedUpdate(const std::vector<Optimizer::Slot>& slots, int device);
  FusedUpdate(const FusedUpdate&) = delete;
  FusedUpdate& operator=(const FusedUpdate&) = delete;

  // Writes norm[0] = ‖grad·grad_scale‖₂ over all gradients and scale[0] = grad_scale·min(1,
  // max_norm / (norm + 1e-6)) (PyTorch's clip_grad_norm_), on the device. Two launches.
  void clip_scale(float grad_scale, float max_norm, float* norm, float* scale);
  // One launch: scale is taken from scale_on_device when given, else `scale`.
  void step(OptimizerKind kind, const std::vector<StepHyper<float>>& hypers, float scale,
            const float* scale_on_device);

 private:
  int device_;
  int tensors_ = 0;
  int64_t chunks_ = 0;
  Scratch table_;     // device array of entries
  Scratch partials_;  // one double per block, for the gradient norm
  int blocks_ = 0;
};

}  // namespace cuseg::cuda
