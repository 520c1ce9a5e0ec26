#include "cuseg/kernels/dropout.h"

#include <cmath>

#include "cuseg/kernels/cpu/pointwise.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/pointwise.h"
#endif

namespace cuseg {

using detail::Arg;

namespace {

void check_dropout(const char* op, const Arg& a, const Arg& b, const Arg& mask, const DropoutParams& p) {
  detail::check_shapes(op, {a, b, mask}, -1);
  detail::check_float_args(op, {a, b});
  detail::check_same_shapes(op, {a, b, mask});
  detail::check_exact(op, mask, a.tensor.device(), DType::U8, a.tensor.shape());
  CUSEG_CHECK(std::isfinite(p.p) && p.p >= 0 && p.p <= 1, op, ": probability ", p.p, " is not in [0, 1]");
}

struct Forward {
  const Tensor& x;
  Tensor& y;
  Tensor& mask;
  const DropoutParams& p;
};
struct Backward {
  const Tensor& dy;
  const Tensor& mask;
  Tensor& dx;
  const DropoutParams& p;
};

const auto kForward = detail::define_op<Forward>({
    .name = "dropout_forward",
    .entry = "dropout_forward",
    .reference =
        [](const Forward& a) {
          detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::dropout_forward<T>(a.x.data<T>(), a.y.data<T>(), a.mask.data<uint8_t>(), a.x.numel(), a.p.p, a.p.seed,
                                    a.p.offset);
          });
        },
    .cuda = CUSEG_CUDA_IMPL([](const Forward& a) {
      cuda::dropout_forward(a.x.data<float>(), a.y.data<float>(), a.mask.data<uint8_t>(), a.x.numel(), a.p.p,
                            a.p.seed, a.p.offset, a.x.device().index);
    }),
});

const auto kBackward = detail::define_op<Backward>({
    .name = "dropout_backward",
    .entry = "dropout_backward",
    .reference =
        [](const Backward& a) {
          detail::cpu_dispatch(a.dy.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::dropout_backward<T>(a.dy.data<T>(), a.mask.data<uint8_t>(), a.dx.data<T>(), a.dy.numel(), a.p.p);
          });
        },
    .cuda = CUSEG_CUDA_IMPL([](const Backward& a) {
      cuda::dropout_backward(a.dy.data<float>(), a.mask.data<uint8_t>(), a.dx.data<float>(), a.dy.numel(), a.p.p,
                             a.dy.device().index);
    }),
});

// ---- channel dropout and drop path: one mask value per (n, g), G = C or G = 1 --------------

GroupGeometry check_group_dropout(const char* op, const Arg& a, const Arg& b, const Arg& mask, const DropoutParams& p,
                                  bool per_channel) {
  detail::check_shapes(op, {a, b}, 4);
  detail::check_float_args(op, {a, b});
  detail::check_same_shapes(op, {a, b});
  const Shape& x = a.tensor.shape();
  detail::check_exact(op, mask, a.tensor.device(), DType::U8, group_dropout_mask_shape(x, per_channel));
  CUSEG_CHECK(std::isfinite(p.p) && p.p >= 0 && p.p <= 1, op, ": probability ", p.p, " is not in [0, 1]");
  return {int(x[0]), x[1] * x[2], int(x[3]), per_channel ? int(x[3]) : 1};
}

struct GroupForward {
  const Tensor& x;
  Tensor& y;
  Tensor& mask;
  const DropoutParams& p;
  const GroupGeometry& g;
};
struct GroupBackward {
  const Tensor& dy;
  const Tensor& mask;
  Tensor& dx;
  const DropoutParams& p;
  const GroupGeometry& g;
};

