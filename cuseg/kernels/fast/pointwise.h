// The fast CPU path's activations, f32: ReLU, LeakyReLU and SiLU, forward and backward,
// vectorized (parallel.h's ISA clones) and split across threads. Semantics as in
// kernels/activation.h; the reference is cpu/pointwise. Sigmoid, tanh and ReLU6 run their reference.
#pragma once

#include <cstdint>

namespace cuseg::fast {

// slope 0 is ReLU.
void leaky_relu_forward(const float* x, float* y, int64_t n, float slope);
void leaky_relu_backward(const float* y, const float* dy, float* dx, int64_t n, float slope);
// SiLU's exponential is exp.h's polynomial, which stops at e^−87: for x < −87, σ(x) is taken as
// e^−87 ≈ 1.6e-38 (a result within |x|·1.6e-38 of the true one, which is subnormal or 0 in f32).
void silu_forward(const float* x, float* y, int64_t n);
void silu_backward(const float* x, const float* dy, float* dx, int64_t n);

}  // namespace cuseg::fast
