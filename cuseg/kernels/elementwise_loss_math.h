// The elementwise losses, value and derivative per element, for host and device.
#pragma once

#include "cuseg/core/hd_math.h"
#include "cuseg/kernels/activation_math.h"
#include "cuseg/kernels/elementwise_loss.h"

namespace cuseg {

template <class T>
CUSEG_HD T elementwise_loss_value(ElementwiseLossKind kind, T x, T t, T pw, T beta) {
  switch (kind) {
    case ElementwiseLossKind::Bce: {
      const T ax = x < T(0) ? -x : x;
      return (T(1) - t) * x + (T(1) + (pw - T(1)) * t) * (hd_log1p(hd_exp(-ax)) + (x < T(0) ? -x : T(0)));
    }
    case ElementwiseLossKind::Mse: return (x - t) * (x - t);
    case ElementwiseLossKind::SmoothL1: {
      const T d = x - t, a = d < T(0) ? -d : d;
      return a < beta ? T(0.5) * d * d / beta : a - T(0.5) * beta;
    }
  }
  return T(0);
}

template <class T>
CUSEG_HD T elementwise_loss_derivative(ElementwiseLossKind kind, T x, T t, T pw, T beta) {
  switch (kind) {
    case ElementwiseLossKind::Bce:
      return activation_value(ActivationKind::Sigmoid, x, T(0)) * (pw * t + T(1) - t) - pw * t;
    case ElementwiseLossKind::Mse: return T(2) * (x - t);
    case ElementwiseLossKind::SmoothL1: {
      const T d = x - t, a = d < T(0) ? -d : d;
      return a < beta ? d / beta : T((d > T(0)) - (d < T(0)));
    }
  }
  return T(0);
}

}  // namespace cuseg
