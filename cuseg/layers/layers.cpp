#include "cuseg/layers/layers.h"

#include <cmath>

#include "cuseg/dist/sync_batch_norm.h"
#include "cuseg/kernels/concat.h"
#include "cuseg/kernels/elementwise.h"
#include "cuseg/kernels/init.h"

namespace cuseg {

namespace {

// Checks that a single-input layer gets one NHWC input of `channels` channels (any if < 0).
void expect_image(const std::string& where, const std::vector<Shape>& in, int64_t channels) {
  CUSEG_CHECK(in.size() == 1, where, ": expects 1 input, got ", in.size());
  CUSEG_CHECK(in[0].rank() == 4, where, ": input ", in[0].str(), " is not NHWC");
  CUSEG_CHECK(channels < 0 || in[0][3] == channels, where, ": input ", in[0].str(), " has ", in[0][3],
              " channels, the layer expects ", channels);
}

// PyTorch's default initialization of a convolution: kaiming_uniform(a = √5) on the weight —
// bound 1/√fan_in — and U(±1/√fan_in) on the bias.
void init_conv(Parameter& w, Parameter* b, double fan_in, uint64_t seed) {
  kaiming_uniform(w.value, fan_in, init_gain(ActivationKind::LeakyRelu, std::sqrt(5.0)), seed);
  if (b) b->value.fill_uniform(seed + 1, -1 / std::sqrt(fan_in), 1 / std::sqrt(fan_in));
}

}  // namespace

// ---- Conv2d ------------------------------------------------------------------------------

Conv2d::Conv2d(const std::string& name, int in_channels, int out_channels, int kernel, const Conv2dParams& p,
               bool bias, uint64_t seed)
    : Layer(name), p_(p) {
  CUSEG_CHECK(p.groups >= 1 && in_channels % p.groups == 0 && out_channels % p.groups == 0, where(), ": ", p.groups,
              " groups must divide both the ", in_channels, " input and the ", out_channels, " output channels");
  // Grouped: each output channel sees in_channels / groups inputs, which is also PyTorch's fan_in.
  const int group_in = in_channels / p.groups;
  weight_ = &add_parameter("weight", Shape{out_channels, kernel, kernel, group_in}, false);
  if (bias) bias_ = &add_parameter("bias", Shape{out_channels}, true);
  init_conv(*weight_, bias_, double(group_in) * kernel * kernel, seed);
}

Shape Conv2d::output_shape(const std::vector<Shape>& in) const {
  expect_image(where(), in, weight_->value.dim(3) * p_.groups);
  try {
    return conv2d_output_shape(in[0], weight_->value.shape(), p_);
  } catch (const Error& e) {
    throw Error(where() + ": " + e.what());
  }
}

double Conv2d::flops(const std::vector<Shape>& in) const {
  const Shape y = output_shape(in);  // each output element: R·S·C/groups multiply-adds
  return 2.0 * double(y.numel()) * double(weight_->value.numel() / weight_->value.dim(0));
}

void Conv2d::forward(const std::vector<Tensor>& in, Tensor& out) {
  conv2d_forward(in[0], weight_->value, out, p_, backend_);
  if (bias_) conv2d_bias_forward(out, bias_->value, backend_);
}

void Conv2d::backward(const std::vector<Tensor>& in, const Tensor&, const Tensor& dout, std::vector<Tensor>& din) {
  if (din[0].defined()) conv2d_backward_data(dout, weight_->value, din[0], p_, backend_);
  conv2d_backward_filter(in[0], dout, weight_->grad, p_, backend_);
  if (bias_) conv2d_bias_backward(dout, bias_->grad, backend_);
}

// ---- ConvTranspose2d -------------------------------------------------------------------------

ConvTranspose2d::ConvTranspose2d(const std::string& name, int in_channels, int out_channels, int kernel,
                                 const ConvTranspose2dParams& p, bool bias, uint64_t seed)
    : Layer(name), p_(p) {
  weight_ = &add_parameter("weight", Shape{in_channels, kernel, kernel, out_channels}, false);
  if (bias) bias_ = &add_parameter("bias", Shape{out_channels}, true);
  // PyTorch takes fan_in from its weight's dimension 1 — the output channels — times the window.
  init_conv(*weight_, bias_, double(out_channels) * kernel * kernel, seed);
}

Shape ConvTranspose2d::output_shape(const std::vector<Shape>& in) const {
  expect_image(where(), in, weight_->value.dim(0));
  try {
    return conv_transpose2d_output_shape(in[0], weight_->value.shape(), p_);
  } catch (const Error& e) {
    throw Error(where() + ": " + e.what());
  }
}

double ConvTranspose2d::flops(const std::vector<Shape>& in) const {
  return 2.0 * double(in[0].numel()) * double(weight_->value.numel() / weight_->value.dim(0));
}

void ConvTranspose2d::forward(const std::vector<Tensor>& in, Tensor& out) {
  conv_transpose2d_forward(in[0], weight_->value, out, p_, backend_);
  if (bias_) conv2d_bias_forward(out, bias_->value, backend_);
}

void ConvTranspose2d::backward(const std::vector<Tensor>& in, const Tensor&, const Tensor& dout,
                               std::vector<Tensor>& din) {
  if (din[0].defined()) conv_transpose2d_backward_data(dout, weight_->value, din[0], p_, backend_);
  conv_transpose2d_backward_filter(in[0], dout, weight_->grad, p_, backend_);
  if (bias_) conv2d_bias_backward(dout, bias_->grad, backend_);
}

// ---- BatchNorm2d ------------------------------------------------------------------------------

BatchNorm2d::BatchNorm2d(const std::string& name, int channels, const BatchNormParams& p, bool relu)
    : Layer(name), p_(p), channels_(channels), relu_(relu) {
  gamma_ = &add_parameter("weight", Shape{channels}, true);
  beta_ = &add_parameter("bias", Shape{channels}, true);
  gamma_->value.fill(1.0);
  running_mean_ = Tensor::zeros(Shape{channels});
  running_var_ = Tensor::full(Shape{channels}, 1.0);
}

Shape BatchNorm2d::output_shape(const std::vector<Shape>& in) const {
  expect_image(where(), in, channels_);
  return in[0];
}

std::vector<std::pair<std::string, Tensor*>> BatchNorm2d::buffers() {
  return {{name() + ".running_mean", &running_mean_}, {name() + ".running_var", &running_var_}};
}

void BatchNorm2d::forward(const std::vector<Tensor>& in, Tensor& out) {
  if (!training_) {
    if (relu_)
      batch_norm_relu_forward_inference(in[0], gamma_->value, beta_->value, running_mean_, running_var_, out, p_,
                                        backend_);
    else
      batch_norm_forward_inference(in[0], gamma_->value, beta_->value, running_mean_, running_var_, out, p_, backend_);
    return;
  }
  // PyTorch refuses it too; named here, where the kernel's message could not say which layer.
  CUSEG_CHECK(in[0].numel() > channels_, where(), ": training needs more than one value per channel, given ",
              in[0].shape().str(), " (a batch of one image pooled to 1×1, as DeepLabV3+'s ASPP does)");
  const Shape c{channels_};
  if (!save_mean_.defined() || save_mean_.device() != in[0].device() || save_mean_.dtype() != in[0].dtype()) {
    save_mean_ = Tensor::empty(c, in[0].dtype(), in[0].device());
    save_invstd_ = Tensor::empty(c, in[0].dtype(), in[0].device());
  }
  if (synchronized())
    sync_count_ = sync_batch_norm_forward_training(*ranks_, in[0], gamma_->value, beta_->value, out, save_mean_,
                                                   save_invstd_, running_mean_, running_var_, relu_, p_, backend_);
  else if (relu_)
    batch_norm_relu_forward_training(in[0], gamma_->value, beta_->value, out, save_mean_, save_invstd_, running_mean_,
                                     running_var_, p_, backend_);
  else
    batch_norm_forward_training(in[0], gamma_->value, beta_->value, out, save_mean_, save_invstd_, running_mean_,
                                running_var_, p_, backend_);
}

void BatchNorm2d::backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout,
                           std::vector<Tensor>& din) {
  CUSEG_CHECK(training_, where(), ": backward needs the batch statistics of a training-mode forward");
  Tensor dx = din[0].defined() ? din[0] : Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());
  if (synchronized())
    sync_batch_norm_backward(*ranks_, sync_count_, in[0], out, dout, gamma_->value, save_mean_, save_invstd_, dx,
                             gamma_->grad, beta_->grad, relu_, p_, backend_);
  else if (relu_)
    batch_norm_relu_backward(in[0], out, dout, gamma_->value, save_mean_, save_invstd_, dx, gamma_->grad, beta_->grad,
                             p_, backend_);
  else
    batch_norm_backward(in[0], dout, gamma_->value, save_mean_, save_invstd_, dx, gamma_->grad, beta_->grad, p_,
                        backend_);
}

