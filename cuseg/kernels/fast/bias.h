// The fast CPU path's convolution bias, f32: y += b per channel, and db += Σ dy over every pixel
// in double, by chunks of rows combined in order (the same bits on any number of threads).
// Semantics as in kernels/conv2d.h; the reference is cpu/conv2d.
#pragma once

#include <cstdint>

namespace cuseg::fast {

void conv2d_bias_forward(float* y, const float* b, int64_t rows, int channels);
void conv2d_bias_backward(const float* dy, float* db, int64_t rows, int channels);

}  // namespace cuseg::fast
