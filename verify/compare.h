// Comparing an implementation's output with the reference: relative L2 error, largest absolute
// error and where it is (as NHWC coordinates), NaN counted as failure. Used by the tests and by
// seg_verify.
#pragma once

#include <string>

#include "cuseg/core/tensor.h"

namespace cuseg {

struct Comparison {
  double rel_l2 = 0;  // ‖got − ref‖₂ / ‖ref‖₂ (the absolute norm when ‖ref‖₂ = 0)
  double max_abs = 0;       // max |got − ref|
  int64_t worst = -1;       // flat index of max_abs
  int64_t nonfinite = 0;    // elements of `got` that are NaN or ±Inf where ref is finite
  int64_t mismatches = 0;   // elements with |got − ref| > atol + rtol·|ref|
  std::string worst_where;  // "[n,h,w,c] got .. ref .."

  bool ok(double rel_tolerance) const { return nonfinite == 0 && rel_l2 <= rel_tolerance; }
};

// Tensors of the same shape, on any device, of any dtype (compared in double).
Comparison compare(const Tensor& got, const Tensor& ref, double atol = 0, double rtol = 0);

// "[1,2,3,4]" for a flat index into `shape`.
std::string coordinates(const Shape& shape, int64_t index);

}  // namespace cuseg
