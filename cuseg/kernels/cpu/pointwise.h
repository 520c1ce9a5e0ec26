// CPU references of the pointwise ops (activations, elementwise arithmetic, dropout): plain
// loops over the shared element definitions, float and double.
#pragma once

#include <cstdint>

#include "cuseg/kernels/activation.h"
#include "cuseg/kernels/geometry.h"

namespace cuseg::cpu {

template <class T> void activation_forward(const T* x, T* y, int64_t n, ActivationKind kind, T slope);
// `saved`: x where activation_needs_input(kind), else y (activation_math.h's activation_derivative).
template <class T> void activation_backward(const T* saved, const T* dy, T* dx, int64_t n, ActivationKind kind, T slope);
template <class T> void add(const T* a, const T* b, T* out, int64_t n);
template <class T> void scale(const T* x, T alpha, T* out, int64_t n);
template <class T> void axpy(T alpha, const T* x, T* y, int64_t n);
template <class T> void dropout_forward(const T* x, T* y, uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t offset);
template <class T> void dropout_backward(const T* dy, const uint8_t* mask, T* dx, int64_t n, double p);
// Channel dropout and drop path (dropout_math.h): the N·G mask values drawn, then applied; the
// backward applies the mask to dy as the forward applies it to x.
void group_dropout_mask(uint8_t* mask, int64_t n, double p, uint64_t seed, uint64_t offset);
template <class T> void group_dropout_apply(const T* x, const uint8_t* mask, T* y, const GroupGeometry& g, double p);

}  // namespace cuseg::cpu
