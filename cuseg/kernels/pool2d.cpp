#include "cuseg/kernels/pool2d.h"

#include "cuseg/kernels/cpu/pool2d.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/fast/pool2d.h"
#endif
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/pool2d.h"
#endif
#if CUSEG_HAS_CUDNN
#include "cuseg/kernels/cudnn/pool2d.h"
#endif

namespace cuseg {

using detail::Arg;

namespace {

// Outputs along one axis, PyTorch's pooling_output_shape (dilation 1): in ceil mode the division
// rounds up, and a last window that would start at or past size + pad (all padding) is dropped.
int pooled_size(int64_t size, int kernel, int stride, int pad, bool ceil_mode) {
  const int64_t span = size + 2 * pad - kernel;
  int64_t out = (ceil_mode ? span + stride - 1 : span) / stride + 1;
  if (ceil_mode && (out - 1) * stride >= size + pad) --out;
  return int(out);
}

PoolGeometry make_geometry(const char* op, const Shape& x, const Pool2dParams& p) {
  CUSEG_CHECK(p.kernel_h >= 1 && p.kernel_w >= 1, op, ": window ", p.kernel_h, "x", p.kernel_w,
              " must be at least 1x1");
  CUSEG_CHECK(p.stride_h >= 1 && p.stride_w >= 1, op, ": stride ", p.stride_h, "x", p.stride_w,
              " must be at least 1");
  CUSEG_CHECK(
      p.pad_h >= 0 && p.pad_w >= 0 && 2 * p.pad_h <= p.kernel_h && 2 * p.pad_w <= p.kernel_w, op,
      ": padding ", p.pad_h, "x", p.pad_w, " must be non-negative and at most half the ",
      p.kernel_h, "x", p.kernel_w, " window");
  CUSEG_CHECK(x[1] + 2 * p.pad_h >= p.kernel_h && x[2] + 2 * p.pad_w >= p.kernel_w, op, ": the ",
              p.kernel_h, "x", p.kernel_w, " window does not fit in the padded input ", x.str());
  CUSEG_CHECK(x.numel() < (int64_t(1) << 31), op, ": x ", x.str(), " has 2^31 elements or more");
  PoolGeometry g;
  g.N = int(x[0]), g.H = int(x[1]), g.W = int(x[2]), g.C = int(x[3]);
  g.P = pooled_size(x[1], p.kernel_h, p.stride_h, p.pad_h, p.ceil_mode);
  g.Q = pooled_size(x[2], p.kernel_w, p.stride_w, p.pad_w, p.ceil_mode);
  g.kernel_h = p.kernel_h, g.kernel_w = p.kernel_w;
  g.stride_h = p.stride_h, g.stride_w = p.stride_w;
  g.pad_h = p.pad_h, g.pad_w = p.pad_w;
  g.count_include_pad = p.count_include_pad;
  return g;
}

Shape y_shape(const PoolGeometry& g) { return Shape{g.N, g.P, g.Q, g.C}; }

// Validates input x (or dx) and output y (or dy) of a pooling and returns the geometry.
PoolGeometry check_pool(const char* op, const Arg& x, const Arg& y, const Pool2dParams& p) {
  detail::check_shapes(op, {x, y}, 4);
  detail::check_float_args(op, {x, y});
  PoolGeometry g = make_geometry(op, x.tensor.shape(), p);
  CUSEG_CHECK(y.tensor.shape() == y_shape(g), op, ": ", y.name, " is ", y.tensor.shape().str(),
              " but pooling ", x.name, " ", x.tensor.shape().str(), " gives ", y_shape(g).str());
  return g;
}

}  // namespace

Shape pool2d_output_shape(const Shape& x, const Pool2dParams& p) {
  CUSEG_CHECK(x.rank() == 4, "pool2d: x ", x.str(), " must have rank 4");
  return y_shape(make_geometry("pool2d", x, p));
}

// ---- the ops' descriptors (op.h) ----------------------------------------------------------

namespace {

struct MaxPoolForward {
  const Tensor& x;
  Tensor& y;
  Tensor& argmax;
  const PoolGeometry& g;
};
struct MaxPoolBackward {
  const Tensor& dy;
  const Tensor& argmax;
  Tensor& dx;
  const PoolGeometry& g;
};
struct AvgPool {  // forward x → y, or backward dy → dx
  const Tensor& in;
  Tensor& out;
  const PoolGeometry& g;
};

// cuDNN max pooling keeps no argmax (its backward re-reads x and y), so it is not one of these
// ops' implementations: kernels/cudnn/pool2d.h has it for the benchmarks.
const auto kMaxPoolForward = detail::define_op<MaxPoolForward>({
    .name = "max_pool2d_forward",
    .entry = "max_pool2d_forward",
    .reference =
        [](const MaxPoolForward& a) {
          detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::max_pool2d_forward<T>(a.x.data<T>(), a.y.data<T>(), a.argmax.data<int32_t>(), a.g);
          });
        },
    .fast = CUSEG_FAST_IMPL([](const MaxPoolForward& a) {
      fast::max_pool2d_forward(a.x.data<float>(), a.y.data<float>(), a.argmax.data<int32_t>(), a.g);
    }),
    .cuda = CUSEG_CUDA_IMPL([](const MaxPoolForward& a) {
      cuda::max_pool2d_forward(a.x.data<float>(), a.y.data<float>(), a.argmax.data<int32_t>(), a.g,
                               a.x.device().index);
    }),
});

