// One batch of training: forward, loss, backward; at the end of an optimizer step (after
// `accumulate` batches, or the epoch's last) the gradient sum over the ranks and the step itself.
// A non-finite loss or gradient stops the run naming the first layer that went non-finite, or with
// skip_nonfinite is skipped and counted. Every rank takes the same branches: the loss is agreed
// on first.
#include <cmath>
#include <filesystem>

#include "cuseg/train/trainer_state.h"

namespace cuseg {

namespace fs = std::filesystem;

Trainer::State::BatchDone Trainer::State::train_batch(const Batch& b, Step& step) {
  Tensor dlogits;
  const double value = forward_and_loss(b, dlogits);
  ++step.batches;
  const bool last_of_step = step.batches == config.accumulate || b.index == train_loader->batches() - 1;
  if (std::isfinite(value)) {
    backward(dlogits, last_of_step);
    epoch_loss_sum += value;
    ++epoch_loss_batches;
    ++step.finite;
    step.loss_sum += value;
  } else if (config.skip_nonfinite) {
    ++skipped_steps;
  } else {
    const std::string layer = model->first_nonfinite_output();
    return {.nonfinite = nonfinite_message(str_cat("the loss is ", value), b.index,
                                           layer.empty() ? std::string("every layer output is finite (the loss itself overflowed)")
                                                         : str_cat("first non-finite output: layer '", layer, "'"))};
  }
  if (!last_of_step) return {};
  const std::string stop = take_step(step, b.index);
  if (!stop.empty()) return {.nonfinite = stop};
  step = Step{};
  batch = b.index + 1;
  return {.step_ended = true};
}

double Trainer::State::forward_and_loss(const Batch& b, Tensor& dlogits) {
  model->forward({{"image", b.images}});
  const Tensor& logits = model->get("logits");
  dlogits = Tensor::empty(logits.shape(), DType::F32, device);
  loss->compute(logits, b.labels, loss_value, dlogits);
  const double value = loss_value.to_vector<float>()[0];
  // Every rank takes the same branch on it: a non-finite loss anywhere is one everywhere.
  if (ranks->size() > 1) return mean_over_ranks(value, str_cat("the loss of step ", optimizer->steps() + 1));
  return value;
}

// The last backward before a step tells the gradient sum which gradients are final, layer by
// layer, so that it can start summing them while the backward goes on.
void Trainer::State::backward(const Tensor& dlogits, bool last_of_step) {
  if (!last_of_step) {
    model->backward({{"logits", dlogits}});
    return;
  }
  gradient_sum->begin();
  model->backward({{"logits", dlogits}}, [this](Layer& layer) {
    for (size_t i : gradients_of[&layer]) gradient_sum->ready(i);
  });
}

std::string Trainer::State::take_step(const Step& step, int64_t batch_index) {
  if (step.finite > 0) gradient_sum->finish(str_cat("the gradient sum of step ", optimizer->steps() + 1));
  // A finite loss can still have a non-finite gradient (an overflow in backward): check the
  // gradients before they reach the weights.
  const std::string bad = step.finite > 0 ? model->first_nonfinite_gradient() : std::string();
  if (!bad.empty()) {
    if (!config.skip_nonfinite)
      return nonfinite_message("a gradient is non-finite", batch_index, str_cat("first in backward order: layer '", bad, "'"));
    ++skipped_steps;
  } else if (step.finite > 0) {
    optimizer->step(schedule, 1.0 / double(step.finite * ranks->size()));
    if (tensorboard) tensorboard->step_loss(optimizer->steps(), step.loss_sum / double(step.finite));
  }
  model->zero_grad();
  return "";
}

std::string Trainer::State::nonfinite_message(const std::string& what, int64_t batch_index,
                                              const std::string& where) const {
  const std::string last = path("last.safetensors");
  return str_cat(what, " at epoch ", epoch + 1, ", batch ", batch_index + 1, "; ", where, ". ",
                 fs::exists(last) ? str_cat("The last good checkpoint is ", last)
                                  : std::string("No checkpoint was written before it"),
                 " (lower --lr, or --skip-nonfinite to skip such steps)");
}

bool Trainer::State::agreed(bool local) {
  if (ranks->size() == 1) return local;
  double any = local ? 1 : 0;
  ranks->allreduce_sum(&any, 1, "the agreement to stop");
  return any > 0;
}

double Trainer::State::mean_over_ranks(double value, const std::string& what) {
  ranks->allreduce_sum(&value, 1, what);
  return value / double(ranks->size());
}

}  // namespace cuseg
