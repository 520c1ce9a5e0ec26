// segmentation_models_pytorch's EfficientNetEncoder (encoders/efficientnet.py over
// encoders/_efficientnet.py, lukemelas's efficientnet_pytorch layout), b0, b1 and b2:
// encoder._conv_stem (3×3/2) → _bn0 → SiLU, then the MBConv blocks encoder._blocks.{i} (expand 1×1
// → _bn0 → SiLU unless the expansion is 1; depthwise k×k (stride) → _bn1 → SiLU; squeeze and
// excitation: global average → _se_reduce (bias) → SiLU → _se_expand (bias) → sigmoid, times the
// activations; project 1×1 → _bn2; plus the input, through drop connect, where the stride is 1 and
// the width stays), then _conv_head → _bn1, which SMP keeps in its state dict and never runs.
// Batch norms: eps 1e-3, momentum 0.01 (TensorFlow's 0.99).
//
// Every convolution pads as TensorFlow's "same" for the model's NOMINAL image size (224, 240, 260;
// Conv2dStaticSamePadding), not the input's: the padding is fixed when SMP builds the model, from
// the nominal size at that point (halved, rounded up, at each stride). For b2 those sizes go odd
// (260, 130, 65, 33, 17, 9), and a stride-2 convolution then pads symmetrically where an even size
// would pad one more at the bottom and right.
//
// Features: the input, the stem, and the outputs of blocks out_indexes; SMP stops running blocks
// one feature past the depth (below), and the rest stay, unused. DeepLabV3+ dilates the blocks after out_indexes[1]
// (stride 16) and after out_indexes[2] (32) past its output stride as SMP's
// replace_strides_with_dilation does: stride 1, padding (k/2)·dilation on every side, the static
// padding gone.
#include <array>
#include <cmath>

#include "cuseg/core/error.h"
#include "cuseg/layers/layers.h"
#include "cuseg/layers/zoo/builder.h"

