// The model zoo's networks on the GPU (in CI the emulated device): each architecture, on encoders
// that between them use every kind of layer the zoo has — depthwise and "same"-padded convolution,
// squeeze-and-excitation, GroupNorm, dilation, the ASPP's global pooling and resize-to-size,
// align-corners resizing, a binary head — a training-mode forward and backward in float32 on CUDA
// against the same network on the CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cuseg/layers/networks.h"
#include "test_util.h"

namespace cuseg {
namespace {

ModelConfig small(Architecture a, const char* encoder, int classes) {
  ModelConfig c = ModelConfig::smp(a, encoder, 3, classes);
  c.decoder_dropout = 0;  // the same network on both sides without comparing masks
  c.drop_path_rate = 0;
  c.seed = 4;
  if (a == Architecture::Unet) c.encoder_depth = 3, c.decoder_channels = {32, 16, 16}, c.decoder_attention = "scse";
  if (a == Architecture::Fpn) c.decoder_pyramid_channels = 32, c.decoder_segmentation_channels = 32;
  if (a == Architecture::DeepLabV3Plus) c.decoder_channels = {32};
  return c;
}

TEST(ModelZooGpu, EveryArchitectureTrainsOnCudaAsOnTheCpu) {
  CUSEG_REQUIRE_GPU();
  std::vector<ModelConfig> configs = {small(Architecture::Unet, "efficientnet-b0", 3),
                                      small(Architecture::Fpn, "mobilenet_v2", 2),
                                      small(Architecture::DeepLabV3Plus, "resnet18", 1)};
  if (test::small_cases_only()) configs.resize(1);  // under the sanitizers: the Unet, the smallest
  for (const ModelConfig& c : configs) {
    SCOPED_TRACE(c.title());
    auto cpu = build_model(c), gpu = build_model(c);
    gpu->to(Device::cuda(0));
    // Three images, and 64×64 but for the Unet: batch norms over two values (DeepLabV3+'s image
    // pooling at a batch of two) and GroupNorm over one value per group (FPN's coarsest level at
    // 32×32) make the network ill-conditioned, the CPU's reference and fast path 8% apart.
    const int64_t n = 3, hw = c.architecture == Architecture::Unet ? 32 : 64;
    const Tensor x = test::random(Shape{n, hw, hw, 3}, 5, -1, 1, DType::F32),
                 gy = test::random(Shape{n, hw, hw, c.label_classes()}, 6, -1, 1, DType::F32);
    for (Graph* g : {cpu.get(), gpu.get()}) {
      g->set_training(true);
      g->zero_grad();
      g->forward({{"image", x.to(g->device())}});
      g->backward({{"logits", gy.to(g->device())}});
    }
    EXPECT_TRUE(test::close(gpu->get("logits"), cpu->get("logits"), 1e-4, "logits", 5));
    // Gradients through a deep float32 network: roundoff moves ReLU's and ReLU6's masks on either
    // side (tests/layers/smp_parity_test.cpp measures how far), so 1e-2 of each gradient's size;
    // those zero but for roundoff (batch norms' shifts read only through another batch norm, the
    // running means of zero-mean inputs) to 1e-4 of the largest.
    std::map<std::string, Tensor> grads;
    double largest = 0;
    for (Parameter* p : cpu->parameters()) {
      grads[p->name] = p->grad;
      for (double v : p->grad.to(DType::F64).to_vector<double>()) largest = std::max(largest, std::abs(v));
    }
    for (Parameter* p : gpu->parameters())
      EXPECT_TRUE(test::close_or_roundoff(p->grad, grads.at(p->name), 1e-2, 1e-4 * largest, p->name, 5));
    std::map<std::string, Tensor> state = cpu->state();
    for (auto& [name, t] : gpu->state()) {
      if (name.find("running_") == std::string::npos) continue;
      EXPECT_TRUE(test::close_or_roundoff(t, state.at(name), 1e-4, 1e-6, name, 5));
    }
  }
}

}  // namespace
}  // namespace cuseg
