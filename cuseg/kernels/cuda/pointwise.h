// Internal: CUDA kernels of the pointwise ops, float32, on the device's stream.
#pragma once

#include <cstdint>

#include "cuseg/kernels/activation.h"
#include "cuseg/kernels/geometry.h"

namespace cuseg::cuda {

void activation_forward(const float* x, float* y, int64_t n, ActivationKind kind, float slope, int device);
// `saved`: x where activation_needs_input(kind), else y (activation_math.h's activation_derivative).
void activation_backward(const float* saved, const float* dy, float* dx, int64_t n, ActivationKind kind, float slope,
                         int device);
void add(const float* a, const float* b, float* out, int64_t n, int device);
void scale(const float* x, float alpha, float* out, int64_t n, int device);
void axpy(float alpha, const float* x, float* y, int64_t n, int device);
void dropout_forward(const float* x, float* y, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t offset,
                     int device);
void dropout_backward(const float* dy, const uint8_t* mask, float* dx, int64_t n, double p, int device);
void group_dropout_mask(uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t offset, int device);
void group_dropout_apply(const float* x, const uint8_t* mask, float* y, const GroupGeometry& g, double p,
                         int device);

}  // namespace cuseg::cuda
