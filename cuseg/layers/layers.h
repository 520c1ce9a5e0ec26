// The concrete layers a U-Net is made of. Each wraps the kernels of its op family; shapes are
// NHWC, weights KRSC (see kernels/conv2d.h for transposed convolution's [Ci, R, S, Co]).
// Parameters start as PyTorch's defaults (convolution: kaiming_uniform with a = √5 and bias
// U(±1/√fan_in); batch norm: γ = 1, β = 0), drawn from `seed`.
#pragma once

#include "cuseg/dist/communicator.h"
#include "cuseg/kernels/activation.h"
#include "cuseg/kernels/batch_norm.h"
#include "cuseg/kernels/conv2d.h"
#include "cuseg/kernels/dropout.h"
#include "cuseg/kernels/multiply.h"
#include "cuseg/kernels/pool2d.h"
#include "cuseg/kernels/upsample.h"
#include "cuseg/layers/layer.h"

namespace cuseg {

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

// Dropout draws a fresh mask each training forward (the Philox offset advances by the tensor's
// size); in evaluation it passes its input through.
class Dropout : public Layer {
 public:
  Dropout(const std::string& name, double p, uint64_t seed) : Layer(name), p_{p, seed, 0} {}
  std::string kind() const override { return "Dropout"; }
  Shape output_shape(const std::vector<Shape>& in) const override { return in.at(0); }
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;
  uint64_t offset() const { return p_.offset; }
  void set_offset(uint64_t offset) { p_.offset = offset; }
  // Data parallelism: this process's rows are part `part` of `parts` equal parts of the batch.
  // Its mask is then that part of the mask one process would draw for the whole batch, and the
  // offset advances by the whole batch's size, as there.
  void set_part(int part, int parts) { part_ = part, parts_ = parts; }

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

class Upsample : public Layer {
 public:
  Upsample(const std::string& name, UpsampleMode mode, int scale) : Layer(name), mode_(mode), scale_(scale) {}
  std::string kind() const override { return mode_ == UpsampleMode::Nearest ? "UpsampleNearest" : "UpsampleBilinear"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const std::vector<Tensor>& in, Tensor& out) override;
  void backward(const std::vector<Tensor>& in, const Tensor& out, const Tensor& dout, std::vector<Tensor>& din) override;
  UpsampleMode mode() const { return mode_; }
  int scale() const { return scale_; }

 private:
  UpsampleMode mode_;
  int scale_;
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

}  // namespace cuseg
