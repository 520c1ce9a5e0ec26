// The concrete layers a U-Net is made of. Each wraps the kernels of its op family; shapes are
// NHWC, weights KRSC (see kernels/conv2d.h for transposed convolution's [Ci, R, S, Co]).
// Parameters start as PyTorch's defaults (convolution: kaiming_uniform with a = √5 and bias
// U(±1/√fan_in); batch norm: γ = 1, β = 0), drawn from `seed`.
#pragma once

#include "cuseg/dist/communicator.h"
#include "cuseg/kernels/activation.h"
#include "cuseg/kernels/adaptive_pool2d.h"
#include "cuseg/kernels/batch_norm.h"
#include "cuseg/kernels/conv2d.h"
#include "cuseg/kernels/dropout.h"
#include "cuseg/kernels/group_norm.h"
#include "cuseg/kernels/multiply.h"
#include "cuseg/kernels/pool2d.h"
#include "cuseg/kernels/upsample.h"
#include "cuseg/layers/layer.h"

namespace cuseg {

// Groups (depthwise: groups = in_channels) and asymmetric padding come with the params; the
// weight is [out_channels, kernel, kernel, in_channels / groups].
class Conv2d : public Layer {
 public:
  Conv2d(const std::string& name, int in_channels, int out_channels, int kernel, const Conv2dParams& p, bool bias,
         uint64_t seed);
  std::string kind() const override { return "Conv2d"; }
  void set_precision(Precision precision) override { p_.precision = precision; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  double flops(const std::vector<Shape>& in) const override;
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;
  const Conv2dParams& params() const { return p_; }
  const Tensor& weight() const { return weight_->value; }
  const Tensor* bias() const { return bias_ ? &bias_->value : nullptr; }

 private:
  Conv2dParams p_;
  Parameter* weight_;
  Parameter* bias_ = nullptr;
};

class ConvTranspose2d : public Layer {
 public:
  ConvTranspose2d(const std::string& name, int in_channels, int out_channels, int kernel,
                  const ConvTranspose2dParams& p, bool bias, uint64_t seed);
  std::string kind() const override { return "ConvTranspose2d"; }
  void set_precision(Precision precision) override { p_.precision = precision; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  double flops(const std::vector<Shape>& in) const override;
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;
  const ConvTranspose2dParams& params() const { return p_; }
  const Tensor& weight() const { return weight_->value; }
  const Tensor* bias() const { return bias_ ? &bias_->value : nullptr; }

 private:
  ConvTranspose2dParams p_;
  Parameter* weight_;
  Parameter* bias_ = nullptr;
};

// With `relu`, batch norm followed by ReLU in one layer (kernels/batch_norm.h's fused ops): the
// tensor between the two is never stored, which saves one activation per block in training.
class BatchNorm2d : public Layer {
 public:
  BatchNorm2d(const std::string& name, int channels, const BatchNormParams& p = {}, bool relu = false);
  std::string kind() const override { return relu_ ? "BatchNorm2d+ReLU" : "BatchNorm2d"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;
  std::vector<std::pair<std::string, Tensor*>> buffers() override;
  const BatchNormParams& params() const { return p_; }
  bool relu() const { return relu_; }
  const Tensor& gamma() const { return gamma_->value; }
  const Tensor& beta() const { return beta_->value; }
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }
  // Training-mode statistics over every rank's batch (dist/sync_batch_norm.h) when `ranks` has
  // more than one; null: this process's batch alone.
  void synchronize(std::shared_ptr<Communicator> ranks) { ranks_ = std::move(ranks); }
  bool synchronized() const { return ranks_ && ranks_->size() > 1; }

 private:
  BatchNormParams p_;
  int channels_;
  bool relu_;
  std::shared_ptr<Communicator> ranks_;
  double sync_count_ = 0;  // the global elements per channel of the last synchronized forward
  Parameter* gamma_;
  Parameter* beta_;
  Tensor running_mean_, running_var_, save_mean_, save_invstd_;
};

class Activation : public Layer {
 public:
  Activation(const std::string& name, const ActivationParams& p) : Layer(name), p_(p) {}
  std::string kind() const override { return activation_name(p_.kind); }
  Shape output_shape(const std::vector<Shape>& in) const override { return in.at(0); }
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;
  const ActivationParams& params() const { return p_; }

