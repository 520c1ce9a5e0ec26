// Math functions for CUSEG_HD code: CUDA's device overloads on the GPU, <cmath> on the host.
// Results may differ by an ulp between the two; tests compare with tolerances.
#pragma once

#include <cmath>

#include "cuseg/core/hd.h"

namespace cuseg {

#if defined(__CUDA_ARCH__)
template <class T> CUSEG_HD T hd_sqrt(T v) { return sqrt(v); }
template <class T> CUSEG_HD T hd_exp(T v) { return exp(v); }
template <class T> CUSEG_HD T hd_tanh(T v) { return tanh(v); }
template <class T> CUSEG_HD T hd_log(T v) { return log(v); }
template <class T> CUSEG_HD T hd_log1p(T v) { return log1p(v); }
template <class T> CUSEG_HD T hd_pow(T a, T b) { return pow(a, b); }
template <class T> CUSEG_HD bool hd_isfinite(T v) { return isfinite(v); }
#else
template <class T> CUSEG_HD T hd_sqrt(T v) { return std::sqrt(v); }
template <class T> CUSEG_HD T hd_exp(T v) { return std::exp(v); }
template <class T> CUSEG_HD T hd_tanh(T v) { return std::tanh(v); }
template <class T> CUSEG_HD T hd_log(T v) { return std::log(v); }
template <class T> CUSEG_HD T hd_log1p(T v) { return std::log1p(v); }
template <class T> CUSEG_HD T hd_pow(T a, T b) { return std::pow(a, b); }
template <class T> CUSEG_HD bool hd_isfinite(T v) { return std::isfinite(v); }
#endif

}  // namespace cuseg
