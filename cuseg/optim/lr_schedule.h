// Learning-rate schedules as pure functions of the step (0-based), so a resumed run needs only
// the step count to continue exactly.
//
//   constant     lr
//   step         lr·γ^⌊t / step_size⌋                                   (PyTorch's StepLR)
//   cosine       warm-up lr·(t+1)/warmup for t < warmup, then
//                min_lr + (lr − min_lr)·(1 + cos(π·(t − warmup)/(total − warmup)))/2
//   polynomial   warm-up as above, then lr·(1 − (t − warmup)/(total − warmup))^power
//                ("poly", the segmentation default, power 0.9); 0 from total on
#pragma once

#include <cstdint>
#include <string>

namespace cuseg {

struct LrSchedule {
  enum class Kind { Constant, Step, Cosine, Polynomial };
  Kind kind = Kind::Constant;
  double lr = 0.01;
  int64_t step_size = 1;  // step
  double gamma = 0.1;     // step
  int64_t total = 1;      // cosine, polynomial: steps in the run
  int64_t warmup = 0;     // cosine, polynomial
  double min_lr = 0;      // cosine
  double power = 0.9;     // polynomial

  static LrSchedule constant(double lr);
  static LrSchedule step(double lr, int64_t step_size, double gamma);
  static LrSchedule cosine(double lr, int64_t total, int64_t warmup = 0, double min_lr = 0);
  static LrSchedule polynomial(double lr, int64_t total, double power = 0.9, int64_t warmup = 0);
  // "constant", "step", "cosine", "poly" with defaults suited to `total` steps.
  static LrSchedule parse(const std::string& name, double lr, int64_t total);

  void validate() const;
  double at(int64_t t) const;
};

}  // namespace cuseg
