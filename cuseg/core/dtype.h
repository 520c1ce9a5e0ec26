// Element types a Tensor can hold. f64 is for CPU reference computations (gradient checks);
// kernels on the GPU run in f32 (bf16 storage comes with mixed precision).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "cuseg/core/bf16.h"

namespace cuseg {

enum class DType : uint8_t { F32, F64, Bf16, I32, U8 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);  // "f32", "f64", "bf16", "i32", "u8"
bool is_floating(DType t);

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::F32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::F64;
}
template <>
constexpr DType dtype_of<bf16>() {
  return DType::Bf16;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::I32;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::U8;
}

}  // namespace cuseg