// ---- Activation, Dropout ---------------------------------------------------------------------

void Activation::forward(const std::vector<Tensor>& in, Tensor& out) { activation_forward(in[0], out, p_, backend_); }

// The input is read only by the kinds whose derivative needs it (SiLU); the others' backward
// reads the output alone.
void Activation::backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout,
                          std::vector<Tensor>& din) {
  if (!din[0].defined()) return;
  if (activation_needs_input(p_.kind))
    activation_backward(in[0], out, dout, din[0], p_, backend_);
  else
    activation_backward(out, dout, din[0], p_, backend_);
}

// One input of any shape the mask fits (channel dropout and drop path: NHWC).
Shape Dropout::output_shape(const std::vector<Shape>& in) const {
  CUSEG_CHECK(in.size() == 1, where(), ": expects 1 input, got ", in.size());
  try {
    (void)mask_shape(in[0]);
  } catch (const Error& e) {
    throw Error(where() + ": " + e.what());
  }
  return in[0];
}

void Dropout::forward(const std::vector<Tensor>& in, Tensor& out) {
  if (!training_ || p_.p == 0) {
    out.copy_from(in[0]);
    return;
  }
  const Shape mask_shape = this->mask_shape(in[0].shape());
  if (!mask_.defined() || !(mask_.shape() == mask_shape) || mask_.device() != in[0].device())
    mask_ = Tensor::empty(mask_shape, DType::U8, in[0].device());
  last_ = p_;
  last_.offset += uint64_t(part_) * uint64_t(mask_.numel());
  masked_forward(in[0], out, mask_, last_);
  p_.offset += uint64_t(parts_) * uint64_t(mask_.numel());
}

