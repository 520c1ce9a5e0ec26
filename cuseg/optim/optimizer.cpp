#include "cuseg/optim/optimizer.h"

#include <cmath>
#include <set>

#include "cuseg/config.h"
#include "cuseg/kernels/dispatch.h"
#include "cuseg/optim/cpu/fused_update.h"
#include "cuseg/optim/step_health.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/optim/fast/fused_update.h"
#endif
#if CUSEG_HAS_CUDA
#include "cuseg/optim/cuda/fused_update.h"
#endif

namespace cuseg {

OptimizerConfig OptimizerConfig::named(const std::string& name) {
  OptimizerConfig c;
  if (name == "sgd") return c;
  if (name == "momentum") {
    c.momentum = 0.9;
    return c;
  }
  if (name == "nesterov") {
    c.momentum = 0.9;
    c.nesterov = true;
    return c;
  }
  if (name == "adagrad") {
    c.kind = OptimizerKind::Adagrad;
    c.eps = 1e-10;
    return c;
  }
  if (name == "rmsprop") {
    c.kind = OptimizerKind::Rmsprop;
    return c;
  }
  if (name == "adam" || name == "adamw") {
    c.kind = OptimizerKind::Adam;
    if (name == "adamw") c.weight_decay = 1e-2;
    return c;
  }
  throw_error("optimizer: unknown optimizer '" + name + "' (sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw)");
}

void OptimizerConfig::validate() const {
  auto check = [](bool ok, const char* what, double v) { CUSEG_CHECK(ok, "optimizer: ", what, " = ", v, " is out of range"); };
  check(std::isfinite(momentum) && momentum >= 0, "momentum", momentum);
  check(std::isfinite(dampening) && dampening >= 0 && dampening <= 1, "dampening", dampening);
  CUSEG_CHECK(!nesterov || (momentum > 0 && dampening == 0), "optimizer: Nesterov needs momentum > 0 and dampening 0");
  check(std::isfinite(lr_decay) && lr_decay >= 0, "lr_decay", lr_decay);
  check(std::isfinite(alpha) && alpha >= 0 && alpha <= 1, "alpha", alpha);
  check(std::isfinite(beta1) && beta1 >= 0 && beta1 < 1, "beta1", beta1);
  check(std::isfinite(beta2) && beta2 >= 0 && beta2 < 1, "beta2", beta2);
  check(std::isfinite(eps) && eps > 0, "eps", eps);
  check(std::isfinite(weight_decay) && weight_decay >= 0, "weight_decay", weight_decay);
  check(std::isfinite(max_grad_norm) && max_grad_norm >= 0, "max_grad_norm", max_grad_norm);
  penalty.validate();
}

const char* state_name(const OptimizerConfig& c, int slot) {
  switch (c.kind) {
    case OptimizerKind::Sgd: return slot == 0 && c.momentum != 0 ? "momentum_buffer" : nullptr;
    case OptimizerKind::Adagrad: return slot == 0 ? "sum" : nullptr;
    case OptimizerKind::Rmsprop:
      if (slot == 0) return "square_avg";
      if (slot == 1) return c.centered ? "grad_avg" : nullptr;
      return c.momentum != 0 ? "momentum_buffer" : nullptr;
    case OptimizerKind::Adam: return slot == 0 ? "exp_avg" : slot == 1 ? "exp_avg_sq" : nullptr;
  }
  return nullptr;
}

struct Optimizer::GpuState {
#if CUSEG_HAS_CUDA
  std::unique_ptr<cuda::FusedUpdate> update;
#endif
};

Optimizer::Optimizer(const OptimizerConfig& config, std::vector<ParamRef> params, std::vector<ParamGroupSpec> specs)
    : config_(config) {
  config_.validate();
  CUSEG_CHECK(!params.empty(), "optimizer: no parameters");
  const Tensor first = params.front().value;  // a copy: params are moved from below
  std::set<std::string> names;
  for (const ParamRef& p : params) {
    CUSEG_CHECK(p.value.defined() && p.grad.defined(), "optimizer: parameter '", p.name, "' or its gradient is undefined");
    CUSEG_CHECK(names.insert(p.name).second, "optimizer: parameter name '", p.name, "' appears twice");
    CUSEG_CHECK(p.value.dtype() == DType::F32 || (p.value.dtype() == DType::F64 && p.value.device().is_cpu()),
                "optimizer: parameter '", p.name, "' is ", p.value.str(), " (f32, or f64 on the CPU)");
    CUSEG_CHECK(p.value.device() == first.device() && p.value.dtype() == first.dtype(), "optimizer: parameter '",
                p.name, "' is ", p.value.str(), " but '", params.front().name, "' is ", first.str());
    CUSEG_CHECK(p.grad.shape() == p.value.shape() && p.grad.dtype() == p.value.dtype() &&
                    p.grad.device() == p.value.device(),
                "optimizer: gradient ", p.grad.str(), " of '", p.name, "' does not match ", p.value.str());
  }

  // Explicit groups first, then the defaults for whatever they leave.
  std::map<std::string, int> group_of_param;
  for (const ParamGroupSpec& spec : specs) {
    Group g{spec.name, spec.penalty.value_or(config_.penalty), spec.weight_decay.value_or(config_.weight_decay),
            spec.lr_scale};
    g.penalty.validate();
    CUSEG_CHECK(std::isfinite(g.weight_decay) && g.weight_decay >= 0, "optimizer: group '", spec.name,
                "' weight_decay ", g.weight_decay, " must be ≥ 0");
    CUSEG_CHECK(std::isfinite(g.lr_scale) && g.lr_scale >= 0, "optimizer: group '", spec.name, "' lr_scale ",
                g.lr_scale, " must be ≥ 0");
    for (const Group& other : groups_)
      CUSEG_CHECK(other.name != spec.name, "optimizer: group name '", spec.name, "' appears twice");
    const int index = int(groups_.size());
    groups_.push_back(g);
    for (const std::string& name : spec.params) {
      CUSEG_CHECK(names.count(name), "optimizer: group '", spec.name, "' names unknown parameter '", name, "'");
      auto [it, fresh] = group_of_param.emplace(name, index);
      CUSEG_CHECK(fresh, "optimizer: parameter '", name, "' is in two groups ('", groups_[size_t(it->second)].name,
                  "' and '", spec.name, "')");
    }
  }
  auto default_group = [&](bool decay) {
    const std::string name = decay ? "decay" : "no_decay";
    for (size_t i = 0; i < groups_.size(); ++i)
      if (groups_[i].name == name) return int(i);
    groups_.push_back(decay ? Group{name, config_.penalty, config_.weight_decay, 1.0} : Group{name, Penalty::none(), 0, 1.0});
    return int(groups_.size() - 1);
  };
  for (ParamRef& p : params) {
    Slot slot;
    auto it = group_of_param.find(p.name);
    slot.group = it != group_of_param.end() ? it->second : default_group(p.value.rank() >= 2 && !p.no_decay);
    for (int k = 0; k < 3; ++k)
      if (state_name(config_, k)) slot.state[k] = Tensor::zeros(p.value.shape(), p.value.dtype(), p.value.device());
    slot.param = std::move(p);
    slots_.push_back(std::move(slot));
  }
  CUSEG_CHECK(groups_.size() <= size_t(kMaxParamGroups), "optimizer: ", groups_.size(), " parameter groups, at most ",
              kMaxParamGroups);

  gpu_ = std::make_unique<GpuState>();
  if (first.device().is_cuda()) {
#if CUSEG_HAS_CUDA
    gpu_->update = std::make_unique<cuda::FusedUpdate>(slots_, first.device().index);
#endif
  }
  if (config_.max_grad_norm > 0) {
    grad_scale_ = Tensor::zeros(Shape{1}, DType::F32, first.device());
    grad_norm_ = Tensor::zeros(Shape{1}, DType::F32, first.device());
  }
}

Optimizer::~Optimizer() = default;

namespace {

template <class T>
StepHyper<T> hyper_for(const OptimizerConfig& c, const Optimizer::Group& g, double lr, int64_t t) {
  const Penalty& p = g.penalty;
  const bool prox = p.l1_mode == L1Mode::Proximal;
  StepHyper<T> h{};
  h.lr = T(lr * g.lr_scale);
  h.l1_grad = T(prox ? 0 : p.l1);
  h.l1_prox = T(prox ? p.l1 : 0);
  h.l2 = T(p.l2);
  h.huber = T(p.huber);
  h.huber_beta = T(p.beta);
  h.decay = T(g.weight_decay);
  h.momentum = T(c.momentum);
  h.dampening = T(c.dampening);
  h.nesterov = c.nesterov;
  h.first_step = t == 1;
  h.eps = T(c.eps);
  h.alpha = T(c.alpha);
  h.centered = c.centered;
  h.clr = T(lr * g.lr_scale / (1 + double(t - 1) * c.lr_decay));
  h.beta1 = T(c.beta1);
  h.beta2 = T(c.beta2);
  h.step_size = T(lr * g.lr_scale / (1 - std::pow(c.beta1, double(t))));
  h.bias2_sqrt = T(std::sqrt(1 - std::pow(c.beta2, double(t))));
  return h;
}

template <class T>
std::vector<StepHyper<T>> hypers_for(const OptimizerConfig& c, const std::vector<Optimizer::Group>& groups, double lr,
                                     int64_t t) {
  std::vector<StepHyper<T>> out;
  for (const Optimizer::Group& g : groups) out.push_back(hyper_for<T>(c, g, lr, t));
  return out;
}

}  // namespace

void Optimizer::step(double lr, double grad_scale) {
  CUSEG_CHECK(std::isfinite(lr) && lr >= 0, "optimizer: learning rate ", lr, " must be ≥ 0");
  CUSEG_CHECK(std::isfinite(grad_scale) && grad_scale > 0, "optimizer: gradient scale ", grad_scale, " must be > 0");
  ++steps_;
  last_lr_ = lr;
  const Tensor& first = slots_.front().param.value;
  if (first.device().is_cpu()) {
    const bool fast =
        detail::choose_impl("optimizer step", first.device(), first.dtype(), backend_, true, false) == detail::Impl::Fast;
    double scale = grad_scale;
    if (config_.max_grad_norm > 0) {
      double norm = 0;
      if (fast)
        CUSEG_IF_ONEDNN(norm = fast::global_grad_norm(slots_));
      else
        norm = cpu::global_grad_norm(slots_);
      norm *= grad_scale;
      scale *= std::min(1.0, config_.max_grad_norm / (norm + 1e-6));
      grad_norm_.fill(norm);
    }
    if (fast) {
      CUSEG_IF_ONEDNN(
          fast::fused_update(config_.kind, slots_, hypers_for<float>(config_, groups_, lr, steps_), float(scale)));
    } else if (first.dtype() == DType::F64) {
      cpu::fused_update<double>(config_.kind, slots_, hypers_for<double>(config_, groups_, lr, steps_), scale);
    } else {
      cpu::fused_update<float>(config_.kind, slots_, hypers_for<float>(config_, groups_, lr, steps_), float(scale));
    }
    return;
  }
#if CUSEG_HAS_CUDA
  const float* scale_on_device = nullptr;
  if (config_.max_grad_norm > 0) {
    gpu_->update->clip_scale(float(grad_scale), float(config_.max_grad_norm), grad_norm_.data<float>(),
                                grad_scale_.data<float>());
    scale_on_device = grad_scale_.data<float>();
  }
  gpu_->update->step(config_.kind, hypers_for<float>(config_, groups_, lr, steps_), float(grad_scale),
                        scale_on_device);
#endif
}

void Optimizer::stage(double lr) {
  CUSEG_CHECK(std::isfinite(lr) && lr >= 0, "optimizer: learning rate ", lr, " must be ≥ 0");
  CUSEG_CHECK(slots_.front().param.value.device().is_cuda(), "optimizer: a staged step is for GPU parameters");
  ++steps_;
  last_lr_ = lr;
#if CUSEG_HAS_CUDA
  gpu_->update->stage(hypers_for<float>(config_, groups_, lr, steps_));
#endif
}

void Optimizer::step_staged(const float* loss, StepHealth* health) {
  CUSEG_CHECK(slots_.front().param.value.device().is_cuda(), "optimizer: a staged step is for GPU parameters");
#if CUSEG_HAS_CUDA
  gpu_->update->check_finite(loss, health);
  const float* scale_on_device = nullptr;
  if (config_.max_grad_norm > 0) {
    gpu_->update->clip_scale(1.f, float(config_.max_grad_norm), grad_norm_.data<float>(), grad_scale_.data<float>());
    scale_on_device = grad_scale_.data<float>();
  }
  gpu_->update->step_staged(config_.kind, 1.f, scale_on_device, &health->skip);
#else
  (void)loss;
  (void)health;
#endif
}

double Optimizer::last_grad_norm() const {
  CUSEG_CHECK(grad_norm_.defined(), "optimizer: the gradient norm is measured only when clipping is on");
  return grad_norm_.to(DType::F64).to_vector<double>()[0];
}

std::map<std::string, Tensor> Optimizer::state() const {
  std::map<std::string, Tensor> out;
  for (const Slot& s : slots_)
    for (int k = 0; k < 3; ++k)
      if (s.state[k].defined()) out[s.param.name + "." + state_name(config_, k)] = s.state[k];
  out["optimizer.steps"] = Tensor::full(Shape{1}, double(steps_), DType::F64);
  return out;
}

void Optimizer::load_state(const std::map<std::string, Tensor>& state) {
  const std::map<std::string, Tensor> expected = this->state();
  for (const auto& [name, t] : state)
    CUSEG_CHECK(expected.count(name), "optimizer: state '", name, "' does not belong to this optimizer");
  for (const auto& [name, want] : expected) {
    auto it = state.find(name);
    CUSEG_CHECK(it != state.end(), "optimizer: state '", name, "' is missing");
    CUSEG_CHECK(it->second.shape() == want.shape() && it->second.dtype() == want.dtype(), "optimizer: state '", name,
                "' is ", it->second.str(), ", expected ", want.str());
  }
  for (Slot& s : slots_)
    for (int k = 0; k < 3; ++k)
      if (s.state[k].defined()) s.state[k].copy_from(state.at(s.param.name + "." + state_name(config_, k)));
  const double steps = state.at("optimizer.steps").to_vector<double>()[0];
  CUSEG_CHECK(steps >= 0 && steps == std::floor(steps), "optimizer: optimizer.steps = ", steps, " is not a count");
  steps_ = int64_t(steps);
}

double Optimizer::penalty_value() const {
  double total = 0;
  for (const Slot& s : slots_) total += groups_[size_t(s.group)].penalty.value(s.param.value);
  return total;
}

std::vector<ParamStats> Optimizer::stats() const {
  std::vector<ParamStats> out;
  for (const Slot& s : slots_) {
    const Group& g = groups_[size_t(s.group)];
    const std::vector<double> v = s.param.value.to(Device::cpu()).to(DType::F64).to_vector<double>();
    ParamStats st;
    st.name = s.param.name;
    st.group = g.name;
    st.numel = int64_t(v.size());
    double sq = 0;
    for (double e : v) {
      st.zeros += e == 0;
      st.l1 += std::abs(e);
      sq += e * e;
    }
    st.l2 = std::sqrt(sq);
    st.zero_fraction = st.numel ? double(st.zeros) / double(st.numel) : 0;
    st.penalty = g.penalty.value(s.param.value);
    out.push_back(st);
  }
  return out;
}

std::string Optimizer::group_of(const std::string& param) const {
  for (const Slot& s : slots_)
    if (s.param.name == param) return groups_[size_t(s.group)].name;
  throw_error("optimizer: no parameter '" + param + "'");
}

}  // namespace cuseg
