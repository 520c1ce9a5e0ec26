#include "cuseg/optim/cpu/fused_update.h"

#include <cmath>

namespace cuseg::cpu {

namespace {

// One instantiation per optimizer kind, so the rule's switch folds away and the loop body is
// straight-line code the compiler can vectorize.
template <OptimizerKind Kind, class T>
void update_tensor(const StepHyper<T>& h, T scale, T* w, const T* g, T* s0, T* s1, T* s2, int64_t n) {
  T unused = T(0);
#pragma omp parallel for schedule(static) firstprivate(unused)
  for (int64_t i = 0; i < n; ++i)
    update_element(Kind, h, scale, w[i], g[i], s0 ? s0 + i : &unused, s1 ? s1 + i : &unused, s2 ? s2 + i : &unused);
}

}  // namespace

template <class T>
void fused_update(OptimizerKind kind, const std::vector<Optimizer::Slot>& slots,
                  const std::vector<StepHyper<T>>& hypers, T scale) {
  for (const Optimizer::Slot& slot : slots) {
    const StepHyper<T>& h = hypers[size_t(slot.group)];
    T* s[3];
    for (int k = 0; k < 3; ++k) s[k] = slot.state[k].defined() ? slot.state[k].data<T>() : nullptr;
    T* w = slot.param.value.data<T>();
    const T* g = slot.param.grad.data<T>();
    const int64_t n = slot.param.value.numel();
    switch (kind) {
      case OptimizerKind::Sgd: update_tensor<OptimizerKind::Sgd>(h, scale, w, g, s[0], s[1], s[2], n); break;
      case OptimizerKind::Adagrad: update_tensor<OptimizerKind::Adagrad>(h, scale, w, g, s[0], s[1], s[2], n); break;
      case OptimizerKind::Rmsprop: update_tensor<OptimizerKind::Rmsprop>(h, scale, w, g, s[0], s[1], s[2], n); break;
      case OptimizerKind::Adam: update_tensor<OptimizerKind::Adam>(h, scale, w, g, s[0], s[1], s[2], n); break;
    }
  }
}

double global_grad_norm(const std::vector<Optimizer::Slot>& slots) {
  double sum = 0;
  for (const Optimizer::Slot& slot : slots) {
    const Tensor& g = slot.param.grad;
    const int64_t n = g.numel();
    if (g.dtype() == DType::F64) {
      const double* p = g.data<double>();
#pragma omp parallel for reduction(+ : sum) schedule(static)
      for (int64_t i = 0; i < n; ++i) sum += p[i] * p[i];
    } else {
      const float* p = g.data<float>();
#pragma omp parallel for reduction(+ : sum) schedule(static)
      for (int64_t i = 0; i < n; ++i) sum += double(p[i]) * double(p[i]);
    }
  }
  return std::sqrt(sum);
}

template void fused_update<float>(OptimizerKind, const std::vector<Optimizer::Slot>&,
                                  const std::vector<StepHyper<float>>&, float);
template void fused_update<double>(OptimizerKind, const std::vector<Optimizer::Slot>&,
                                   const std::vector<StepHyper<double>>&, double);

}  // namespace cuseg::cpu