void Dropout::backward(const std::vector<Tensor>&, const Tensor&, const Tensor& dout, std::vector<Tensor>& din) {
  if (!din[0].defined()) return;
  if (!training_ || p_.p == 0) {
    din[0].copy_from(dout);
    return;
  }
  masked_backward(dout, mask_, din[0], last_);
}

// ---- Pool2d, Concat ----------------------------------------------------------------

Shape Pool2d::output_shape(const std::vector<Shape>& in) const {
  expect_image(where(), in, -1);
  try {
    return pool2d_output_shape(in[0], p_);
  } catch (const Error& e) {
    throw Error(where() + ": " + e.what());
  }
}

void Pool2d::forward(const std::vector<Tensor>& in, Tensor& out) {
  if (!max_) {
    avg_pool2d_forward(in[0], out, p_, backend_);
    return;
  }
  if (!argmax_.defined() || !(argmax_.shape() == out.shape()) || argmax_.device() != out.device())
    argmax_ = Tensor::empty(out.shape(), DType::I32, out.device());
  max_pool2d_forward(in[0], out, argmax_, p_, backend_);
}

void Pool2d::backward(const std::vector<Tensor>&, const Tensor&, const Tensor& dout, std::vector<Tensor>& din) {
  if (!din[0].defined()) return;
  if (max_) {
    max_pool2d_backward(dout, argmax_, din[0], p_, backend_);
  } else {
    avg_pool2d_backward(dout, din[0], p_, backend_);
  }
}

Shape Concat::output_shape(const std::vector<Shape>& in) const {
  CUSEG_CHECK(int(in.size()) == inputs_, where(), ": expects ", inputs_, " inputs, got ", in.size());
  int64_t channels = 0;
  for (const Shape& s : in) {
    CUSEG_CHECK(s.rank() == 4, where(), ": input ", s.str(), " is not NHWC");
    CUSEG_CHECK(s[0] == in[0][0] && s[1] == in[0][1] && s[2] == in[0][2], where(), ": inputs ", in[0].str(), " and ",
                s.str(), " differ outside the channels");
    channels += s[3];
  }
  return Shape{in[0][0], in[0][1], in[0][2], channels};
}

