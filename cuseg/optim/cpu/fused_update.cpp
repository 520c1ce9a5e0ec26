#include "cuseg/optim/cpu/fused_update.h"

#include <cmath>

namespace cuseg::cpu {

template <class T>
void fused_update(OptimizerKind kind, const std::vector<Optimizer::Slot>& slots,
                  const std::vector<StepHyper<T>>& hypers, T scale) {
  for (const Optimizer::Slot& slot : slots) {
    const StepHyper<T>& h = hypers[size_t(slot.group)];
    T* w = slot.param.value.data<T>();
    const T* g = slot.param.grad.data<T>();
    T* s[3];
    for (int k = 0; k < 3; ++k) s[k] = slot.state[k].defined() ? slot.state[k].data<T>() : nullptr;
    const int64_t n = slot.param.value.numel();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i)
      update_element(kind, h, scale, w[i], g[i], s[0] ? s[0] + i : nullptr, s[1] ? s[1] + i : nullptr,
                     s[2] ? s[2] + i : nullptr);
  }
}

double global_grad_norm(const std::vector<Optimizer::Slot>& slots) {
  double sum = 0;
  for (const Optimizer::Slot& slot : slots) {
    const Tensor& g = slot.param.grad;
    const int64_t n = g.numel();
    if (g.dtype() == DType::f64) {
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
