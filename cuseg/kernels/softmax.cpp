#include "cuseg/kernels/softmax.h"

#include <cmath>

#include "cuseg/kernels/cpu/softmax.h"
#include "cuseg/kernels/dispatch.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/fast/softmax_ce.h"
#endif
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/softmax.h"
#endif
#if CUSEG_HAS_CUDNN
#include "cuseg/kernels/cudnn/softmax.h"
#endif

namespace cuseg {

using detail::Arg;
using detail::Impl;

namespace {

RowGeometry rows_of(const Tensor& t) {
  const int channels = int(t.dim(t.rank() - 1));
  return {t.numel() / channels, channels};
}

// All arguments shaped alike (any rank ≥ 1, channels last); returns the row geometry.
RowGeometry check_rows(const char* op, std::initializer_list<Arg> args) {
  detail::check_shapes(op, args, -1);
  detail::check_float_args(op, args);
  const Tensor& first = args.begin()->tensor;
  CUSEG_CHECK(first.rank() >= 1, op, ": tensors need at least one dimension (",
              detail::describe(args), ")");
  detail::check_same_shapes(op, args);
  CUSEG_CHECK(first.dim(first.rank() - 1) < (int64_t(1) << 31), op, ": too many channels");
  return rows_of(first);
}

enum class Kind { Softmax, LogSoftmax };

void forward(const char* op, Kind kind, const Tensor& x, Tensor& y, Backend backend) {
  const RowGeometry g = check_rows(op, {{"x", x}, {"y", y}});
  const bool log = kind == Kind::LogSoftmax;
  switch (detail::choose_impl(op, x.device(), x.dtype(), backend)) {
    case Impl::Reference:
    case Impl::Fast:  // no fast implementation: the reference serves
      detail::cpu_dispatch(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        (log ? cpu::log_softmax_forward<T> : cpu::softmax_forward<T>)(x.data<T>(), y.data<T>(), g);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(
          cuda::softmax_forward(x.data<float>(), y.data<float>(), g, log, x.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(
          cudnn::softmax_forward(x.data<float>(), y.data<float>(), g, log, x.device().index));
      break;
  }
}

void backward(const char* op, Kind kind, const Tensor& y, const Tensor& dy, Tensor& dx,
              Backend backend) {
  const RowGeometry g = check_rows(op, {{"y", y}, {"dy", dy}, {"dx", dx}});
  const bool log = kind == Kind::LogSoftmax;
  switch (detail::choose_impl(op, y.device(), y.dtype(), backend)) {
    case Impl::Reference:
    case Impl::Fast:  // no fast implementation: the reference serves
      detail::cpu_dispatch(y.dtype(), [&](auto tag) {
        using T = decltype(tag);
        (log ? cpu::log_softmax_backward<T> : cpu::softmax_backward<T>)(y.data<T>(), dy.data<T>(),
                                                                        dx.data<T>(), g);
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::softmax_backward(y.data<float>(), dy.data<float>(), dx.data<float>(), g,
                                           log, y.device().index));
      break;
    case Impl::Cudnn:
      CUSEG_IF_CUDNN(cudnn::softmax_backward(y.data<float>(), dy.data<float>(), dx.data<float>(), g,
                                             log, y.device().index));
      break;
  }
}

// Validates the inputs of softmax cross-entropy; returns the row geometry.
RowGeometry check_cross_entropy(const char* op, const Tensor& logits, const Tensor& labels,
                                const Tensor& class_weights, const SoftmaxCrossEntropyParams& p,
                                Backend backend) {
  CUSEG_CHECK(backend != Backend::Cudnn, op, ": cuDNN has no softmax cross-entropy");
  CUSEG_CHECK(p.label_smoothing >= 0 && p.label_smoothing <= 1, op, ": label smoothing ", p.label_smoothing,
              " is not in [0, 1]");
  CUSEG_CHECK(std::isfinite(p.focal_gamma) && p.focal_gamma >= 0, op, ": focal gamma ", p.focal_gamma,
              " must be ≥ 0");
  CUSEG_CHECK(p.focal_gamma == 0 || p.label_smoothing == 0, op,
              ": focal loss and label smoothing are not combined");
  const RowGeometry g = detail::check_labels(op, logits, labels);
  if (class_weights.defined()) {
    detail::check_exact(op, {"class_weights", class_weights}, logits.device(), logits.dtype(),
                        Shape{g.channels});
  }
  return g;
}

}  // namespace

void softmax_forward(const Tensor& x, Tensor& y, Backend backend) {
  forward("softmax_forward", Kind::Softmax, x, y, backend);
}
void log_softmax_forward(const Tensor& x, Tensor& y, Backend backend) {
  forward("log_softmax_forward", Kind::LogSoftmax, x, y, backend);
}
void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, Backend backend) {
  backward("softmax_backward", Kind::Softmax, y, dy, dx, backend);
}
void log_softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, Backend backend) {
  backward("log_softmax_backward", Kind::LogSoftmax, y, dy, dx, backend);
}

void softmax_cross_entropy_forward(const Tensor& logits, const Tensor& labels,
                                   const Tensor& class_weights, Tensor& loss, Tensor& weight_sum,
                                   const SoftmaxCrossEntropyParams& p, Backend backend) {
  const char* op = "softmax_cross_entropy_forward";
  const RowGeometry g = check_cross_entropy(op, logits, labels, class_weights, p, backend);
  detail::check_exact(op, {"loss", loss}, logits.device(), logits.dtype(), Shape{1});
  detail::check_exact(op, {"weight_sum", weight_sum}, logits.device(), logits.dtype(), Shape{1});
  int64_t invalid = 0;
  switch (detail::choose_impl(op, logits.device(), logits.dtype(), backend, /*has_fast=*/true)) {
    case Impl::Fast:
      CUSEG_IF_ONEDNN(detail::label_dispatch(labels.dtype(), [&](auto label_tag) {
        using L = decltype(label_tag);
        invalid = fast::softmax_cross_entropy_forward<L>(
            logits.data<float>(), labels.data<L>(), class_weights.defined() ? class_weights.data<float>() : nullptr,
            loss.data<float>(), weight_sum.data<float>(),
            {g.rows, g.channels, p.ignore_index, p.label_smoothing, p.focal_gamma});
      }));
      break;
    case Impl::Reference:
      detail::cpu_dispatch(logits.dtype(), [&](auto tag) {
        using T = decltype(tag);
        detail::label_dispatch(labels.dtype(), [&](auto label_tag) {
          using L = decltype(label_tag);
          invalid = cpu::softmax_cross_entropy_forward<T, L>(
              logits.data<T>(), labels.data<L>(),
              class_weights.defined() ? class_weights.data<T>() : nullptr, loss.data<T>(),
              weight_sum.data<T>(), g, p.ignore_index, p.label_smoothing, p.focal_gamma);
        });
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(invalid = cuda::softmax_cross_entropy_forward(
                        logits.data<float>(), labels.raw_data(), labels.dtype() == DType::U8,
                        class_weights.defined() ? class_weights.data<float>() : nullptr,
                        loss.data<float>(), weight_sum.data<float>(), g, p.ignore_index,
                        p.label_smoothing, p.focal_gamma, logits.device().index));
      break;
    case Impl::Cudnn:
      break;  // refused by check_cross_entropy
  }
  CUSEG_CHECK(invalid == 0, op, ": ", invalid, " label(s) outside [0, ", g.channels,
              ") that are not the ignore label ", p.ignore_index, " (",
              detail::describe({{"logits", logits}, {"labels", labels}}), ")");
}

void softmax_cross_entropy_backward(const Tensor& logits, const Tensor& labels,
                                    const Tensor& class_weights, const Tensor& weight_sum,
                                    Tensor& dlogits, double loss_grad,
                                    const SoftmaxCrossEntropyParams& p, Backend backend) {
  const char* op = "softmax_cross_entropy_backward";
  const RowGeometry g = check_cross_entropy(op, logits, labels, class_weights, p, backend);
  detail::check_exact(op, {"weight_sum", weight_sum}, logits.device(), logits.dtype(), Shape{1});
  detail::check_exact(op, {"dlogits", dlogits}, logits.device(), logits.dtype(), logits.shape());
  switch (detail::choose_impl(op, logits.device(), logits.dtype(), backend, /*has_fast=*/true)) {
    case Impl::Fast:
      CUSEG_IF_ONEDNN(detail::label_dispatch(labels.dtype(), [&](auto label_tag) {
        using L = decltype(label_tag);
        fast::softmax_cross_entropy_backward<L>(
            logits.data<float>(), labels.data<L>(), class_weights.defined() ? class_weights.data<float>() : nullptr,
            weight_sum.data<float>(), dlogits.data<float>(), loss_grad,
            {g.rows, g.channels, p.ignore_index, p.label_smoothing, p.focal_gamma});
      }));
      break;
    case Impl::Reference:
      detail::cpu_dispatch(logits.dtype(), [&](auto tag) {
        using T = decltype(tag);
        detail::label_dispatch(labels.dtype(), [&](auto label_tag) {
          using L = decltype(label_tag);
          cpu::softmax_cross_entropy_backward<T, L>(
              logits.data<T>(), labels.data<L>(),
              class_weights.defined() ? class_weights.data<T>() : nullptr, weight_sum.data<T>(),
              dlogits.data<T>(), loss_grad, g, p.ignore_index, p.label_smoothing, p.focal_gamma);
        });
      });
      break;
    case Impl::Cuda:
      CUSEG_IF_CUDA(cuda::softmax_cross_entropy_backward(
          logits.data<float>(), labels.raw_data(), labels.dtype() == DType::U8,
          class_weights.defined() ? class_weights.data<float>() : nullptr, weight_sum.data<float>(),
          dlogits.data<float>(), loss_grad, g, p.ignore_index, p.label_smoothing, p.focal_gamma, logits.device().index));
      break;
    case Impl::Cudnn:
      break;  // refused by check_cross_entropy
  }
}

}  // namespace cuseg
