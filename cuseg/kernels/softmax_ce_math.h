// The per-pixel factors of the focal-weighted cross-entropy, for host and device.
#pragma once

#include "cuseg/core/hd_math.h"

namespace cuseg {

// (1 − q)^γ, the focal factor of a pixel whose label has probability q.
template <class T>
CUSEG_HD T focal_factor(T q, T gamma) {
  return gamma == T(0) ? T(1) : hd_pow(T(1) - q, gamma);
}

// d[(1 − q)^γ·nll]/d(log-prob of the label), up to the sign: the coefficient a such that the
// gradient of the pixel's term with respect to its logits is a·w·(p − onehot). nll = −log q.
template <class T>
CUSEG_HD T focal_coefficient(T q, T nll, T gamma) {
  if (gamma == T(0)) return T(1);
  const T r = T(1) - q;
  // At r = 0 the second term is 0·∞ for γ < 1; its limit is 0.
  return hd_pow(r, gamma) + (r > T(0) ? gamma * hd_pow(r, gamma - T(1)) * q * nll : T(0));
}

}  // namespace cuseg
