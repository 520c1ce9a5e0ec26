// Optimizers with the penalties fused into their update: SGD (momentum, dampening, Nesterov),
// AdaGrad, RMSprop (centered or not, with momentum), Adam and AdamW, each as PyTorch defines it
// (see update_rule.h), so runs can be compared with torch.optim step by step.
//
// Parameters are (name, value, gradient) triples in parameter groups. By default every
// parameter of rank ≥ 2 is in group "decay", which gets the optimizer's penalty and decoupled
// weight decay, and every other one (biases, normalization scales and shifts: rank 1, or
// marked no_decay) in group "no_decay", which gets neither. Explicit groups override this for
// the parameters they name; a parameter named by two groups is an error.
//
// step() applies, in one pass over memory, the gradient scale (global-norm clipping, gradient
// averaging), the penalty, the optimizer rule and the decoupled decay to every parameter: on
// the GPU a single kernel launch for all tensors of all groups (plus, with clipping, one
// reduction and one tiny kernel for the norm), reading each gradient and state element once and
// writing each once.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"
#include "cuseg/optim/lr_schedule.h"
#include "cuseg/optim/update_rule.h"
#include "cuseg/regularizers/penalty.h"

namespace cuseg {

// At most this many parameter groups: the GPU kernel carries every group's settings in its
// arguments.
constexpr int kMaxParamGroups = 8;

struct ParamRef {
  std::string name;  // stable, e.g. "enc0.conv1.weight"
  Tensor value;
  Tensor grad;  // same shape, dtype and device as value
  bool no_decay = false;  // force into the default no-penalty group
};

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Sgd;
  double momentum = 0, dampening = 0;  // SGD; momentum also RMSprop
  bool nesterov = false;               // SGD
  double lr_decay = 0;                 // AdaGrad
  double alpha = 0.99;                 // RMSprop
  bool centered = false;               // RMSprop
  double beta1 = 0.9, beta2 = 0.999;   // Adam
  double eps = 1e-8;                   // AdaGrad (PyTorch's default there: 1e-10), RMSprop, Adam
  Penalty penalty;                     // coupled penalty of the "decay" group
  double weight_decay = 0;             // decoupled decay of the "decay" group (AdamW's)
  double max_grad_norm = 0;            // global-norm clipping; 0 = off

  // PyTorch's defaults for "sgd", "momentum" (0.9), "nesterov" (0.9), "adagrad", "rmsprop",
  // "adam", "adamw" (weight_decay 0.01); anything else is an error.
  static OptimizerConfig named(const std::string& name);
  void validate() const;
};

struct ParamGroupSpec {
  std::string name;
  std::vector<std::string> params;  // parameter names
  std::optional<Penalty> penalty = std::nullopt;  // else: the optimizer's
  std::optional<double> weight_decay = std::nullopt;  // else: the optimizer's
  double lr_scale = 1.0;
};

// Per-parameter regularization report: how sparse, how large, what it costs.
struct ParamStats {
  std::string name, group;
  int64_t numel = 0, zeros = 0;
  double zero_fraction = 0, l1 = 0, l2 = 0;  // l1 = Σ|w|, l2 = √Σw²
  double penalty = 0;                          // the group's R(w)
};

struct StepHealth;  // optim/step_health.h (internal)

class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, std::vector<ParamRef> params,
            std::vector<ParamGroupSpec> groups = {});
  ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One step at learning rate `lr` (group lr_scale applied). `grad_scale` multiplies every
  // gradient first (1/N to average N accumulated micro-batches); clipping scales further.
  void step(double lr, double grad_scale = 1.0);
  // Step t (0-based: steps() before it) takes the schedule's learning rate at t.
  void step(const LrSchedule& schedule, double grad_scale = 1.0) { step(schedule.at(steps_), grad_scale); }

  // A step in two parts, for a training step captured in a CUDA graph (GPU parameters only):
  // stage() does the host's part of step(lr) now — the step count, this step's hyper-parameters,
  // copied to the device — and step_staged() queues the device's part, which reads them there:
  // the check that the loss and every gradient are finite, kept in `health` (step_health.h) with
  // the loss, then the update unless the check refused the step; and it zeroes every gradient
  // (the next step's zero_grad, folded into the update's pass). step_staged() queues the same work
  // every time, so a graph replays it; stage() comes before each replay.
  void stage(double lr);
  void stage(const LrSchedule& schedule) { stage(schedule.at(steps_)); }
  void step_staged(const float* loss, StepHealth* health);

  // Which CPU implementation steps f32 parameters (kernels/backend.h): the fast path's single
  // parallel pass where the build has it (Auto, Fast), or the reference (Reference).
  void set_backend(Backend backend) { backend_ = backend; }

  int64_t steps() const { return steps_; }
  // The learning rate the last step applied (before its group's lr_scale): what a log reports.
  // Empty before this object's first step.
  std::optional<double> last_lr() const { return last_lr_; }
  const OptimizerConfig& config() const { return config_; }
  // The global gradient norm seen by the last step when clipping is on (waits for the GPU).
  double last_grad_norm() const;

  // Optimizer state as named tensors ("<param>.exp_avg", ..., "optimizer.steps"), for
  // checkpoints; load_state validates names, shapes and dtypes.
  std::map<std::string, Tensor> state() const;
  void load_state(const std::map<std::string, Tensor>& state);

  // Σ over parameters of their group's penalty value (the regularization part of the objective).
  double penalty_value() const;
  std::vector<ParamStats> stats() const;
  // The group each parameter ended up in.
  std::string group_of(const std::string& param) const;

  struct Group {
    std::string name;
    Penalty penalty;
    double weight_decay = 0;
    double lr_scale = 1;
  };
  struct Slot {  // one parameter and its state (s0..s2 as update_rule.h uses them)
    ParamRef param;
    int group = 0;
    Tensor state[3];
  };

 private:
  struct GpuState;  // the GPU side: its cached table of tensors
  OptimizerConfig config_;
  std::vector<Group> groups_;
  std::vector<Slot> slots_;
  int64_t steps_ = 0;
  std::optional<double> last_lr_;
  Backend backend_ = Backend::Auto;
  Tensor grad_scale_;  // [1] on the parameters' device when clipping: written by the norm kernel
  Tensor grad_norm_;   // [1]
  std::unique_ptr<GpuState> gpu_;
};

// The state tensors an optimizer keeps per parameter, by slot: name, or nullptr when unused.
const char* state_name(const OptimizerConfig& config, int slot);

}  // namespace cuseg
