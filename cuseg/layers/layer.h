// Layers: one op (or a few) with its parameters and the state its backward needs. A layer reads
// one or more input tensors and writes one output; backward receives the output's gradient,
// assigns each input's gradient and accumulates (+=) its parameters' gradients.
//
// Layers never allocate their outputs: the Graph does, from output_shape(), so that it decides
// lifetimes and can let the device's memory pool reuse buffers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

struct Parameter {
  std::string name;        // stable, e.g. "enc0.conv1.weight"
  Tensor value, grad;      // grad: same shape, dtype and device; accumulated by backward
  bool no_decay = false;   // biases and normalization parameters: no penalty by default
};

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  virtual std::string kind() const = 0;  // "Conv2d", "BatchNorm2d", ...
  virtual int num_inputs() const { return 1; }

  // The output shape for these input shapes; throws cuseg::Error naming the layer when they do not fit.
  virtual Shape output_shape(const std::vector<Shape>& inputs) const = 0;
  // Multiply-adds × 2 of one forward at these input shapes.
  virtual double flops(const std::vector<Shape>& inputs) const { (void)inputs; return 0; }

  virtual void forward(const std::vector<Tensor>& inputs, Tensor& output) = 0;
  // dinputs[i] may be undefined: that input needs no gradient.
  virtual void backward(const std::vector<Tensor>& inputs, const Tensor& output, const Tensor& doutput,
                        std::vector<Tensor>& dinputs) = 0;

  std::vector<Parameter*> parameters();
  // Non-trained state saved with the model (batch norm's running statistics), by full name.
  virtual std::vector<std::pair<std::string, Tensor*>> buffers() { return {}; }

  void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }
  // Moves (converts) parameters, gradients and buffers to `device` (`dtype`).
  void to(Device device);
  void to(DType dtype);
  // Which implementation the layer's ops use (kernels/backend.h): on the CPU the fast path or
  // the reference, on the GPU cuseg's kernels or cuDNN where it has the op.
  void set_backend(Backend backend) { backend_ = backend; }
  // The arithmetic of the layer's convolutions (kernels/backend.h); layers without any ignore it.
  virtual void set_precision(Precision) {}

 protected:
  Parameter& add_parameter(const std::string& suffix, const Shape& shape, bool no_decay);
  std::string where() const { return str_cat(kind(), " '", name_, "'"); }  // for error messages

  std::vector<std::unique_ptr<Parameter>> params_;
  bool training_ = true;
  Backend backend_ = Backend::Auto;

 private:
  std::string name_;
};

}  // namespace cuseg
