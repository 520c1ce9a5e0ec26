// The activations element by element, for host and device: the CPU loops and the CUDA kernels
// share these definitions (kernels/activation.h states them).
#pragma once

#include "cuseg/core/hd_math.h"
#include "cuseg/kernels/activation.h"

namespace cuseg {

template <class T>
CUSEG_HD T activation_value(ActivationKind kind, T x, T slope) {
  switch (kind) {
    case ActivationKind::Relu: return x > T(0) ? x : T(0);
    case ActivationKind::LeakyRelu: return x > T(0) ? x : slope * x;
    case ActivationKind::Sigmoid: {
      // Never exponentiate a large positive number: e^−|x| ≤ 1.
      const T e = hd_exp(x < T(0) ? x : -x);
      return x < T(0) ? e / (T(1) + e) : T(1) / (T(1) + e);
    }
    case ActivationKind::Tanh: return hd_tanh(x);
    case ActivationKind::Relu6: return x > T(0) ? (x < T(6) ? x : T(6)) : T(0);
  }
  return x;
}

// dy/dx as a function of the output y.
template <class T>
CUSEG_HD T activation_derivative(ActivationKind kind, T y, T slope) {
  switch (kind) {
    case ActivationKind::Relu: return y > T(0) ? T(1) : T(0);
    case ActivationKind::LeakyRelu: return y > T(0) ? T(1) : slope;
    case ActivationKind::Sigmoid: return y * (T(1) - y);
    case ActivationKind::Tanh: return T(1) - y * y;
    case ActivationKind::Relu6: return y > T(0) && y < T(6) ? T(1) : T(0);
  }
  return T(1);
}

}  // namespace cuseg
