#include "cuseg/layers/zoo/builder.h"

#include <cmath>

#include "cuseg/kernels/init.h"
#include "cuseg/layers/layers.h"

namespace cuseg::zoo {

Conv2dParams conv_params(int kernel, int stride, int dilation) {
  Conv2dParams p;
  p.stride_h = p.stride_w = dilation > 1 ? 1 : stride;
  p.pad_h = p.pad_w = kernel / 2 * dilation;
  p.dil_h = p.dil_w = dilation;
  return p;
}

std::string Builder::add(std::unique_ptr<Layer> layer, const std::vector<std::string>& inputs,
                         const std::string& output) {
  if (unused_)
    g_.add_unused(std::move(layer));
  else
    g_.add(std::move(layer), inputs, output);
  return output;
}

std::string Builder::conv(const std::string& name, const std::string& in, int in_channels,
                          int out_channels, int kernel, int stride, bool bias,
                          const std::string& output, int groups) {
  Conv2dParams p = conv_params(kernel, stride);
  p.groups = groups;
  return conv(name, in, in_channels, out_channels, kernel, p, bias, output);
}

std::string Builder::conv(const std::string& name, const std::string& in, int in_channels,
                          int out_channels, int kernel, const Conv2dParams& p, bool bias,
                          const std::string& output) {
  return add(std::make_unique<Conv2d>(name, in_channels, out_channels, kernel, p, bias, next_seed()),
             {in}, output.empty() ? name : output);
}

std::string Builder::activation(const std::string& name, const std::string& in,
                                ActivationKind kind) {
  return add(std::make_unique<Activation>(name, ActivationParams{kind}), {in}, name);
}

std::string Builder::batch_norm(const std::string& name, const std::string& in, int channels,
                                bool relu, const BatchNormParams& p) {
  return add(std::make_unique<BatchNorm2d>(name, channels, p, relu), {in}, name);
}

std::string Builder::add(const std::string& name, const std::string& a, const std::string& b,
                         bool relu) {
  return add(std::make_unique<Add>(name, relu), {a, b}, name);
}

std::string Builder::max_pool(const std::string& name, const std::string& in, int kernel,
                              int stride, int pad) {
  Pool2dParams p;
  p.kernel_h = p.kernel_w = kernel;
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = pad;
  return add(std::make_unique<Pool2d>(name, true, p), {in}, name);
}

std::string Builder::upsample(const std::string& name, const std::string& in, UpsampleMode mode,
                              int scale, const std::string& output) {
  return add(std::make_unique<Upsample>(name, mode, scale), {in}, output.empty() ? name : output);
}

std::string Builder::concat(const std::string& name, const std::string& a, const std::string& b) {
  return add(std::make_unique<Concat>(name, 2), {a, b}, name);
}

Features build_encoder(Builder& b, const ModelConfig& config, const std::string& input) {
  if (config.encoder == "mobilenet_v2") return build_mobilenet_v2(b, config, input);
  if (config.encoder.starts_with("efficientnet")) return build_efficientnet(b, config, input);
  return build_resnet(b, config, input);
}

void initialize_like_smp(Graph& graph, const ModelConfig& config) {
  uint64_t seed = config.seed * 7919 + 17;
  const double relu_gain = init_gain(ActivationKind::Relu);
  // EfficientNet has no initialization of its own: PyTorch's default for Conv2d, U(±1/√fan_in)
  // for weights and biases alike (kaiming_uniform with a = √5).
  const bool torch_default_encoder = config.encoder.starts_with("efficientnet");
  const double default_gain = init_gain(ActivationKind::LeakyRelu, std::sqrt(5.0));
  for (Layer* layer : graph.layers()) {
    if (!dynamic_cast<Conv2d*>(layer)) continue;
    if (torch_default_encoder && layer->name().starts_with("encoder.")) {
      double fan_in = 1;
      for (Parameter* p : layer->parameters())
        if (p->value.rank() == 4) fan_in = fans_of(p->value.shape()).in;
      for (Parameter* p : layer->parameters()) kaiming_uniform(p->value, fan_in, default_gain, seed++);
      continue;
    }
    for (Parameter* p : layer->parameters()) {
      if (p->value.rank() != 4) {
        p->value.fill(0.0);  // biases: SMP's decoders and heads start them at 0
        continue;
      }
      const Fans fans = fans_of(p->value.shape());
      if (layer->name().starts_with("encoder."))
        kaiming_normal(p->value, fans.out, relu_gain, seed++);
      else if (layer->name().starts_with("segmentation_head."))
        xavier_uniform(p->value, fans, linear_gain(), seed++);
      else
        kaiming_uniform(p->value, fans.in, relu_gain, seed++);
    }
  }
}

}  // namespace cuseg::zoo