void Concat::forward(const std::vector<Tensor>& in, Tensor& out) { concat_channels(in, out, backend_); }

void Concat::backward(const std::vector<Tensor>& in, const Tensor&, const Tensor& dout, std::vector<Tensor>& din) {
  std::vector<Tensor> parts;
  for (size_t i = 0; i < in.size(); ++i)
    parts.push_back(din[i].defined() ? din[i] : Tensor::empty(in[i].shape(), in[i].dtype(), in[i].device()));
  split_channels(dout, parts, backend_);
}

// ---- Add ---------------------------------------------------------------------------------------

Shape Add::output_shape(const std::vector<Shape>& in) const {
  CUSEG_CHECK(in.size() == 2, where(), ": expects 2 inputs, got ", in.size());
  CUSEG_CHECK(in[0] == in[1], where(), ": inputs ", in[0].str(), " and ", in[1].str(), " differ");
  return in[0];
}

void Add::forward(const std::vector<Tensor>& in, Tensor& out) {
  add(in[0], in[1], out, backend_);
  if (relu_) activation_forward(out, out, ActivationParams{ActivationKind::Relu}, backend_);
}

void Add::backward(const std::vector<Tensor>&, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) {
  // Both inputs receive the gradient of the sum: ReLU's, where it follows, else dout itself.
  Tensor dsum = dout;
  if (relu_) {
    const size_t first = din[0].defined() ? 0 : 1;
    dsum = din[first].defined() ? din[first] : Tensor::empty(dout.shape(), dout.dtype(), dout.device());
    activation_backward(out, dout, dsum, ActivationParams{ActivationKind::Relu}, backend_);
  }
  for (Tensor& d : din)
    if (d.defined() && d.raw_data() != dsum.raw_data()) d.copy_from(dsum);
}

// ---- Upsample (resizing to a scale, a size or a second input's size), AdaptiveAvgPool2d ----------

Upsample::Upsample(const std::string& name, UpsampleMode mode, SizeFrom from, int scale, int height, int width)
    : Layer(name), mode_(mode), from_(from), scale_(scale), height_(height), width_(width) {
  CUSEG_CHECK(from != SizeFrom::Scale || scale >= 1, where(), ": scale ", scale, " must be at least 1");
  CUSEG_CHECK(from != SizeFrom::Fixed || (height >= 1 && width >= 1), where(), ": output size ", height, "x", width,
              " must be at least 1x1");
}

Upsample::Upsample(const std::string& name, UpsampleMode mode, int scale)
    : Upsample(name, mode, SizeFrom::Scale, scale, 0, 0) {}

Upsample::Upsample(const std::string& name, UpsampleMode mode, int height, int width)
    : Upsample(name, mode, SizeFrom::Fixed, 0, height, width) {}

std::unique_ptr<Upsample> Upsample::like(const std::string& name, UpsampleMode mode) {
  return std::unique_ptr<Upsample>(new Upsample(name, mode, SizeFrom::SecondInput, 0, 0, 0));
}

std::string Upsample::kind() const {
  switch (mode_) {
    case UpsampleMode::Nearest: return "UpsampleNearest";
    case UpsampleMode::Bilinear: return "UpsampleBilinear";
    case UpsampleMode::BilinearAlignCorners: return "UpsampleBilinearAlignCorners";
  }
  return "Upsample";
}

Shape Upsample::output_shape(const std::vector<Shape>& in) const {
  if (from_ == SizeFrom::SecondInput) {
    CUSEG_CHECK(in.size() == 2, where(), ": expects 2 inputs (the tensor and the one whose size it takes), got ",
                in.size());
    CUSEG_CHECK(in[0].rank() == 4 && in[1].rank() == 4, where(), ": inputs ", in[0].str(), " and ", in[1].str(),
                " are not both NHWC");
    CUSEG_CHECK(in[0][0] == in[1][0], where(), ": inputs ", in[0].str(), " and ", in[1].str(), " differ in batch");
    return Shape{in[0][0], in[1][1], in[1][2], in[0][3]};
  }
  expect_image(where(), in, -1);
  if (from_ == SizeFrom::Fixed) return Shape{in[0][0], height_, width_, in[0][3]};
  return Shape{in[0][0], in[0][1] * scale_, in[0][2] * scale_, in[0][3]};
}

