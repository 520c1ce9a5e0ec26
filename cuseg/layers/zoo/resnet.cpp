// torchvision's ResNets as segmentation_models_pytorch's ResNetEncoder uses them
// (encoders/resnet.py): the stem (conv1 7×7/2, bn1, relu), then maxpool 3×3/2 and layer1 … layer4,
// each a stack of BasicBlocks (resnet18, resnet34) or Bottlenecks (resnet50, torchvision's v1.5:
// the stride on the 3×3), the first block of a stage downsampling its identity with a 1×1
// convolution and a batch norm ("downsample.0", "downsample.1") where the stride or the width
// changes. The fc head is dropped, as SMP drops it. Features: the input, the stem's ReLU (stride
// 2), layer1 (4), layer2 (8), layer3 (16), layer4 (32), the first encoder_depth + 1 of them; the
// stages past the depth are kept, unused, as SMP keeps them. DeepLabV3+ dilates the stages past
// its output stride: every convolution there has stride 1 and the stage's dilation.
#include <array>

#include "cuseg/core/error.h"
#include "cuseg/layers/zoo/builder.h"

namespace cuseg::zoo {

namespace {

struct ResNetSpec {
  bool bottleneck;
  std::array<int, 4> blocks;
};

ResNetSpec spec_of(const std::string& encoder) {
  if (encoder == "resnet18") return {false, {2, 2, 2, 2}};
  if (encoder == "resnet34") return {false, {3, 4, 6, 3}};
  if (encoder == "resnet50") return {true, {3, 4, 6, 3}};
  throw_error(str_cat("encoder '", encoder, "' is not a ResNet"));
}

// One block from `in` (in_channels) to width·expansion channels; returns its output tensor.
std::string block(Builder& b, const std::string& name, const std::string& in, int in_channels,
                  int width, int stride, int dilation, bool bottleneck) {
  const int expansion = bottleneck ? 4 : 1;
  const int out_channels = width * expansion;
  std::string x;
  if (bottleneck) {
    x = b.conv(name + ".conv1", in, in_channels, width, 1, conv_params(1, 1, dilation));
    x = b.batch_norm(name + ".bn1", x, width, /*relu=*/true);
    x = b.conv(name + ".conv2", x, width, width, 3, conv_params(3, stride, dilation));
    x = b.batch_norm(name + ".bn2", x, width, true);
    x = b.conv(name + ".conv3", x, width, out_channels, 1, conv_params(1, 1, dilation));
    x = b.batch_norm(name + ".bn3", x, out_channels, false);
  } else {
    x = b.conv(name + ".conv1", in, in_channels, width, 3, conv_params(3, stride, dilation));
    x = b.batch_norm(name + ".bn1", x, width, true);
    x = b.conv(name + ".conv2", x, width, width, 3, conv_params(3, 1, dilation));
    x = b.batch_norm(name + ".bn2", x, width, false);
  }
  std::string identity = in;
  if (stride != 1 || in_channels != out_channels) {
    identity = b.conv(name + ".downsample.0", in, in_channels, out_channels, 1,
                      conv_params(1, stride, dilation));
    identity = b.batch_norm(name + ".downsample.1", identity, out_channels, false);
  }
  return b.add(name + ".add", x, identity, /*relu=*/true);
}

}  // namespace

Features build_resnet(Builder& b, const ModelConfig& config, const std::string& input) {
  const ResNetSpec spec = spec_of(config.encoder);
  const int expansion = spec.bottleneck ? 4 : 1;
  Features f;
  f.names.push_back(input);
  f.channels.push_back(config.in_channels);
  std::string x = b.conv("encoder.conv1", input, config.in_channels, 64, 7, 2);
  x = b.batch_norm("encoder.bn1", x, 64, /*relu=*/true);
  f.names.push_back(x);
  f.channels.push_back(64);
  x = b.max_pool("encoder.maxpool", x, 3, 2, 1);
  int channels = 64;
  for (int stage = 0; stage < 4; ++stage) {
    const bool used = stage + 2 <= config.encoder_depth;
    b.set_unused(!used);
    const int width = 64 << stage;
    const int dilation = config.dilation_of_stage(4 << stage);
    for (int i = 0; i < spec.blocks[size_t(stage)]; ++i) {
      x = block(b, str_cat("encoder.layer", stage + 1, ".", i), x, channels, width,
                i == 0 && stage > 0 ? 2 : 1, dilation, spec.bottleneck);
      channels = width * expansion;
    }
    if (used) {
      f.names.push_back(x);
      f.channels.push_back(channels);
    }
  }
  b.set_unused(false);
  return f;
}

}  // namespace cuseg::zoo