const auto kMaxPoolBackward = detail::define_op<MaxPoolBackward>({
    .name = "max_pool2d_backward",
    .entry = "max_pool2d_backward",
    .reference =
        [](const MaxPoolBackward& a) {
          detail::cpu_dispatch(a.dy.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::max_pool2d_backward<T>(a.dy.data<T>(), a.argmax.data<int32_t>(), a.dx.data<T>(), a.g);
          });
        },
    .fast = CUSEG_FAST_IMPL([](const MaxPoolBackward& a) {
      fast::max_pool2d_backward(a.dy.data<float>(), a.argmax.data<int32_t>(), a.dx.data<float>(), a.g);
    }),
    .cuda = CUSEG_CUDA_IMPL([](const MaxPoolBackward& a) {
      cuda::max_pool2d_backward(a.dy.data<float>(), a.argmax.data<int32_t>(), a.dx.data<float>(), a.g,
                                a.dy.device().index);
    }),
});

const auto kAvgPoolForward = detail::define_op<AvgPool>({
    .name = "avg_pool2d_forward",
    .entry = "avg_pool2d_forward",
    .reference =
        [](const AvgPool& a) {
          detail::cpu_dispatch(a.in.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::avg_pool2d_forward<T>(a.in.data<T>(), a.out.data<T>(), a.g);
          });
        },
    .cuda = CUSEG_CUDA_IMPL([](const AvgPool& a) {
      cuda::avg_pool2d_forward(a.in.data<float>(), a.out.data<float>(), a.g, a.in.device().index);
    }),
    .cudnn = CUSEG_CUDNN_IMPL([](const AvgPool& a) {
      cudnn::avg_pool2d_forward(a.in.data<float>(), a.out.data<float>(), a.g, a.in.device().index);
    }),
});

const auto kAvgPoolBackward = detail::define_op<AvgPool>({
    .name = "avg_pool2d_backward",
    .entry = "avg_pool2d_backward",
    .reference =
        [](const AvgPool& a) {
          detail::cpu_dispatch(a.in.dtype(), [&](auto tag) {
            using T = decltype(tag);
            cpu::avg_pool2d_backward<T>(a.in.data<T>(), a.out.data<T>(), a.g);
          });
        },
    .cuda = CUSEG_CUDA_IMPL([](const AvgPool& a) {
      cuda::avg_pool2d_backward(a.in.data<float>(), a.out.data<float>(), a.g, a.in.device().index);
    }),
    .cudnn = CUSEG_CUDNN_IMPL([](const AvgPool& a) {
      cudnn::avg_pool2d_backward(a.in.data<float>(), a.out.data<float>(), a.g, a.in.device().index);
    }),
});

}  // namespace

// ---- entry points -----------------------------------------------------------------------------

void max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& argmax, const Pool2dParams& p, Backend backend) {
  const char* op = "max_pool2d_forward";
  const PoolGeometry g = check_pool(op, {"x", x}, {"y", y}, p);
  detail::check_exact(op, {"argmax", argmax}, x.device(), DType::I32, y.shape());
  detail::run(kMaxPoolForward, x, backend, {x, y, argmax, g});
}

void max_pool2d_backward(const Tensor& dy, const Tensor& argmax, Tensor& dx, const Pool2dParams& p,
                         Backend backend) {
  const char* op = "max_pool2d_backward";
  const PoolGeometry g = check_pool(op, {"dx", dx}, {"dy", dy}, p);
  detail::check_exact(op, {"argmax", argmax}, dy.device(), DType::I32, dy.shape());
  detail::run(kMaxPoolBackward, dy, backend, {dy, argmax, dx, g});
}

void avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dParams& p, Backend backend) {
  const PoolGeometry g = check_pool("avg_pool2d_forward", {"x", x}, {"y", y}, p);
  detail::run(kAvgPoolForward, x, backend, {x, y, g});
}

void avg_pool2d_backward(const Tensor& dy, Tensor& dx, const Pool2dParams& p, Backend backend) {
  const PoolGeometry g = check_pool("avg_pool2d_backward", {"dx", dx}, {"dy", dy}, p);
  detail::run(kAvgPoolBackward, dy, backend, {dy, dx, g});
}

}  // namespace cuseg
