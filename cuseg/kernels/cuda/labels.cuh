// Per-pixel labels as the loss and metric kernels read them: u8 or i32, chosen at run time.
#pragma once

#include <cstdint>

namespace cuseg::cuda {

__device__ __forceinline__ int label_at(const void* labels, bool u8, int64_t i) {
  return u8 ? int(static_cast<const uint8_t*>(labels)[i]) : static_cast<const int32_t*>(labels)[i];
}

}  // namespace cuseg::cuda
