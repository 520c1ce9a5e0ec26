// CPU reference of the soft Dice loss. Semantics as in kernels/dice.h. L: uint8_t or int32_t.
#pragma once

#include <cstdint>

#include "cuseg/kernels/geometry.h"

namespace cuseg::cpu {

// Returns the number of invalid labels (0 on success).
template <class T, class L>
int64_t dice_forward(const T* logits, const L* labels, T* loss, T* stats, const RowGeometry& g, double smooth,
                     int ignore_index);
template <class T, class L>
void dice_backward(const T* logits, const L* labels, const T* stats, T* dlogits, double loss_grad,
                   const RowGeometry& g, double smooth, int ignore_index);

}  // namespace cuseg::cpu