namespace cuseg::zoo {

namespace {

struct Variant {
  const char* name;
  double width, depth;
  int image_size;
  std::array<int, 4> out_indexes;  // the blocks whose outputs are features 2…5
};

constexpr std::array<Variant, 3> kVariants = {{{"efficientnet-b0", 1.0, 1.0, 224, {2, 4, 8, 15}},
                                               {"efficientnet-b1", 1.0, 1.1, 240, {4, 7, 15, 22}},
                                               {"efficientnet-b2", 1.1, 1.2, 260, {4, 7, 15, 22}}}};

// efficientnet_pytorch's blocks_args for b0: repeats, kernel, stride, expansion, in, out filters
// (squeeze-and-excitation ratio 0.25 and the identity skip on every one).
struct StageArgs {
  int repeats, kernel, stride, expansion, in, out;
};
constexpr std::array<StageArgs, 7> kStages = {{{1, 3, 1, 1, 32, 16},
                                               {2, 3, 2, 6, 16, 24},
                                               {2, 5, 2, 6, 24, 40},
                                               {3, 3, 2, 6, 40, 80},
                                               {3, 5, 1, 6, 80, 112},
                                               {4, 5, 2, 6, 112, 192},
                                               {1, 3, 1, 6, 192, 320}}};

// round_filters and round_repeats, in the same double arithmetic as Python's.
int round_filters(int filters, double width) {
  const int divisor = 8;
  const double scaled = filters * width;
  int rounded = std::max(divisor, int(scaled + divisor / 2.0) / divisor * divisor);
  if (rounded < 0.9 * scaled) rounded += divisor;  // never more than 10% below
  return rounded;
}
int round_repeats(int repeats, double depth) { return int(std::ceil(depth * repeats)); }

int ceil_div(int a, int b) { return (a + b - 1) / b; }

const Variant& variant_of(const ModelConfig& config) {
  for (const Variant& v : kVariants)
    if (config.encoder == v.name) return v;
  throw_error(str_cat(config.encoder, ": not an EfficientNet cuseg builds (", config.title(), ")"));
}

// A k×k convolution's parameters: "same" padding for a nominal `size`×`size` input at this
// stride, or, dilated, stride 1 and (k/2)·dilation on every side.
Conv2dParams conv_at(int kernel, int stride, int size, int dilation, int groups = 1) {
  Conv2dParams p;
  if (dilation > 1) {
    p = conv_params(kernel, stride, dilation);
  } else {
    p.stride_h = p.stride_w = stride;
    p = same_padding(p, size, size, kernel, kernel);
  }
  p.groups = groups;
  return p;
}

struct Block {
  int kernel, stride, expansion, in, out;
  int size;      // the nominal input size
  int dilation;  // 1: none
  double drop;   // drop connect rate
};

std::string swish(Builder& b, const std::string& name, const std::string& in) {
  return b.activation(name, in, ActivationKind::Silu);
}

std::string batch_norm(Builder& b, const std::string& name, const std::string& in, int channels) {
  return b.batch_norm(name, in, channels, /*relu=*/false, BatchNormParams{1e-3, 0.01});
}

std::string mbconv(Builder& b, const std::string& name, const std::string& in, const Block& k) {
  const int hidden = k.in * k.expansion;
  std::string x = in;
  if (k.expansion != 1) {
    x = b.conv(name + "._expand_conv", x, k.in, hidden, 1, conv_at(1, 1, k.size, k.dilation));
    x = swish(b, name + "._swish0", batch_norm(b, name + "._bn0", x, hidden));
  }
  x = b.conv(name + "._depthwise_conv", x, hidden, hidden, k.kernel,
             conv_at(k.kernel, k.stride, k.size, k.dilation, hidden));
  x = swish(b, name + "._swish1", batch_norm(b, name + "._bn1", x, hidden));
  // Squeeze and excitation, squeezed to a quarter of the block's input width.
  const int squeezed = std::max(1, int(k.in * 0.25));
  std::string s = b.add(std::make_unique<AdaptiveAvgPool2d>(name + "._se_pool"), {x}, name + "._se_pool");
  s = b.conv(name + "._se_reduce", s, hidden, squeezed, 1, conv_at(1, 1, 1, k.dilation), true);
  s = swish(b, name + "._se_swish", s);
  s = b.conv(name + "._se_expand", s, squeezed, hidden, 1, conv_at(1, 1, 1, k.dilation), true);
  s = b.activation(name + "._se_sigmoid", s, ActivationKind::Sigmoid);
  x = b.add(std::make_unique<Multiply>(name + "._se_scale"), {x, s}, name + "._se_scale");
  const int out_size = ceil_div(k.size, k.dilation > 1 ? 1 : k.stride);
  x = b.conv(name + "._project_conv", x, hidden, k.out, 1, conv_at(1, 1, out_size, k.dilation));
  x = batch_norm(b, name + "._bn2", x, k.out);
  if (k.stride == 1 && k.in == k.out) {  // id_skip on every block
    if (k.drop > 0)
      x = b.add(std::make_unique<DropPath>(name + "._drop_connect", k.drop, b.next_seed()), {x},
                name + "._drop_connect");
    x = b.add(name + "._skip", x, in, /*relu=*/false);
  }
  return x;
}

}  // namespace

Features build_efficientnet(Builder& b, const ModelConfig& config, const std::string& input) {
  const Variant& v = variant_of(config);
  Features f;
  f.names.push_back(input);
  f.channels.push_back(config.in_channels);

  int size = v.image_size;
  const int stem = round_filters(32, v.width);
  std::string x = b.conv("encoder._conv_stem", input, config.in_channels, stem, 3, conv_at(3, 2, size, 1));
  x = swish(b, "encoder._swish", batch_norm(b, "encoder._bn0", x, stem));
  size = ceil_div(size, 2);
  f.names.push_back(x);
  f.channels.push_back(stem);

  std::vector<Block> blocks;
  for (const StageArgs& s : kStages) {
    const int in = round_filters(s.in, v.width), out = round_filters(s.out, v.width);
    const int repeats = round_repeats(s.repeats, v.depth);
    blocks.push_back({s.kernel, s.stride, s.expansion, in, out, size, 1, 0});
    size = ceil_div(size, s.stride);  // the repeats keep it
    for (int r = 1; r < repeats; ++r) blocks.push_back({s.kernel, 1, s.expansion, out, out, size, 1, 0});
  }
  const int n = int(blocks.size());
  // The block of the depth's last feature; SMP's loop stops only once it has appended one feature
  // more than the depth asks for (then drops it), so it runs the blocks up to that feature's too:
  // they compute nothing the decoder reads, but training updates their batch norms' running
  // statistics (and cuseg's optimizers see their parameters, with gradient 0).
  const int last = v.out_indexes[size_t(config.encoder_depth - 2)];
  const int last_run = v.out_indexes[size_t(std::min(config.encoder_depth - 1, 3))];
  for (int i = 0; i < n; ++i) {
    Block& k = blocks[size_t(i)];
    k.drop = config.drop_path_rate * i / n;  // SMP's EfficientNetEncoder.forward
    if (i > v.out_indexes[1])
      k.dilation = config.dilation_of_stage(i > v.out_indexes[2] ? 32 : 16);
    b.set_unused(i > last_run);
    x = mbconv(b, str_cat("encoder._blocks.", i), x, k);
    for (size_t j = 0; j < v.out_indexes.size(); ++j)
      if (v.out_indexes[j] == i && i <= last) {
        f.names.push_back(x);
        f.channels.push_back(k.out);
      }
  }
  b.set_unused(true);  // the classifier's head, never run
  const int head = round_filters(1280, v.width);
  x = b.conv("encoder._conv_head", x, blocks.back().out, head, 1, conv_at(1, 1, size, 1));
  batch_norm(b, "encoder._bn1", x, head);
  b.set_unused(false);
  return f;
}

}  // namespace cuseg::zoo