 private:
  ActivationParams p_;
};

// Dropout draws a fresh mask each training forward (the Philox offset advances by the mask's
// size); in evaluation it passes its input through. Channel dropout and drop path (below) are
// Dropout with a coarser mask, so what holds its offset (checkpoints, data parallelism, the ONNX
// exporter's identity) holds theirs.
class Dropout : public Layer {
 public:
  Dropout(const std::string& name, double p, uint64_t seed) : Layer(name), p_{p, seed, 0} {}
  std::string kind() const override { return "Dropout"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;
  uint64_t offset() const { return p_.offset; }
  void set_offset(uint64_t offset) { p_.offset = offset; }
  double p() const { return p_.p; }
  // Data parallelism: this process's rows are part `part` of `parts` equal parts of the batch.
  // Its mask is then that part of the mask one process would draw for the whole batch, and the
  // offset advances by the whole batch's mask size, as there.
  void set_part(int part, int parts) { part_ = part, parts_ = parts; }

 protected:
  // The mask of an input of shape x, and the ops that draw and apply it: one value per element.
  virtual Shape mask_shape(const Shape& x) const { return x; }
  virtual void masked_forward(const Tensor& x, Tensor& y, Tensor& mask, const DropoutParams& p) {
    dropout_forward(x, y, mask, p, backend_);
  }
  virtual void masked_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, const DropoutParams& p) {
    dropout_backward(dy, mask, dx, p, backend_);
  }

 private:
  DropoutParams p_;
  int part_ = 0, parts_ = 1;
  DropoutParams last_;  // the draw the last forward used, for its backward
  Tensor mask_;
};

class Pool2d : public Layer {
 public:
  Pool2d(const std::string& name, bool max, const Pool2dParams& p) : Layer(name), max_(max), p_(p) {}
  std::string kind() const override { return max_ ? "MaxPool2d" : "AvgPool2d"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;
  bool is_max() const { return max_; }
  const Pool2dParams& params() const { return p_; }

 private:
  bool max_;
  Pool2dParams p_;
  Tensor argmax_;
};

// Resizing (kernels/upsample.h: nearest, bilinear, bilinear with aligned corners) to a size given
// one of three ways, as the networks ask for it:
//   Upsample(name, mode, scale)        H·scale × W·scale: nn.Upsample(scale_factor=s) and
//                                      F.interpolate(scale_factor=s) for the integer s they use
//   Upsample(name, mode, h, w)         a fixed h × w: F.interpolate(size=(h, w))
//   Upsample::like(name, mode)         two inputs, the first resized to the H × W of the second:
//                                      F.interpolate(x, size=skip.shape[-2:]); the second gives
//                                      only its size, so its gradient is zero
class Upsample : public Layer {
 public:
  enum class SizeFrom { Scale, Fixed, SecondInput };

