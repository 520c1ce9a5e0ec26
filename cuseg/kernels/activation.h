// Pointwise activations over tensors of any shape: ReLU, LeakyReLU, sigmoid, tanh, ReLU6.
// Forward may run in place (y and x the same tensor). Backward takes the forward's output y —
// every derivative here is a function of y — so x need not be kept. All outputs are assigned.
//
//   relu        y = max(x, 0)                    dy/dx = [y > 0]
//   leaky_relu  y = x if x > 0 else slope·x      dy/dx = 1 if y > 0 else slope   (slope ≥ 0)
//   sigmoid     y = 1/(1 + e^−x)                 dy/dx = y·(1 − y)
//   tanh        y = tanh(x)                      dy/dx = 1 − y²
//   relu6       y = min(max(x, 0), 6)            dy/dx = [0 < y < 6]   (MobileNet's)
// At x = 0, ReLU's derivative is 0, as in PyTorch.
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

enum class ActivationKind { Relu, LeakyRelu, Sigmoid, Tanh, Relu6 };

struct ActivationParams {
  ActivationKind kind = ActivationKind::Relu;
  double negative_slope = 0.01;  // LeakyReLU
};

const char* activation_name(ActivationKind kind);  // "relu", "leaky_relu", "sigmoid", "tanh", "relu6"

// One op per kind (relu_forward, …; docs/OPS.md lists their implementations); cuDNN has no
// LeakyReLU, the fast CPU path only ReLU and LeakyReLU.
void activation_forward(const Tensor& x, Tensor& y, const ActivationParams& p, Backend backend = Backend::Auto);
void activation_backward(const Tensor& y, const Tensor& dy, Tensor& dx, const ActivationParams& p,
                         Backend backend = Backend::Auto);

}  // namespace cuseg
