// Parity of the whole unet-s with PyTorch: cuseg writes its weights (randomized, batch-norm
// parameters and running statistics included) and an input batch; tests/unet_parity.py builds the
// same network from torch.nn, loads them, runs a training-mode forward with class-weighted
// cross-entropy and a backward. Logits, loss, every parameter gradient and the updated running
// statistics must agree — within 1e-4 in float32, and to 1e-9 in float64.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cuseg/layers/unet.h"
#include "cuseg/losses/loss.h"
#include "test_util.h"
#include "torch_runner.h"

namespace cuseg {
namespace {

struct ParityCase {
  UNetUpsample upsample;
  DType dtype;
  double tolerance;
};

class UNetParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(UNetParity, MatchesPyTorchIncludingTrainModeBatchNorm) {
  CUSEG_REQUIRE_TORCH();
  const auto [upsample, dtype, tolerance] = GetParam();
  ModelConfig c = ModelConfig::unet_s(3, 4, 8);
  c.upsample = upsample;
  c.seed = 11;
  auto net = build_unet(c);
  net->to(dtype);
  // Batch norm starts at γ = 1, β = 0, mean 0, variance 1: randomize them so that they matter.
  std::map<std::string, Tensor> state;
  uint64_t seed = 100;
  for (auto& [name, value] : net->state()) {
    Tensor v = value.clone();
    if (name.find(".bn") != std::string::npos) v.fill_uniform(seed++, name.find("var") != std::string::npos ? 0.5 : -0.5, 1.5);
    state[name] = v;
  }
  net->load_state(state);

  const Shape image_shape{2, 32, 32, 3};
  const Tensor image = test::random(image_shape, 1, -1, 1, dtype);
  std::vector<uint8_t> labels(2 * 32 * 32);
  const std::vector<double> u = test::random(Shape{int64_t(labels.size())}, 2, 0, 1).to_vector<double>();
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = u[i] < 0.1 ? 255 : uint8_t(u[i] * 4) % 4;
  const Tensor label_tensor = Tensor::from_vector(labels, Shape{2, 32, 32});
  LossOptions o;
  o.class_weights = Tensor::from_vector(std::vector<double>{0.5, 1.0, 2.0, 1.5}, Shape{4}).to(dtype);

  std::map<std::string, Tensor> inputs = {{"image", image}, {"labels", label_tensor.to(DType::I32)},
                                          {"class_weights", o.class_weights}};
  for (auto& [name, value] : net->state()) inputs["state." + name] = value.clone();

  net->zero_grad();
  net->forward({{"image", image}});
  const Tensor logits = net->get("logits");
  Tensor loss = Tensor::empty(Shape{1}, dtype), dlogits = Tensor::empty(logits.shape(), dtype);
  make_loss("ce", o)->compute(logits, label_tensor, loss, dlogits);
  net->backward({{"logits", dlogits}});

  const nlohmann::json spec = nlohmann::json::array({{{"in_channels", c.in_channels}, {"classes", c.classes},
                                                      {"base", c.base}, {"depth", c.depth}, {"batch_norm", c.batch_norm},
                                                      {"upsample", upsample == UNetUpsample::Bilinear ? "bilinear" : "transposed"},
                                                      {"dtype", dtype_name(dtype)}}});
  const SafetensorsFile theirs = test::run_torch_script("unet_parity.py", inputs, spec.dump());
  EXPECT_TRUE(test::close(logits, theirs.tensors.at("logits"), tolerance, "unet logits", 1));
  EXPECT_TRUE(test::close(loss, theirs.tensors.at("loss"), tolerance, "unet loss", 1));
  int checked = 0;
  for (Parameter* p : net->parameters()) {
    EXPECT_TRUE(test::close(p->grad, theirs.tensors.at("grad." + p->name), tolerance, "gradient of " + p->name, 1));
    ++checked;
  }
  for (auto& [name, value] : net->state()) {
    if (name.find("running") != std::string::npos) {
      EXPECT_TRUE(test::close(value, theirs.tensors.at("state." + name), tolerance, name, 1));
    }
  }
  EXPECT_GT(checked, 40);
}

INSTANTIATE_TEST_SUITE_P(Configurations, UNetParity,
                         ::testing::Values(ParityCase{UNetUpsample::TransposedConv, DType::F32, 1e-4},
                                           ParityCase{UNetUpsample::TransposedConv, DType::F64, 1e-9},
                                           ParityCase{UNetUpsample::Bilinear, DType::F32, 1e-4}));

}  // namespace
}  // namespace cuseg
