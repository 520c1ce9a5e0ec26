#include "cuseg/kernels/cpu/elementwise_loss.h"

#include "cuseg/kernels/elementwise_loss_math.h"

namespace cuseg::cpu {

template <class T>
void elementwise_loss_forward(const T* x, const T* t, const T* pos_weight, T* loss, int64_t n, int channels,
                              const ElementwiseLossParams& p) {
  double sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T pw = pos_weight ? pos_weight[i % channels] : T(1);
    sum += double(elementwise_loss_value(p.kind, x[i], t[i], pw, T(p.beta)));
  }
  *loss = T(sum / double(n));
}

template <class T>
void elementwise_loss_backward(const T* x, const T* t, const T* pos_weight, T* dx, int64_t n, int channels,
                               double loss_grad, const ElementwiseLossParams& p) {
  const T scale = T(loss_grad / double(n));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T pw = pos_weight ? pos_weight[i % channels] : T(1);
    dx[i] = scale * elementwise_loss_derivative(p.kind, x[i], t[i], pw, T(p.beta));
  }
}

#define CUSEG_INSTANTIATE(T)                                                                                     \
  template void elementwise_loss_forward<T>(const T*, const T*, const T*, T*, int64_t, int,                       \
                                            const ElementwiseLossParams&);                                      \
  template void elementwise_loss_backward<T>(const T*, const T*, const T*, T*, int64_t, int, double,             \
                                             const ElementwiseLossParams&);
CUSEG_INSTANTIATE(float)
CUSEG_INSTANTIATE(double)
#undef CUSEG_INSTANTIATE

}  // namespace cuseg::cpu
