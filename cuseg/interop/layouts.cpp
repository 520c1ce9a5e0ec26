#include "cuseg/interop/layouts.h"

#include <vector>

#include "cuseg/core/error.h"

namespace cuseg {

namespace {

template <class T>
Tensor permuted_as(const Tensor& t, const std::array<int, 4>& perm) {
  const std::vector<T> v = t.to(Device::cpu()).to(dtype_of<T>()).template to_vector<T>();
  const int64_t stride[4] = {t.dim(1) * t.dim(2) * t.dim(3), t.dim(2) * t.dim(3), t.dim(3), 1};
  const Shape out{t.dim(perm[0]), t.dim(perm[1]), t.dim(perm[2]), t.dim(perm[3])};
  std::vector<T> o(v.size());
  size_t k = 0;
  for (int64_t a = 0; a < out[0]; ++a)
    for (int64_t b = 0; b < out[1]; ++b)
      for (int64_t c = 0; c < out[2]; ++c)
        for (int64_t d = 0; d < out[3]; ++d)
          o[k++] = v[size_t(a * stride[perm[0]] + b * stride[perm[1]] + c * stride[perm[2]] +
                            d * stride[perm[3]])];
  return Tensor::from_vector(o, out);
}

}  // namespace

Tensor permuted(const Tensor& t, const std::array<int, 4>& perm) {
  CUSEG_CHECK(t.rank() == 4, "permuted: ", t.shape().str(), " is not 4-D");
  return t.dtype() == DType::F64 ? permuted_as<double>(t, perm) : permuted_as<float>(t, perm);
}

}  // namespace cuseg
