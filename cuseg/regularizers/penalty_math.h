// The per-element arithmetic of the penalties, for host and device (CUSEG_HD): the fused
// optimizer kernels, the CPU update and Penalty::value all use these.
#pragma once

#include "cuseg/core/hd.h"

namespace cuseg {

template <class T>
CUSEG_HD T sign_of(T w) {
  return T((w > T(0)) - (w < T(0)));  // sign(0) = 0
}

// What the penalty adds to the gradient at w. l1 is 0 when L1 is proximal (applied after the
// step instead); huber is the smooth-L1 strength with its beta.
template <class T>
CUSEG_HD T penalty_gradient(T w, T l1, T l2, T huber, T huber_beta) {
  T g = l1 * sign_of(w) + l2 * w;
  if (huber != T(0)) {
    const T a = w < T(0) ? -w : w;
    g += huber * (a < huber_beta ? w / huber_beta : sign_of(w));
  }
  return g;
}

// The proximal operator of t·|w|: shrink towards zero by t, stopping at exactly zero.
template <class T>
CUSEG_HD T soft_threshold(T w, T t) {
  const T a = (w < T(0) ? -w : w) - t;
  return a > T(0) ? sign_of(w) * a : T(0);
}

// The penalty's value at one element (l1 here is λ1 whatever the mode).
template <class T>
CUSEG_HD T penalty_value(T w, T l1, T l2, T huber, T huber_beta) {
  const T a = w < T(0) ? -w : w;
  T r = l1 * a + T(0.5) * l2 * w * w;
  if (huber != T(0)) r += huber * (a < huber_beta ? T(0.5) * w * w / huber_beta : a - T(0.5) * huber_beta);
  return r;
}

}  // namespace cuseg
