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

  // The staged step (Optimizer::stage / step_staged): the hyper-parameters copied to the device
  // now; then, queued, the finiteness check of the loss and every gradient into `health` (two
  // launches) and the update, which reads the staged hyper-parameters, skips the step when *skip
  // (health->skip) says the check refused it, and zeroes every gradient either way.
  void stage(const std::vector<StepHyper<float>>& hypers);
  void check_finite(const float* loss, StepHealth* health);
  void step_staged(OptimizerKind kind, float scale, const float* scale_on_device, const int* skip);

 private:
  // hypers (by value in the launch), or hyper_on_device with skip (the staged step).
  void launch(OptimizerKind kind, const std::vector<StepHyper<float>>& hypers, const StepHyper<float>* hyper_on_device,
              const int* skip, float scale, const float* scale_on_device);
  int device_;
  int tensors_ = 0;
  int64_t chunks_ = 0;
  Scratch table_;     // device array of entries
  Scratch partials_;  // one double per block, for the gradient norm
  Scratch staged_;    // kMaxParamGroups StepHyper<float>: the staged step's
  int blocks_ = 0;
};

}  // namespace cuseg::cuda
