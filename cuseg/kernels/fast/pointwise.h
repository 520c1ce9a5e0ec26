// The fast CPU path's activations, f32: ReLU, LeakyReLU and SiLU, forward and backward,
// vectorized (parallel.h's ISA clones) and split across threads. Semantics as in
// kernels/activation.h; the reference is cpu/pointwise. Sigmoid, tanh and ReLU6 run their reference.
#pragma once

#include <cstdint>

namespace cuseg::fast {

// slope 0 is ReLU.
void leaky_relu_forward(const float* x, float* y, int64_t n, float slope);
void leaky_relu_backward(const float* y, const float* dy, float* dx, int64_t n, float slope);
// SiLU's exponential is exp.h's polynomial (relative error below 6e-9); for |x| > 87, e^−|x| is
// taken as 0, so σ is 0 or 1 exactly there (the true values differ by less than 1.7e-38).
void silu_forward(const float* x, float* y, int64_t n);
void silu_backward(const float* x, const float* dy, float* dx, int64_t n);

}  // namespace cuseg::fast
