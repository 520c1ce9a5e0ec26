#include "cuseg/core/dtype.h"

#include "cuseg/core/error.h"

namespace cuseg {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32:
      return 4;
    case DType::F64:
      return 8;
    case DType::Bf16:
      return 2;
    case DType::I32:
      return 4;
    case DType::U8:
      return 1;
  }
  throw_error("dtype_size: unknown dtype");
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32:
      return "f32";
    case DType::F64:
      return "f64";
    case DType::Bf16:
      return "bf16";
    case DType::I32:
      return "i32";
    case DType::U8:
      return "u8";
  }
  return "?";
}

bool is_floating(DType t) { return t == DType::F32 || t == DType::F64 || t == DType::Bf16; }

}  // namespace cuseg
