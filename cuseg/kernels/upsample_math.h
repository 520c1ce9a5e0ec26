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

// How an axis is interpolated: UpsampleMode's values (kernels/upsample.h), in its order, for code
// that does not see the public header.
enum class Interp { Nearest, Bilinear, BilinearAlignCorners };

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

// Taps ⌊src⌋ and ⌊src⌋ + 1 (clamped to the last input), weights 1 − frac and frac.
template <class T>
CUSEG_HD AxisTaps<T> linear_taps(T src, int in) {
  const int i0 = int(src);
  const int i1 = i0 < in - 1 ? i0 + 1 : i0;
  const T w1 = src - T(i0);
  return {i0, i1, T(1) - w1, w1};
}

// align_corners = False: src = max(scale·(o + ½) − ½, 0), scale = in/out.
template <class T>
CUSEG_HD AxisTaps<T> bilinear_taps(int o, int in, int out) {
  T src = axis_scale<T>(in, out) * (T(o) + T(0.5)) - T(0.5);
  if (src < T(0)) src = T(0);
  return linear_taps<T>(src, in);
}

// align_corners = True: src = o·(in − 1)/(out − 1), the corners' centres on each other; one output
// reads input 0 (PyTorch's scale 0 for out = 1).
template <class T>
CUSEG_HD AxisTaps<T> align_corners_taps(int o, int in, int out) {
  const T scale = out > 1 ? T(in - 1) / T(out - 1) : T(0);
  return linear_taps<T>(scale * T(o), in);
}

template <class T>
CUSEG_HD AxisTaps<T> taps(Interp kind, int o, int in, int out) {
  switch (kind) {
    case Interp::Nearest: return nearest_taps<T>(o, in, out);
    case Interp::Bilinear: return bilinear_taps<T>(o, in, out);
    default: return align_corners_taps<T>(o, in, out);
  }
}

// The weight with which output o reads input i along this axis (0 when it does not).
template <class T>
CUSEG_HD T tap_weight(const AxisTaps<T>& t, int i) {
  return (t.i0 == i ? t.w0 : T(0)) + (t.i1 == i ? t.w1 : T(0));
}

// The outputs [begin, end) that may read input i: a superset (the source position moves by
// 1/per_input per output, less one output either side for rounding), the caller's tap_weight
// picks the ones that do.
struct OutputRange {
  int begin, end;
};

CUSEG_HD OutputRange outputs_reading(Interp kind, int i, int in, int out) {
  // Outputs per input step: (out − 1)/(in − 1) where the corners align, out/in otherwise.
  const double per_input = kind != Interp::BilinearAlignCorners ? double(out) / double(in)
                           : in > 1                             ? double(out - 1) / double(in - 1)
                                                                : double(out);
  int begin = int((double(i) - 1.0) * per_input) - 2;
  int end = int((double(i) + 2.0) * per_input) + 3;
  return {begin < 0 ? 0 : begin, end > out ? out : end};
}

}  // namespace cuseg
