// Comparing an implementation's output with the reference: relative L2 error, largest absolute
// error and where it is (as NHWC coordinates), per-element mismatches. By default every NaN or
// ±Inf, on either side, is a non-finite mismatch: outputs are poisoned with NaN before a call,
// so two outputs that neither side wrote must not compare equal. A caller whose reference holds
// non-finite values on purpose asks for NonFinite::MatchSame. Used by the tests and by
// seg_verify; not part of the installed library.
#pragma once

#include <string>

#include "cuseg/core/tensor.h"

namespace cuseg {

struct Comparison {
  double rel_l2 = 0;        // ‖got − ref‖₂ / ‖ref‖₂ (the absolute norm when ‖ref‖₂ = 0), finite elements
  double max_abs = 0;       // max |got − ref| (∞ when there is a non-finite mismatch)
  double ref_max_abs = 0;   // max |ref| over its finite elements: the scale max_abs is judged by
  int64_t worst = -1;       // flat index of max_abs
  int64_t nonfinite = 0;    // elements where got or ref is NaN or ±Inf (with MatchSame: and they differ)
  int64_t mismatches = 0;   // elements with |got − ref| > atol + rtol·|ref|, non-finite ones included
  std::string worst_where;  // "[n,h,w,c] got .. ref .."

  // max_abs relative to the reference's scale (max |ref|, or 1 when the reference is all zero).
  double max_rel() const { return max_abs / (ref_max_abs > 0 ? ref_max_abs : 1.0); }

  // Passes when nothing non-finite mismatches, rel_l2 ≤ tolerance, and also no single element is
  // off by more than tolerance · max|ref|: relative L2 alone lets one wrong element hide in a large
  // tensor (one element off by 100 % of the RMS in 2^19 elements is a rel_l2 of 1.4e-3, off by 1 %
  // only 1.4e-5). Float32 rounding errors are spread over every element and each is far below
  // max|ref|·1e-5, so the element bound costs the honest kernels nothing.
  bool ok(double tolerance) const {
    return nonfinite == 0 && rel_l2 <= tolerance && max_rel() <= tolerance;
  }
};

// What compare() makes of NaN and ±Inf.
enum class NonFinite {
  Fail,       // every non-finite element, on either side, is a mismatch: NaN never passes
  MatchSame,  // a non-finite reference element is matched by the same value (NaN by any NaN, an
              // infinity by the same infinity); any other non-finite element is a mismatch
};

// Tensors of the same shape, on any device, of any dtype (compared in double).
Comparison compare(const Tensor& got, const Tensor& ref, double atol = 0, double rtol = 0,
                   NonFinite nonfinite = NonFinite::Fail);

// Elements of t that are NaN or ±Inf (0 for integer tensors); `first` gets the flat index of the
// first of them (-1 when there is none).
int64_t count_nonfinite(const Tensor& t, int64_t* first = nullptr);

// "[1,2,3,4]" for a flat index into `shape`.
std::string coordinates(const Shape& shape, int64_t index);

}  // namespace cuseg
