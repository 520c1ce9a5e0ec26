// Interpolation taps along one axis, for host and device: which input elements output o reads
// and with what weights, and (for the gather-form backward) which outputs read input i.
#pragma once

#include "cuseg/core/hd.h"

namespace cuseg {

template <class T>
struct AxisTaps {
  int i0, i1;  // input indices (equal at the edge, or for nearest)
  T w0, w1;    // their weights (w1 = 0 for nearest)
};

// Bilinear computes its scale in the tensor's type (PyTorch's accscalar_t); nearest always in
// float, as PyTorch does, so that both pick the same source for every output.
template <class T>
CUSEG_HD T axis_scale(int in, int out) {
  return T(in) / T(out);
}

template <class T>
CUSEG_HD AxisTaps<T> nearest_taps(int o, int in, int out) {
  int i = in == out ? o : out == 2 * in ? o >> 1 : int(float(o) * axis_scale<float>(in, out));  // ⌊·⌋, ≥ 0
  if (i > in - 1) i = in - 1;
  return {i, i, T(1), T(0)};
}

template <class T>
CUSEG_HD AxisTaps<T> bilinear_taps(int o, int in, int out) {
  T src = axis_scale<T>(in, out) * (T(o) + T(0.5)) - T(0.5);
  if (src < T(0)) src = T(0);
  const int i0 = int(src);
  const int i1 = i0 < in - 1 ? i0 + 1 : i0;
  const T w1 = src - T(i0);
  return {i0, i1, T(1) - w1, w1};
}

template <class T>
CUSEG_HD AxisTaps<T> taps(bool bilinear, int o, int in, int out) {
  return bilinear ? bilinear_taps<T>(o, in, out) : nearest_taps<T>(o, in, out);
}

// The weight with which output o reads input i along this axis (0 when it does not).
template <class T>
CUSEG_HD T tap_weight(const AxisTaps<T>& t, int i) {
  return (t.i0 == i ? t.w0 : T(0)) + (t.i1 == i ? t.w1 : T(0));
}

// The outputs [begin, end) that may read input i: a superset (the source position moves by
// `scale` per output), the caller's tap_weight picks the ones that do.
struct OutputRange {
  int begin, end;
};

template <class T>
CUSEG_HD OutputRange outputs_reading(int i, int in, int out) {
  const double per_input = double(out) / double(in);  // outputs per input step
  int begin = int((double(i) - 1.0) * per_input) - 2;
  int end = int((double(i) + 2.0) * per_input) + 3;
  return {begin < 0 ? 0 : begin, end > out ? out : end};
}

}  // namespace cuseg
