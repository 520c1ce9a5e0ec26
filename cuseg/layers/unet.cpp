#include "cuseg/layers/unet.h"

#include "cuseg/layers/networks.h"

#include "cuseg/layers/layers.h"

namespace cuseg {

namespace {

class Builder {
 public:
  Builder(Graph& g, const ModelConfig& c) : g_(g), c_(c) {}

  // Two (Conv 3×3 → [BatchNorm] → ReLU) from `in` (in_ch channels) to `width`; returns the tensor.
  // Batch norm and ReLU are one layer (named as the batch norm, writing the tensor named as the
  // ReLU), so that the tensor between them is never stored.
  std::string double_conv(const std::string& level, const std::string& in, int in_ch, int width) {
    std::string x = in;
    for (int k = 1; k <= 2; ++k) {
      const std::string conv = str_cat(level, ".conv", k), bn = str_cat(level, ".bn", k), relu = str_cat(level, ".relu", k);
      g_.add(std::make_unique<Conv2d>(conv, k == 1 ? in_ch : width, width, 3, Conv2dParams{1, 1, 1, 1, 1, 1},
                                      !c_.batch_norm, next_seed()),
             {x}, conv);
      if (c_.batch_norm)
        g_.add(std::make_unique<BatchNorm2d>(bn, width, BatchNormParams{}, /*relu=*/true), {conv}, relu);
      else
        g_.add(std::make_unique<Activation>(relu, ActivationParams{ActivationKind::Relu}), {conv}, relu);
      x = relu;
    }
    return x;
  }

  uint64_t next_seed() { return c_.seed * 1000003 + 2 * uint64_t(counter_++); }

 private:
  Graph& g_;
  const ModelConfig& c_;
  int counter_ = 0;
};

}  // namespace

std::unique_ptr<Graph> build_unet(const ModelConfig& c) {
  CUSEG_CHECK(c.architecture == Architecture::UNetS, "build_unet: the model is ", architecture_name(c.architecture),
              ", not unet-s (build_model builds any)");
  c.validate();
  auto g = std::make_unique<Graph>();
  g->add_input("image", c.in_channels, 1 << (c.depth - 1));
  Builder b(*g, c);
  std::vector<std::string> skips;
  std::string x = "image";
  int in_ch = c.in_channels;
  for (int l = 0; l < c.depth; ++l) {
    const int width = c.base << l;
    const std::string level = str_cat("enc", l);
    if (l > 0) {
      g->add(std::make_unique<Pool2d>(level + ".pool", true, Pool2dParams{2, 2, 2, 2, 0, 0, true}), {x}, level + ".pool");
      x = level + ".pool";
    }
    x = b.double_conv(level, x, in_ch, width);
    in_ch = width;
    skips.push_back(x);
  }
  if (c.bottleneck_dropout > 0) {
    const std::string name = str_cat("enc", c.depth - 1, ".dropout");
    g->add(std::make_unique<Dropout>(name, c.bottleneck_dropout, b.next_seed()), {x}, name);
    x = name;
  }
  for (int l = c.depth - 2; l >= 0; --l) {
    const int width = c.base << l;
    const std::string level = str_cat("dec", l);
    if (c.upsample == UNetUpsample::TransposedConv) {
      g->add(std::make_unique<ConvTranspose2d>(level + ".up", 2 * width, width, 2, ConvTranspose2dParams{2, 2, 0, 0, 1, 1, 0, 0},
                                               true, b.next_seed()),
             {x}, level + ".up");
    } else {
      g->add(std::make_unique<Upsample>(level + ".upsample", UpsampleMode::Bilinear, 2), {x}, level + ".upsample");
      g->add(std::make_unique<Conv2d>(level + ".up", 2 * width, width, 1, Conv2dParams{}, true, b.next_seed()),
             {level + ".upsample"}, level + ".up");
    }
    g->add(std::make_unique<Concat>(level + ".concat", 2), {skips[size_t(l)], level + ".up"}, level + ".concat");
    x = b.double_conv(level, level + ".concat", 2 * width, width);
  }
  g->add(std::make_unique<Conv2d>("head", c.base, c.classes, 1, Conv2dParams{}, true, b.next_seed()), {x}, head_output(c));
  g->add_output("logits");
  return g;
}

}  // namespace cuseg