  Upsample(const std::string& name, UpsampleMode mode, int scale);
  Upsample(const std::string& name, UpsampleMode mode, int height, int width);
  static std::unique_ptr<Upsample> like(const std::string& name, UpsampleMode mode);
  std::string kind() const override;
  int num_inputs() const override { return from_ == SizeFrom::SecondInput ? 2 : 1; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;
  UpsampleMode mode() const { return mode_; }
  SizeFrom size_from() const { return from_; }
  int scale() const { return scale_; }  // SizeFrom::Scale
  int height() const { return height_; }  // SizeFrom::Fixed
  int width() const { return width_; }

 private:
  Upsample(const std::string& name, UpsampleMode mode, SizeFrom from, int scale, int height, int width);
  UpsampleMode mode_;
  SizeFrom from_;
  int scale_, height_, width_;
};

// Adaptive average pooling to a fixed output size (kernels/adaptive_pool2d.h): nn.AdaptiveAvgPool2d
// ((h, w)); 1 × 1 is global average pooling.
class AdaptiveAvgPool2d : public Layer {
 public:
  AdaptiveAvgPool2d(const std::string& name, int height = 1, int width = 1);
  std::string kind() const override { return "AdaptiveAvgPool2d"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;
  int height() const { return height_; }
  int width() const { return width_; }
  bool is_global() const { return height_ == 1 && width_ == 1; }

 private:
  int height_, width_;
};

// Concatenates its inputs along channels; they must agree in N, H and W.
class Concat : public Layer {
 public:
  Concat(const std::string& name, int inputs) : Layer(name), inputs_(inputs) {}
  std::string kind() const override { return "Concat"; }
  int num_inputs() const override { return inputs_; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;

 private:
  int inputs_;
};

// The sum of two tensors of one shape (a residual connection), with ReLU in the same layer where
// `relu` (ResNet's blocks end so): the sum before the ReLU is never stored.
class Add : public Layer {
 public:
  explicit Add(const std::string& name, bool relu = false) : Layer(name), relu_(relu) {}
  std::string kind() const override { return relu_ ? "Add+ReLU" : "Add"; }
  int num_inputs() const override { return 2; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;
  bool relu() const { return relu_; }

 private:
  bool relu_;
};

// ---- GroupNorm, Dropout2d, DropPath: SMP's FPN decoder and EfficientNet's blocks ----------------

// nn.GroupNorm(groups, channels): statistics per sample and group, the same in training and
// evaluation; parameters "weight" (γ = 1) and "bias" (β = 0), PyTorch's state-dict keys. With
// `relu`, group norm followed by ReLU in one layer (kernels/group_norm.h's fused ops, FPN's
// Conv3x3GNReLU): the tensor between the two is never stored.
class GroupNorm : public Layer {
 public:
  GroupNorm(const std::string& name, int channels, const GroupNormParams& p = {}, bool relu = false);
  std::string kind() const override { return relu_ ? "GroupNorm+ReLU" : "GroupNorm"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;
  const GroupNormParams& params() const { return p_; }
  bool relu() const { return relu_; }
  const Tensor& gamma() const { return gamma_->value; }
  const Tensor& beta() const { return beta_->value; }

 private:
  GroupNormParams p_;
  int channels_;
  bool relu_;
  Parameter* gamma_;
  Parameter* beta_;
  Tensor save_mean_, save_invstd_;  // [N, G] of the last forward
};

// nn.Dropout2d: whole channels of each sample dropped (kernels/dropout.h), mask [N,1,1,C].
class Dropout2d : public Dropout {
 public:
  using Dropout::Dropout;
  std::string kind() const override { return "Dropout2d"; }

 protected:
  Shape mask_shape(const Shape& x) const override { return group_dropout_mask_shape(x, true); }
  void masked_forward(const Tensor& x, Tensor& y, Tensor& mask, const DropoutParams& p) override {
    dropout2d_forward(x, y, mask, p, backend_);
  }
  void masked_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, const DropoutParams& p) override {
    dropout2d_backward(dy, mask, dx, p, backend_);
  }
};

// Stochastic depth (EfficientNet's drop_connect, timm's DropPath): whole samples of a residual
// branch dropped (kernels/dropout.h), mask [N,1,1,1].
class DropPath : public Dropout {
 public:
  using Dropout::Dropout;
  std::string kind() const override { return "DropPath"; }

 protected:
  Shape mask_shape(const Shape& x) const override { return group_dropout_mask_shape(x, false); }
  void masked_forward(const Tensor& x, Tensor& y, Tensor& mask, const DropoutParams& p) override {
    drop_path_forward(x, y, mask, p, backend_);
  }
  void masked_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, const DropoutParams& p) override {
    drop_path_backward(dy, mask, dx, p, backend_);
  }
};

// ---- Broadcast product ----------------------------------------------------------------------

// y = x ⊙ s, inputs (x, s), s broadcast over the axes where it has 1 (kernels/multiply.h):
// s [N,1,1,C] is channel attention and squeeze-excitation's rescaling, s [N,H,W,1] spatial
// attention. Gradients go to both inputs.
class Multiply : public Layer {
 public:
  explicit Multiply(const std::string& name) : Layer(name) {}
  std::string kind() const override { return "Multiply"; }
  int num_inputs() const override { return 2; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;
};

// ---- A binary head as two classes (binary_logits.cpp) -------------------------------------------

// A network with one output channel z (segmentation_models_pytorch's classes=1: a sigmoid head)
// gives the logits (0, z) of two classes, background and foreground: softmax of them is
// (1 − σ(z), σ(z)), their argmax z > 0 (σ(z) > 0.5), and cross-entropy on them is binary
// cross-entropy with logits, so every loss, metric, prediction and export of K classes serves the
// binary head. Backward: dz = d(logits)[..., 1].
class BinaryLogits : public Layer {
 public:
  explicit BinaryLogits(const std::string& name) : Layer(name) {}
  std::string kind() const override { return "BinaryLogits"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;

 private:
  Tensor zeros_;  // the background's logits, kept for the next call of the same shape
};

}  // namespace cuseg
