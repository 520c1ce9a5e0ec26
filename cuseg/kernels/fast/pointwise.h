// The fast CPU path's activations, f32: ReLU and LeakyReLU, forward and backward, vectorized
// (parallel.h's ISA clones) and split across threads. Semantics as in kernels/activation.h; the
// reference is cpu/pointwise. Sigmoid and tanh run their reference.
#pragma once

#include <cstdint>

namespace cuseg::fast {

// slope 0 is ReLU.
void leaky_relu_forward(const float* x, float* y, int64_t n, float slope);
void leaky_relu_backward(const float* y, const float* dy, float* dx, int64_t n, float slope);

}  // namespace cuseg::fast