void Upsample::forward(const std::vector<Tensor>& in, Tensor& out) { upsample_forward(in[0], out, mode_, backend_); }

void Upsample::backward(const std::vector<Tensor>&, const Tensor&, const Tensor& dout, std::vector<Tensor>& din) {
  if (din[0].defined()) upsample_backward(dout, din[0], mode_, backend_);
  if (din.size() > 1 && din[1].defined()) din[1].fill(0);  // only its size was read
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(const std::string& name, int height, int width)
    : Layer(name), height_(height), width_(width) {
  CUSEG_CHECK(height >= 1 && width >= 1, where(), ": output size ", height, "x", width, " must be at least 1x1");
}

Shape AdaptiveAvgPool2d::output_shape(const std::vector<Shape>& in) const {
  expect_image(where(), in, -1);
  return Shape{in[0][0], height_, width_, in[0][3]};
}

void AdaptiveAvgPool2d::forward(const std::vector<Tensor>& in, Tensor& out) {
  adaptive_avg_pool2d_forward(in[0], out, backend_);
}

void AdaptiveAvgPool2d::backward(const std::vector<Tensor>&, const Tensor&, const Tensor& dout,
                                 std::vector<Tensor>& din) {
  if (din[0].defined()) adaptive_avg_pool2d_backward(dout, din[0], backend_);
}

// ---- GroupNorm --------------------------------------------------------------------------------

GroupNorm::GroupNorm(const std::string& name, int channels, const GroupNormParams& p, bool relu)
    : Layer(name), p_(p), channels_(channels), relu_(relu) {
  CUSEG_CHECK(p.groups > 0 && channels % p.groups == 0, "GroupNorm '", name, "': ", channels,
              " channels do not split into ", p.groups, " groups");
  gamma_ = &add_parameter("weight", Shape{channels}, true);
  beta_ = &add_parameter("bias", Shape{channels}, true);
  gamma_->value.fill(1.0);
}

Shape GroupNorm::output_shape(const std::vector<Shape>& in) const {
  expect_image(where(), in, channels_);
  return in[0];
}

void GroupNorm::forward(const std::vector<Tensor>& in, Tensor& out) {
  const Shape stats{in[0].dim(0), p_.groups};
  if (!save_mean_.defined() || !(save_mean_.shape() == stats) || save_mean_.device() != in[0].device() ||
      save_mean_.dtype() != in[0].dtype()) {
    save_mean_ = Tensor::empty(stats, in[0].dtype(), in[0].device());
    save_invstd_ = Tensor::empty(stats, in[0].dtype(), in[0].device());
  }
  (relu_ ? group_norm_relu_forward : group_norm_forward)(in[0], gamma_->value, beta_->value, out, save_mean_,
                                                         save_invstd_, p_, backend_);
}

void GroupNorm::backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout,
                         std::vector<Tensor>& din) {
  Tensor dx = din[0].defined() ? din[0] : Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());
  if (relu_)
    group_norm_relu_backward(in[0], out, dout, gamma_->value, save_mean_, save_invstd_, dx, gamma_->grad,
                             beta_->grad, p_, backend_);
  else
    group_norm_backward(in[0], dout, gamma_->value, save_mean_, save_invstd_, dx, gamma_->grad, beta_->grad, p_,
                        backend_);
}

// ---- Broadcast product ----------------------------------------------------------------------

Shape Multiply::output_shape(const std::vector<Shape>& in) const {
  CUSEG_CHECK(in.size() == 2, where(), ": expects 2 inputs (x, s), got ", in.size());
  try {
    return multiply_output_shape(in[0], in[1]);
  } catch (const Error& e) {
    throw_error(str_cat(where(), ": ", e.what()));
  }
}

void Multiply::forward(const std::vector<Tensor>& in, Tensor& out) { multiply_forward(in[0], in[1], out, backend_); }

void Multiply::backward(const std::vector<Tensor>& in, const Tensor&, const Tensor& dout, std::vector<Tensor>& din) {
  if (din[0].defined() || din[1].defined()) multiply_backward(in[0], in[1], dout, din[0], din[1], backend_);
}

}  // namespace cuseg
