// Resizing NHWC tensors to the output's height and width, as PyTorch's F.interpolate with an
// output size: x [N,H,W,C] → y [N,Ho,Wo,C], per axis scale = in/out.
//   nearest    src = min(⌊o·scale⌋, in − 1)                       (PyTorch's 'nearest')
//   bilinear   src = max(scale·(o + ½) − ½, 0), taps ⌊src⌋ and ⌊src⌋ + 1 (clamped),
//              weights 1 − frac and frac                        (align_corners = False)
// Backward gathers, for each input element, the outputs whose taps touch it: no atomics, the
// same result on every run. Outputs are assigned.
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

enum class UpsampleMode { Nearest, Bilinear };

// One op per mode: upsample_nearest_forward, upsample_bilinear_forward, and their backwards.
void upsample_forward(const Tensor& x, Tensor& y, UpsampleMode mode, Backend backend = Backend::Auto);
void upsample_backward(const Tensor& dy, Tensor& dx, UpsampleMode mode, Backend backend = Backend::Auto);

}  // namespace cuseg
