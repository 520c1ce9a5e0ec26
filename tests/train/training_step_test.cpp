// One whole unet-s training step — forward, ce+dice loss, backward, one fused momentum-SGD step with an
// elastic-net penalty — on the CPU and on CUDA from the same weights and batch: logits, loss,
// every gradient, every updated weight and the batch-norm running statistics must agree within
// float tolerance. In the emulated CUDA build this runs on every CI run.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "cuseg/layers/unet.h"
#include "cuseg/losses/loss.h"
#include "cuseg/optim/optimizer.h"
#include "test_util.h"

namespace cuseg {
namespace {

struct Step {
  std::unique_ptr<Graph> model;
  Tensor loss;
  std::map<std::string, Tensor> grads;  // copied before the optimizer step
};

Step train_one_step(Device device, const Tensor& image, const Tensor& labels) {
  Step s;
  s.model = build_unet(UNetConfig::unet_s(3, 4, 4));
  s.model->to(device);
  s.model->set_training(true);
  std::vector<ParamRef> params;
  for (Parameter* p : s.model->parameters()) params.push_back({p->name, p->value, p->grad, p->no_decay});
  // Momentum SGD: its update is linear in the gradient, so the weights after the step differ by
  // lr times the gradients' rounding differences. (Adam divides by √v, which turns a gradient
  // that is zero up to rounding into a full ±lr step of either sign.)
  OptimizerConfig oc = OptimizerConfig::named("momentum");
  oc.penalty = Penalty::elastic(1e-3, 1e-3);
  Optimizer opt(oc, params);
  auto loss = make_loss("ce+dice");

  s.model->zero_grad();
  s.model->forward({{"image", image.to(device)}});
  const Tensor& logits = s.model->get("logits");
  s.loss = Tensor::empty(Shape{1}, DType::f32, device);
  Tensor dlogits = Tensor::empty(logits.shape(), DType::f32, device);
  loss->compute(logits, labels.to(device), s.loss, dlogits);
  s.model->backward({{"logits", dlogits}});
  for (Parameter* p : s.model->parameters()) s.grads[p->name] = p->grad.to(Device::cpu());
  opt.step(0.05);
  return s;
}

TEST(TrainingStepGpu, UnetSStepAgreesOnCpuAndCuda) {
  CUSEG_REQUIRE_GPU();
  const Shape shape{2, 32, 32, 3};
  const Tensor image = test::random(shape, 11, -1, 1, DType::f32);
  std::vector<uint8_t> label_values(size_t(2 * 32 * 32));
  for (size_t i = 0; i < label_values.size(); ++i)
    label_values[i] = i % 37 == 5 ? 255 : uint8_t((i / 32 / 8 + i % 32 / 8) % 4);  // blocks, some ignored
  const Tensor labels = Tensor::from_vector(label_values, Shape{2, 32, 32});

  const Step cpu = train_one_step(Device::cpu(), image, labels);
  const Step gpu = train_one_step(Device::cuda(0), image, labels);

  // float32 against float32, summed in different orders: DESIGN.md's 1e-5 for outputs, 1e-4 for
  // the long reductions behind weight gradients (up to 2·32·32 terms each).
  EXPECT_TRUE(test::close(gpu.model->get("logits"), cpu.model->get("logits"), 1e-5, "logits", 11));
  EXPECT_TRUE(test::close(gpu.loss, cpu.loss, 1e-5, "ce+dice loss", 11));
  ASSERT_EQ(gpu.grads.size(), cpu.grads.size());
  for (const auto& [name, grad] : cpu.grads) EXPECT_TRUE(test::close(gpu.grads.at(name), grad, 1e-4, name + " grad", 11));
  // After the step the weights (parameters and batch-norm running statistics) agree to the
  // gradients' rounding times lr.
  const std::map<std::string, Tensor> cpu_state = cpu.model->state(), gpu_state = gpu.model->state();
  ASSERT_EQ(gpu_state.size(), cpu_state.size());
  for (const auto& [name, value] : cpu_state) {
    if (value.dtype() != DType::f32) continue;  // counters
    EXPECT_TRUE(test::close(gpu_state.at(name), value, 1e-5, name + " after the step", 11));
  }
}

}  // namespace
}  // namespace cuseg
