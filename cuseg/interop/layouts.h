// Internal: moving weights between cuseg's layouts and the NCHW world's (PyTorch, ONNX).
//   Conv2d           cuseg KRSC [K, R, S, C]        ↔ OIHW [K, C, R, S]
//   ConvTranspose2d  cuseg [Ci, R, S, Co]           ↔ [Ci, Co, R, S]
// Both are the same permutation of a 4-D tensor: dims (0, 3, 1, 2) out, (0, 2, 3, 1) back.
#pragma once

#include <array>

#include "cuseg/core/tensor.h"

namespace cuseg {

// A new CPU tensor, f64 for f64 and f32 for anything else: out dim i is t's dim perm[i].
Tensor permuted(const Tensor& t, const std::array<int, 4>& perm);

inline Tensor to_nchw_weights(const Tensor& w) { return permuted(w, {0, 3, 1, 2}); }
inline Tensor from_nchw_weights(const Tensor& w) { return permuted(w, {0, 2, 3, 1}); }

}  // namespace cuseg
