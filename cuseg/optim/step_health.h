// Internal: what a training step captured in a CUDA graph keeps on the device instead of reading
// back each step (the loss, whether the step was taken), written by the optimizer's staged step
// (Optimizer::step_staged) and read by the trainer when it logs. Plain data, the same layout on
// the host and the device.
#pragma once

namespace cuseg {

struct StepHealth {
  static constexpr int kLosses = 64;  // the per-step losses kept: read at least this often
  double loss_sum;                    // of the finite losses (from the host's sum at the reset)
  long long finite_losses;            // their number (likewise)
  long long refused;                  // steps refused: non-finite, or after a halt (likewise)
  long long seen;                     // steps since the reset: the number of the next
  long long first_nonfinite;          // the first non-finite step's number since the reset; −1: none
  float first_nonfinite_loss;         // its loss (finite when only a gradient was not)
  int halt_on_nonfinite;              // set by the host: refuse every step after a non-finite one
  int halted;
  int skip;                           // this step: refused (read by the update kernel)
  float losses[kLosses];              // the loss of step n at [n % kLosses]

  static StepHealth reset(bool halt_on_nonfinite) {
    StepHealth h{};
    h.first_nonfinite = -1;
    h.halt_on_nonfinite = halt_on_nonfinite ? 1 : 0;
    return h;
  }
};

}  // namespace cuseg
