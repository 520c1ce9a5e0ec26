#include "cuseg/layers/layer.h"

namespace cuseg {

std::vector<Parameter*> Layer::parameters() {
  std::vector<Parameter*> out;
  for (auto& p : params_) out.push_back(p.get());
  return out;
}

void Layer::to(Device device) {
  for (auto& p : params_) {
    p->value = p->value.to(device);
    p->grad = p->grad.to(device);
  }
  for (auto& [name, t] : buffers()) *t = t->to(device);
}

void Layer::to(DType dtype) {
  for (auto& p : params_) {
    p->value = p->value.to(dtype);
    p->grad = p->grad.to(dtype);
  }
  for (auto& [name, t] : buffers()) *t = t->to(dtype);
}

Parameter& Layer::add_parameter(const std::string& suffix, const Shape& shape, bool no_decay) {
  auto p = std::make_unique<Parameter>();
  p->name = name_ + "." + suffix;
  p->value = Tensor::zeros(shape);
  p->grad = Tensor::zeros(shape);
  p->no_decay = no_decay;
  params_.push_back(std::move(p));
  return *params_.back();
}

}  // namespace cuseg
