// CPU references of the whole-tensor reductions: a sum in double (of squares for the L2 norm),
// divided by n for the mean, rooted for the norm.
#pragma once

#include <cstdint>

namespace cuseg::cpu {

enum class Reduction { Sum, Mean, L2Norm };

template <class T>
void reduce(const T* x, int64_t n, Reduction kind, T* out);

}  // namespace cuseg::cpu
