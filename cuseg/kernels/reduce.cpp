#include "cuseg/kernels/reduce.h"

#include "cuseg/kernels/cpu/reduce.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/reduce.h"
#endif

namespace cuseg {

namespace {

struct Reduce {
  const Tensor& x;
  Tensor& out;
};

template <cpu::Reduction kind>
detail::Op<Reduce> reduce_op(const char* name) {
  return detail::define_op<Reduce>({
      .name = name,
      .entry = name,
      .reference =
          [](const Reduce& a) {
            detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
              using T = decltype(tag);
              cpu::reduce<T>(a.x.data<T>(), a.x.numel(), kind, a.out.data<T>());
            });
          },
      .cuda = CUSEG_CUDA_IMPL([](const Reduce& a) {
        cuda::reduce(a.x.data<float>(), a.x.numel(),
                     kind == cpu::Reduction::Sum    ? cuda::Reduction::Sum
                     : kind == cpu::Reduction::Mean ? cuda::Reduction::Mean
                                                    : cuda::Reduction::L2Norm,
                     a.out.data<float>(), a.x.device().index);
      }),
  });
}

const auto kSum = reduce_op<cpu::Reduction::Sum>("reduce_sum");
const auto kMean = reduce_op<cpu::Reduction::Mean>("reduce_mean");
const auto kL2Norm = reduce_op<cpu::Reduction::L2Norm>("reduce_l2_norm");

void reduce(const detail::Op<Reduce>& op, const Tensor& x, Tensor& out, Backend backend) {
  detail::check_shapes(op.name, {{"x", x}}, -1);
  detail::check_float_args(op.name, {{"x", x}});
  detail::check_exact(op.name, {"out", out}, x.device(), x.dtype(), Shape{1});
  detail::run(op, x, backend, {x, out});
}

}  // namespace

void reduce_sum(const Tensor& x, Tensor& out, Backend backend) { reduce(kSum, x, out, backend); }
void reduce_mean(const Tensor& x, Tensor& out, Backend backend) { reduce(kMean, x, out, backend); }
void reduce_l2_norm(const Tensor& x, Tensor& out, Backend backend) { reduce(kL2Norm, x, out, backend); }

}  // namespace cuseg
