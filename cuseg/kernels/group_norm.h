// 2-D group normalization over NHWC tensors (PyTorch's nn.GroupNorm, as SMP's FPN blocks use it):
// the C channels form G groups of C/G consecutive channels, and each sample's group has its own
// statistics over its H·W·C/G = M elements — no batch statistics, so training and evaluation
// compute the same thing (there are no running statistics).
//
// forward   mean, var = mean and biased variance of the (n, g) group;  invstd = 1/√(var + eps);
//           y = (x − mean)·invstd·γ[c] + β[c] (γ, β per channel). y is assigned, and so are
//           save_mean and save_invstd [N, G] (backward needs them).
// backward  dx assigned; dγ and dβ accumulated (+=), like every parameter gradient. With
//           x̂ = (x − mean)·invstd and g = γ[c]·dy:
//             dβ[c] += Σ_{n,h,w} dy,   dγ[c] += Σ_{n,h,w} dy·x̂,
//             dx = invstd·(g − Σ_group g/M − x̂·Σ_group(g·x̂)/M)
// G = 1 normalizes each sample over all of it (LayerNorm over C, H, W); G = C each channel of
// each sample (InstanceNorm). C must be a multiple of G. A constant group has variance 0: eps
// alone keeps invstd finite and y = β.
//
// group_norm_relu_*: group normalization followed by ReLU, y = max(GN(x), 0) — the pair every
// block of SMP's FPN decoder has. The backward takes that y and is GN's backward of dy·[y > 0].
// The fast CPU path runs each in one pass, with no tensor between the two; the other paths run
// the two ops.
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

struct GroupNormParams {
  int groups = 32;
  double eps = 1e-5;  // PyTorch's default
};

void group_norm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                        Tensor& save_mean, Tensor& save_invstd, const GroupNormParams& p,
                        Backend backend = Backend::Auto);
void group_norm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const Tensor& save_mean, const Tensor& save_invstd, Tensor& dx,
                         Tensor& dgamma, Tensor& dbeta, const GroupNormParams& p,
                         Backend backend = Backend::Auto);

void group_norm_relu_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                             Tensor& save_mean, Tensor& save_invstd, const GroupNormParams& p,
                             Backend backend = Backend::Auto);
void group_norm_relu_backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                              const Tensor& gamma, const Tensor& save_mean,
                              const Tensor& save_invstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                              const GroupNormParams& p, Backend backend = Backend::Auto);

}  // namespace cuseg
