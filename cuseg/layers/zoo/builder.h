// Internal: what the model zoo's builders share — adding layers to a graph under
// segmentation_models_pytorch's module names (a layer's name is its module's path in the SMP
// model, so its parameters' names are the state dict's keys), each layer writing a tensor of its
// own name.
#pragma once

#include <string>
#include <vector>

#include "cuseg/kernels/activation.h"
#include "cuseg/kernels/batch_norm.h"
#include "cuseg/kernels/conv2d.h"
#include "cuseg/kernels/upsample.h"
#include "cuseg/layers/graph.h"
#include "cuseg/layers/model_config.h"

namespace cuseg::zoo {

// What an encoder gives a decoder: its features from the input's resolution down (the input
// first), each a tensor of the graph, with its channels (SMP's encoder.out_channels).
struct Features {
  std::vector<std::string> names;
  std::vector<int> channels;
};

class Builder {
 public:
  Builder(Graph& graph, uint64_t seed) : g_(graph), seed_(seed) {}

  // Conv2d with a square kernel and torch's usual padding kernel/2, named `name`; returns the
  // tensor it writes (`output`, or `name` where that is empty).
  std::string conv(const std::string& name, const std::string& in, int in_channels,
                   int out_channels, int kernel, int stride = 1, bool bias = false,
                   const std::string& output = "", int groups = 1);
  // Conv2d with a square kernel and the given stride, padding, dilation and groups.
  std::string conv(const std::string& name, const std::string& in, int in_channels,
                   int out_channels, int kernel, const Conv2dParams& p, bool bias = false,
                   const std::string& output = "");
  std::string activation(const std::string& name, const std::string& in, ActivationKind kind);
  // BatchNorm2d named `name`, with ReLU fused into it where `relu` (the tensor between the two is
  // never stored); returns the tensor it writes.
  std::string batch_norm(const std::string& name, const std::string& in, int channels, bool relu,
                         const BatchNormParams& p = {});
  // a + b (a residual connection), then ReLU where `relu`.
  std::string add(const std::string& name, const std::string& a, const std::string& b, bool relu);
  std::string max_pool(const std::string& name, const std::string& in, int kernel, int stride,
                       int pad);
  // Upsample by `scale` in `mode`, writing `output` (or `name` where that is empty).
  std::string upsample(const std::string& name, const std::string& in, UpsampleMode mode, int scale,
                       const std::string& output = "");
  std::string concat(const std::string& name, const std::string& a, const std::string& b);

  // While set, the layers added hold state only (Graph::add_unused): the stages of an encoder
  // beyond its depth, which SMP builds and keeps in its state dict but never runs.
  void set_unused(bool unused) { unused_ = unused; }
  // Any other layer, under the rule above; returns the tensor it writes.
  std::string add(std::unique_ptr<Layer> layer, const std::vector<std::string>& inputs,
                  const std::string& output);
  uint64_t next_seed() { return seed_ * 1000003 + 2 * uint64_t(counter_++); }

 private:
  Graph& g_;
  uint64_t seed_;
  int counter_ = 0;
  bool unused_ = false;
};

// Conv2dParams of a k×k convolution as SMP has it at this stride and dilation: padding
// (k/2)·dilation; a dilated convolution does not stride (SMP's replace_strides_with_dilation).
Conv2dParams conv_params(int kernel, int stride, int dilation = 1);

// The encoders (zoo/resnet.cpp, zoo/mobilenet.cpp, zoo/efficientnet.cpp): the layers of
// config.encoder, reading `input`, named under "encoder."; the first config.encoder_depth + 1
// features. What SMP's encoder holds beyond them is added unused (Builder::set_unused).
Features build_resnet(Builder& b, const ModelConfig& config, const std::string& input);
Features build_mobilenet_v2(Builder& b, const ModelConfig& config, const std::string& input);
Features build_efficientnet(Builder& b, const ModelConfig& config, const std::string& input);
Features build_encoder(Builder& b, const ModelConfig& config, const std::string& input);

// The decoders (zoo/unet_decoder.cpp, fpn_decoder.cpp, deeplabv3plus_decoder.cpp): the layers of
// the architecture under "decoder." and "segmentation_head.", reading the encoder's features,
// writing head_output(config) (networks.h: "logits", or a binary head's "foreground") at the
// input's resolution.
void build_unet_decoder(Builder& b, const ModelConfig& config, const Features& features);
void build_fpn_decoder(Builder& b, const ModelConfig& config, const Features& features);
void build_deeplabv3plus_decoder(Builder& b, const ModelConfig& config, const Features& features);

// The initialization SMP gives a freshly built model: the encoder's own (torchvision's ResNets:
// kaiming_normal, fan_out, for convolutions;
// EfficientNet: PyTorch's default, U(±1/√fan_in) for weights and biases), the decoder's (kaiming_uniform, fan_in, biases 0),
// the head's (xavier_uniform, bias 0); batch norms γ = 1, β = 0.
void initialize_like_smp(Graph& graph, const ModelConfig& config);

}  // namespace cuseg::zoo
