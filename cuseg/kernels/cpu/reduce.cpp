#include "cuseg/kernels/cpu/reduce.h"

#include <cmath>

namespace cuseg::cpu {

template <class T>
void reduce(const T* x, int64_t n, Reduction kind, T* out) {
  double total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static)
  for (int64_t i = 0; i < n; ++i) total += kind == Reduction::L2Norm ? double(x[i]) * double(x[i]) : double(x[i]);
  out[0] = T(kind == Reduction::Mean ? total / double(n) : kind == Reduction::L2Norm ? std::sqrt(total) : total);
}

template void reduce<float>(const float*, int64_t, Reduction, float*);
template void reduce<double>(const double*, int64_t, Reduction, double*);

}  // namespace cuseg::cpu
