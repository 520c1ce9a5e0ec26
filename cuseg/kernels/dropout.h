// Inverted dropout: each element is kept with probability 1 − p and scaled by 1/(1 − p), so the
// expected output equals the input and evaluation needs no rescaling. Element i is dropped when
// the Philox draw philox_uniform01(seed, offset + i) < p: the mask for a (seed, offset) is the
// same on the CPU and on every GPU, and a training step passes a fresh offset each time.
// forward assigns y and the u8 mask (1 kept, 0 dropped); backward assigns dx = dy·mask/(1 − p).
// p = 1 drops everything (outputs 0).
//
// Channel dropout (PyTorch's nn.Dropout2d, FPN's head) and drop path (stochastic depth;
// EfficientNet's drop_connect, torchvision's StochasticDepth "row") apply the same rule to one
// value per plane or per sample of x[N,H,W,C]: the u8 mask is [N,1,1,C] (channel dropout: plane
// (n, c) is mask entry n·C + c) or [N,1,1,1] (drop path: sample n is entry n), entry i drawn as
// element i of plain dropout (kept when philox_uniform01(seed, offset + i) ≥ p), and
// y = x·mask·1/(1 − p) over the whole plane or sample. A training step advances the offset by the
// mask's size (N·C or N). Backward assigns dx = dy·mask/(1 − p) with the forward's mask.
// efficientnet_pytorch draws keep = floor((1 − p) + U) with U uniform in [0, 1): for U < 1 that is
// 1 exactly when U ≥ p — the same Bernoulli(1 − p) as here, from cuseg's stream instead of
// torch's (U here has 24 random bits, so P(keep) is 1 − p rounded down to a multiple of 2^-24).
#pragma once

#include <cstdint>

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

struct DropoutParams {
  double p = 0.5;
  uint64_t seed = 0;
  uint64_t offset = 0;
};

void dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, const DropoutParams& p, Backend backend = Backend::Auto);
void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, const DropoutParams& p,
                      Backend backend = Backend::Auto);

void dropout2d_forward(const Tensor& x, Tensor& y, Tensor& mask, const DropoutParams& p,
                       Backend backend = Backend::Auto);
void dropout2d_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, const DropoutParams& p,
                        Backend backend = Backend::Auto);
void drop_path_forward(const Tensor& x, Tensor& y, Tensor& mask, const DropoutParams& p,
                       Backend backend = Backend::Auto);
void drop_path_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, const DropoutParams& p,
                        Backend backend = Backend::Auto);

// The shape of the mask of channel dropout (per_channel) or drop path for x of shape `x`.
Shape group_dropout_mask_shape(const Shape& x, bool per_channel);

}  // namespace cuseg
