// Element conversion from double, the same on host and device. Integer targets saturate
// (NaN becomes 0) instead of the undefined behaviour of a plain cast out of range.
#pragma once

#include <limits>
#include <type_traits>

#include "cuseg/core/hd.h"

namespace cuseg {

template <class T>
CUSEG_HD T saturate_cast(double v) {
  if constexpr (std::is_integral_v<T>) {
    if (!(v == v)) return T(0);
    if (v <= double(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return T(v);
  } else {
    return T(v);
  }
}

}  // namespace cuseg
