// --cuda-graph: each training step queued once into a CUDA graph and from then on replayed as
// one launch (core/cuda/step_graph.h), with no allocation (its memory planned once per batch
// shape) and no wait for the GPU. What the eager step reads back at every step is kept on the
// device instead and read every StepHealth::kLosses steps and at the epoch's end: the loss (the
// epoch's mean, TensorBoard's per-step values), label checks (core/device_checks.h: the same
// messages), and the non-finite policy (optim/step_health.h): the update is skipped on the device
// for a step whose loss or gradient is not finite, and without --skip-nonfinite every later step
// too, so that the run stops at the read with the weights of the last good step.
//
// What differs from the eager step: the layer that went non-finite is not named (the eager run
// names it), a refused step still counts for the schedule and Adam's bias correction, and an
// out-of-range label is reported at the read, with the count summed since the epoch began.
#include <cmath>
#include <cstring>

#include "cuseg/core/cuda/step_graph.h"
#include "cuseg/core/device_checks.h"
#include "cuseg/layers/layers.h"
#include "cuseg/optim/step_health.h"
#include "cuseg/train/trainer_state.h"

namespace cuseg {

struct Trainer::State::GraphSteps {
  // A graph and the tensors it reads and writes, for one batch shape (a short last batch is
  // another shape, with a graph of its own).
  struct ForShape {
    std::unique_ptr<cuda::StepGraph> graph;
    Tensor images, labels, loss;
  };
  std::map<std::vector<int64_t>, ForShape> shapes;
  DeviceChecks checks;
  Tensor health;  // one StepHealth on the device, as bytes
  int64_t unread = 0;   // steps since the last read
  int64_t read = 0;     // steps since the reset already folded into the host's counters
  int64_t first_batch = 0;  // the batch of step 0 since the reset

  explicit GraphSteps(Device device)
      : checks(device), health(Tensor::zeros(Shape{int64_t(sizeof(StepHealth))}, DType::U8, device)) {}
  StepHealth* on_device() { return reinterpret_cast<StepHealth*>(health.data<uint8_t>()); }
};

Trainer::State::State() = default;
Trainer::State::~State() = default;

void Trainer::State::start_graph_steps() {
  const TrainConfig& c = config;
  CUSEG_CHECK(device.is_cuda(), "--cuda-graph needs a GPU; this run is on ", device.str());
  CUSEG_CHECK(ranks->size() == 1, "--cuda-graph: one process only (under mpirun the gradients are summed over the "
              "ranks between backward and the update, through the host)");
  for (Layer* layer : model->layers())
    if (const auto* dropout = dynamic_cast<const Dropout*>(layer); dropout && dropout->p() > 0)
      throw_error(str_cat("--cuda-graph: dropout layer '", layer->name(), "' (p = ", dropout->p(),
                          ") draws a new mask at each step from a counter on the host, which a replayed graph "
                          "would not advance; set its probability to 0 or run without --cuda-graph"));
  CUSEG_CHECK(!(c.label_smoothing > 0 && c.class_weights != "none"),
              "--cuda-graph: --label-smoothing with --class-weights reads the weights back at every step");
  graph_steps = std::make_unique<GraphSteps>(device);
}

void Trainer::State::reset_graph_steps() {
  GraphSteps& g = *graph_steps;
  StepHealth fresh = StepHealth::reset(!config.skip_nonfinite);
  fresh.loss_sum = epoch_loss_sum;  // the device goes on adding, in the eager step's order
  fresh.finite_losses = epoch_loss_batches;
  fresh.refused = skipped_steps;
  copy_bytes(g.on_device(), device, &fresh, Device::cpu(), sizeof fresh);
  g.unread = g.read = 0;
  g.first_batch = batch;
}

Trainer::State::BatchDone Trainer::State::train_batch_in_graph(const Batch& b) {
  GraphSteps& g = *graph_steps;
  std::vector<int64_t> shape;
  for (int i = 0; i < b.images.rank(); ++i) shape.push_back(b.images.dim(i));
  GraphSteps::ForShape& f = g.shapes[shape];
  if (!f.graph) {
    f.graph = std::make_unique<cuda::StepGraph>(device);
    f.images = Tensor::empty(b.images.shape(), b.images.dtype(), device);
    f.labels = Tensor::empty(b.labels.shape(), b.labels.dtype(), device);
    f.loss = Tensor::zeros(Shape{1}, DType::F32, device);
  }
  f.images.copy_from(b.images);
  f.labels.copy_from(b.labels);
  optimizer->stage(schedule);
  StepHealth* health = g.on_device();
  f.graph->run([&] {
    DeviceChecks::Scope scope(g.checks);
    model->forward({{"image", f.images}});
    const Tensor& logits = model->get("logits");
    Tensor dlogits = Tensor::empty(logits.shape(), DType::F32, device);
    loss->compute(logits, f.labels, f.loss, dlogits);
    model->backward({{"logits", dlogits}});
    optimizer->step_staged(f.loss.data<float>(), health);  // and zero_grad
  });
  batch = b.index + 1;
  if (++g.unread < StepHealth::kLosses && b.index + 1 < train_loader->batches()) return {.step_ended = true};
  return {.step_ended = true, .nonfinite = read_graph_steps()};
}

std::string Trainer::State::read_graph_steps() {
  GraphSteps& g = *graph_steps;
  if (g.unread == 0) return "";
  g.checks.raise_if_any();
  StepHealth h;
  const Tensor bytes = g.health.to(Device::cpu());
  std::memcpy(&h, bytes.data<uint8_t>(), sizeof h);
  if (tensorboard) {
    // Step n since the reset was optimizer step (steps now) − (seen − n) + 1.
    for (int64_t n = g.read; n < h.seen; ++n) {
      const float value = h.losses[n % StepHealth::kLosses];
      if (std::isfinite(value) && !(h.halted && n >= h.first_nonfinite))
        tensorboard->step_loss(optimizer->steps() - (h.seen - n) + 1, value);
    }
  }
  g.read = h.seen;
  g.unread = 0;
  epoch_loss_sum = h.loss_sum;
  epoch_loss_batches = h.finite_losses;
  if (h.first_nonfinite < 0 || config.skip_nonfinite) {
    skipped_steps = h.refused;
    return "";
  }
  const int64_t at = g.first_batch + h.first_nonfinite;
  const std::string where = "the layer is not named under --cuda-graph (a run without it names it)";
  return std::isfinite(h.first_nonfinite_loss)
             ? nonfinite_message("a gradient is non-finite", at, where)
             : nonfinite_message(str_cat("the loss is ", h.first_nonfinite_loss), at, where);
}

}  // namespace cuseg
