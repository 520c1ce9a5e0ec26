// Pointwise activations over tensors of any shape: ReLU, LeakyReLU, sigmoid, tanh, ReLU6, SiLU.
// Forward may run in place (y and x the same tensor) — except where the backward will need x.
// All outputs are assigned.
//
// What the backward reads: every derivative but SiLU's is a function of the forward's output y,
// so for those kinds x need not be kept and the backward takes y alone. SiLU's is not: y = x·σ(x)
// does not determine x (its minimum lies near x = −1.28, so every y in (−0.28, 0) comes from two
// x), so its backward takes x as well. activation_needs_input(kind) says which; the overload
// taking x serves every kind (it reads x only where the kind needs it, y elsewhere; cuDNN's API
// takes both). A layer keeps x only for the kinds that need it.
//
//   relu        y = max(x, 0)                    dy/dx = [y > 0]
//   leaky_relu  y = x if x > 0 else slope·x      dy/dx = 1 if y > 0 else slope   (slope ≥ 0)
//   sigmoid     y = 1/(1 + e^−x)                 dy/dx = y·(1 − y)
//   tanh        y = tanh(x)                      dy/dx = 1 − y²
//   relu6       y = min(max(x, 0), 6)            dy/dx = [0 < y < 6]   (MobileNet's)
//   silu        y = x·σ(x)                       dy/dx = σ(x)·(1 + x·(1 − σ(x)))   (swish, EfficientNet's)
// At x = 0, ReLU's derivative is 0, as in PyTorch. σ is computed from e^−|x| (never overflows), and
// 1 − σ(x) likewise (never cancels), so SiLU is exact in its limits: −0 far left, x far right.
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

enum class ActivationKind { Relu, LeakyRelu, Sigmoid, Tanh, Relu6, Silu };

struct ActivationParams {
  ActivationKind kind = ActivationKind::Relu;
  double negative_slope = 0.01;  // LeakyReLU
};

const char* activation_name(ActivationKind kind);  // "relu", "leaky_relu", "sigmoid", "tanh", "relu6", "silu"
// Whether the kind's derivative needs the forward's input x (SiLU), not only its output y.
bool activation_needs_input(ActivationKind kind);

// One op per kind (relu_forward, …; docs/OPS.md lists their implementations); cuDNN has no
// LeakyReLU, the fast CPU path ReLU, LeakyReLU and SiLU.
void activation_forward(const Tensor& x, Tensor& y, const ActivationParams& p, Backend backend = Backend::Auto);
// The kinds whose derivative is a function of y; refuses those that need x.
void activation_backward(const Tensor& y, const Tensor& dy, Tensor& dx, const ActivationParams& p,
                         Backend backend = Backend::Auto);
// Every kind: x and y, the forward's input and output (x, y, dy and dx of one shape).
void activation_backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx, const ActivationParams& p,
                         Backend backend = Backend::Auto);

}  // namespace cuseg
