#include "cuseg/kernels/reduce.h"

#include <cmath>

#include "cuseg/kernels/dispatch.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/reduce.h"
#endif

namespace cuseg {

using detail::Impl;

namespace {

enum class Kind { Sum, Mean, L2Norm };

void reduce(const char* op, const Tensor& x, Tensor& out, Kind kind) {
  detail::check_shapes(op, {{"x", x}}, -1);
  detail::check_float_args(op, {{"x", x}});
  detail::check_exact(op, {"out", out}, x.device(), x.dtype(), Shape{1});
  const int64_t n = x.numel();
  if (detail::choose_impl(op, x.device(), x.dtype(), Backend::Auto) == Impl::Reference) {
    detail::cpu_dispatch(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* p = x.data<T>();
      double total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static)
      for (int64_t i = 0; i < n; ++i) total += kind == Kind::L2Norm ? double(p[i]) * double(p[i]) : double(p[i]);
      out.data<T>()[0] = T(kind == Kind::Mean ? total / double(n) : kind == Kind::L2Norm ? std::sqrt(total) : total);
    });
    return;
  }
  CUSEG_IF_CUDA(cuda::reduce(x.data<float>(), n,
                             kind == Kind::Sum    ? cuda::Reduction::Sum
                             : kind == Kind::Mean ? cuda::Reduction::Mean
                                                  : cuda::Reduction::L2Norm,
                             out.data<float>(), x.device().index));
}

}  // namespace

void reduce_sum(const Tensor& x, Tensor& out) { reduce("reduce_sum", x, out, Kind::Sum); }
void reduce_mean(const Tensor& x, Tensor& out) { reduce("reduce_mean", x, out, Kind::Mean); }
void reduce_l2_norm(const Tensor& x, Tensor& out) { reduce("reduce_l2_norm", x, out, Kind::L2Norm); }

}  // namespace cuseg
