#include "cuseg/kernels/cpu/multiply.h"

#include <cstddef>
#include <vector>

namespace cuseg::cpu {

namespace {

// f(i, j) for every element i of x (in order) and the element j of s it meets.
template <class F>
void for_each_pair(const int64_t (&xd)[4], const int64_t (&sd)[4], F&& f) {
  int64_t i = 0;
  for (int64_t n = 0; n < xd[0]; ++n)
    for (int64_t h = 0; h < xd[1]; ++h)
      for (int64_t w = 0; w < xd[2]; ++w)
        for (int64_t c = 0; c < xd[3]; ++c, ++i) {
          // A broadcast axis (s's dimension 1) reads index 0.
          const int64_t sn = sd[0] == 1 ? 0 : n, sh = sd[1] == 1 ? 0 : h, sw = sd[2] == 1 ? 0 : w,
                        sc = sd[3] == 1 ? 0 : c;
          f(i, ((sn * sd[1] + sh) * sd[2] + sw) * sd[3] + sc);
        }
}

}  // namespace

template <class T>
void multiply_forward(const T* x, const T* s, T* y, const int64_t (&xd)[4], const int64_t (&sd)[4]) {
  for_each_pair(xd, sd, [&](int64_t i, int64_t j) { y[i] = x[i] * s[j]; });
}

template <class T>
void multiply_backward(const T* x, const T* s, const T* dy, T* dx, T* ds, const int64_t (&xd)[4],
                       const int64_t (&sd)[4]) {
  std::vector<double> sums(ds ? std::size_t(sd[0] * sd[1] * sd[2] * sd[3]) : 0, 0.0);
  for_each_pair(xd, sd, [&](int64_t i, int64_t j) {
    // ds first: dx may alias dy.
    if (ds) sums[std::size_t(j)] += double(dy[i]) * double(x[i]);
    if (dx) dx[i] = dy[i] * s[j];
  });
  for (std::size_t j = 0; j < sums.size(); ++j) ds[j] = T(sums[j]);
}

#define CUSEG_INSTANTIATE(T)                                                                              \
  template void multiply_forward<T>(const T*, const T*, T*, const int64_t (&)[4], const int64_t (&)[4]); \
  template void multiply_backward<T>(const T*, const T*, const T*, T*, T*, const int64_t (&)[4],        \
                                     const int64_t (&)[4]);
CUSEG_INSTANTIATE(float)
CUSEG_INSTANTIATE(double)
#undef CUSEG_INSTANTIATE

}  // namespace cuseg::cpu
