// The activations element by element, for host and device: the CPU loops and the CUDA kernels
// share these definitions (kernels/activation.h states them).
#pragma once

#include "cuseg/core/hd_math.h"
#include "cuseg/kernels/activation.h"

namespace cuseg {

// σ(x) and 1 − σ(x), both from one e^−|x| ≤ 1: nothing overflows for large |x| of either sign,
// and 1 − σ(x) is not computed as a difference, which would cancel to 0 once σ rounds to 1.
template <class T>
struct SigmoidPair {
  T s, one_minus_s;
};
template <class T>
CUSEG_HD SigmoidPair<T> sigmoid_pair(T x) {
  const T e = hd_exp(x < T(0) ? x : -x);
  const T small = e / (T(1) + e), large = T(1) / (T(1) + e);
  return x < T(0) ? SigmoidPair<T>{small, large} : SigmoidPair<T>{large, small};
}

template <class T>
CUSEG_HD T activation_value(ActivationKind kind, T x, T slope) {
  switch (kind) {
    case ActivationKind::Relu: return x > T(0) ? x : T(0);
    case ActivationKind::LeakyRelu: return x > T(0) ? x : slope * x;
    case ActivationKind::Sigmoid: return sigmoid_pair(x).s;
    case ActivationKind::Tanh: return hd_tanh(x);
    case ActivationKind::Relu6: return x > T(0) ? (x < T(6) ? x : T(6)) : T(0);
    case ActivationKind::Silu: return x * sigmoid_pair(x).s;
  }
  return x;
}

// dy/dx as a function of what the backward reads (activation.h): the input x where
// activation_needs_input(kind), the output y elsewhere.
template <class T>
CUSEG_HD T activation_derivative(ActivationKind kind, T y, T slope) {
  switch (kind) {
    case ActivationKind::Relu: return y > T(0) ? T(1) : T(0);
    case ActivationKind::LeakyRelu: return y > T(0) ? T(1) : slope;
    case ActivationKind::Sigmoid: return y * (T(1) - y);
    case ActivationKind::Tanh: return T(1) - y * y;
    case ActivationKind::Relu6: return y > T(0) && y < T(6) ? T(1) : T(0);
    case ActivationKind::Silu: {
      const T x = y;  // SiLU's backward reads x
      const SigmoidPair<T> p = sigmoid_pair(x);
      return p.s * (T(1) + x * p.one_minus_s);
    }
  }
  return T(1);
}

}  // namespace cuseg
