// Resizing NHWC tensors to the output's height and width, as PyTorch's F.interpolate with an
// output size: x [N,H,W,C] → y [N,Ho,Wo,C], up or down, by any ratio, per axis scale = in/out.
//   nearest    src = min(⌊o·scale⌋, in − 1)                       (PyTorch's 'nearest')
//   bilinear   src = max(scale·(o + ½) − ½, 0), taps ⌊src⌋ and ⌊src⌋ + 1 (clamped),
//              weights 1 − frac and frac                        (align_corners = False)
//   bilinear, align_corners = True
//              src = o·(in − 1)/(out − 1) (0 when out = 1), the same taps and weights
// F.interpolate with scale_factor s (and recompute_scale_factor unset) sizes the output ⌊in·s⌋ but
// takes its scale as 1/s, not in/out: the same for the integer factors the networks use (2, 4:
// 1/s = in/out exactly), not for every s; callers with another factor pass the output size they
// want and get PyTorch's size= answer. align_corners = True never uses the factor.
// Backward gathers, for each input element, the outputs whose taps touch it: no atomics, the
// same result on every run. Outputs are assigned.
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

enum class UpsampleMode { Nearest, Bilinear, BilinearAlignCorners };

// One op per mode: upsample_nearest_forward, upsample_bilinear_forward,
// upsample_bilinear_align_corners_forward, and their backwards.
void upsample_forward(const Tensor& x, Tensor& y, UpsampleMode mode, Backend backend = Backend::Auto);
void upsample_backward(const Tensor& dy, Tensor& dx, UpsampleMode mode, Backend backend = Backend::Auto);

}  // namespace cuseg