void group_forward_reference(const GroupForward& a) {
  cpu::group_dropout_mask(a.mask.data<uint8_t>(), a.mask.numel(), a.p.p, a.p.seed, a.p.offset);
  detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cpu::group_dropout_apply<T>(a.x.data<T>(), a.mask.data<uint8_t>(), a.y.data<T>(), a.g, a.p.p);
  });
}
void group_backward_reference(const GroupBackward& a) {
  detail::cpu_dispatch(a.dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cpu::group_dropout_apply<T>(a.dy.data<T>(), a.mask.data<uint8_t>(), a.dx.data<T>(), a.g, a.p.p);
  });
}
#if CUSEG_HAS_CUDA
void group_forward_cuda(const GroupForward& a) {
  const int device = a.x.device().index;
  cuda::group_dropout_mask(a.mask.data<uint8_t>(), a.mask.numel(), a.p.p, a.p.seed, a.p.offset, device);
  cuda::group_dropout_apply(a.x.data<float>(), a.mask.data<uint8_t>(), a.y.data<float>(), a.g, a.p.p, device);
}
void group_backward_cuda(const GroupBackward& a) {
  cuda::group_dropout_apply(a.dy.data<float>(), a.mask.data<uint8_t>(), a.dx.data<float>(), a.g, a.p.p,
                            a.dy.device().index);
}
#endif

#define CUSEG_GROUP_DROPOUT_OP(Args, op, direction)                                                        \
  detail::define_op<Args>({.name = op,                                                                    \
                           .entry = op,                                                                   \
                           .reference = group_##direction##_reference,                                    \
                           .cuda = CUSEG_CUDA_IMPL(group_##direction##_cuda)})
const auto kDropout2dForward = CUSEG_GROUP_DROPOUT_OP(GroupForward, "dropout2d_forward", forward);
const auto kDropout2dBackward = CUSEG_GROUP_DROPOUT_OP(GroupBackward, "dropout2d_backward", backward);
const auto kDropPathForward = CUSEG_GROUP_DROPOUT_OP(GroupForward, "drop_path_forward", forward);
const auto kDropPathBackward = CUSEG_GROUP_DROPOUT_OP(GroupBackward, "drop_path_backward", backward);
#undef CUSEG_GROUP_DROPOUT_OP

void group_forward(const detail::Op<GroupForward>& op, const Tensor& x, Tensor& y, Tensor& mask,
                   const DropoutParams& p, Backend backend, bool per_channel) {
  const GroupGeometry g = check_group_dropout(op.name, {"x", x}, {"y", y}, {"mask", mask}, p, per_channel);
  detail::run(op, x, backend, {x, y, mask, p, g});
}

void group_backward(const detail::Op<GroupBackward>& op, const Tensor& dy, const Tensor& mask, Tensor& dx,
                    const DropoutParams& p, Backend backend, bool per_channel) {
  const GroupGeometry g = check_group_dropout(op.name, {"dy", dy}, {"dx", dx}, {"mask", mask}, p, per_channel);
  detail::run(op, dy, backend, {dy, mask, dx, p, g});
}

}  // namespace

Shape group_dropout_mask_shape(const Shape& x, bool per_channel) {
  CUSEG_CHECK(x.rank() == 4, "group_dropout_mask_shape: ", x.str(), " is not NHWC");
  return Shape{x[0], 1, 1, per_channel ? x[3] : 1};
}

void dropout2d_forward(const Tensor& x, Tensor& y, Tensor& mask, const DropoutParams& p, Backend backend) {
  group_forward(kDropout2dForward, x, y, mask, p, backend, true);
}
void dropout2d_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, const DropoutParams& p, Backend backend) {
  group_backward(kDropout2dBackward, dy, mask, dx, p, backend, true);
}
void drop_path_forward(const Tensor& x, Tensor& y, Tensor& mask, const DropoutParams& p, Backend backend) {
  group_forward(kDropPathForward, x, y, mask, p, backend, false);
}
void drop_path_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, const DropoutParams& p, Backend backend) {
  group_backward(kDropPathBackward, dy, mask, dx, p, backend, false);
}

void dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, const DropoutParams& p, Backend backend) {
  check_dropout("dropout_forward", {"x", x}, {"y", y}, {"mask", mask}, p);
  detail::run(kForward, x, backend, {x, y, mask, p});
}

void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, const DropoutParams& p, Backend backend) {
  check_dropout("dropout_backward", {"dy", dy}, {"dx", dx}, {"mask", mask}, p);
  detail::run(kBackward, dy, backend, {dy, mask, dx, p});
}

}  // namespace cuseg
