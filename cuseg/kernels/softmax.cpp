#include "cuseg/kernels/softmax.h"

#include <cmath>

#include "cuseg/kernels/cpu/softmax.h"
#include "cuseg/kernels/op.h"
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

struct Forward {
  const Tensor& x;
  Tensor& y;
  const RowGeometry& g;
};
struct Backward {
  const Tensor& y;
  const Tensor& dy;
  Tensor& dx;
  const RowGeometry& g;
};

// softmax and log-softmax: one template each way, `log` telling them apart.
template <bool log>
detail::Op<Forward> forward_op(const char* name) {
  return detail::define_op<Forward>({
      .name = name,
      .entry = name,
      .reference =
          [](const Forward& a) {
            detail::cpu_dispatch(a.x.dtype(), [&](auto tag) {
              using T = decltype(tag);
              (log ? cpu::log_softmax_forward<T> : cpu::softmax_forward<T>)(a.x.data<T>(), a.y.data<T>(), a.g);
            });
          },
      .cuda = CUSEG_CUDA_IMPL([](const Forward& a) {
        cuda::softmax_forward(a.x.data<float>(), a.y.data<float>(), a.g, log, a.x.device().index);
      }),
      .cudnn = CUSEG_CUDNN_IMPL([](const Forward& a) {
        cudnn::softmax_forward(a.x.data<float>(), a.y.data<float>(), a.g, log, a.x.device().index);
      }),
  });
}

template <bool log>
detail::Op<Backward> backward_op(const char* name) {
  return detail::define_op<Backward>({
      .name = name,
      .entry = name,
      .reference =
          [](const Backward& a) {
            detail::cpu_dispatch(a.y.dtype(), [&](auto tag) {
              using T = decltype(tag);
              (log ? cpu::log_softmax_backward<T> : cpu::softmax_backward<T>)(a.y.data<T>(), a.dy.data<T>(),
                                                                              a.dx.data<T>(), a.g);
            });
          },
      .cuda = CUSEG_CUDA_IMPL([](const Backward& a) {
        cuda::softmax_backward(a.y.data<float>(), a.dy.data<float>(), a.dx.data<float>(), a.g, log,
                               a.y.device().index);
      }),
      .cudnn = CUSEG_CUDNN_IMPL([](const Backward& a) {
        cudnn::softmax_backward(a.y.data<float>(), a.dy.data<float>(), a.dx.data<float>(), a.g, log,
                                a.y.device().index);
      }),
  });
}

const auto kSoftmaxForward = forward_op<false>("softmax_forward");
const auto kLogSoftmaxForward = forward_op<true>("log_softmax_forward");
const auto kSoftmaxBackward = backward_op<false>("softmax_backward");
const auto kLogSoftmaxBackward = backward_op<true>("log_softmax_backward");

// Validates the inputs of softmax cross-entropy; returns the row geometry.
RowGeometry check_cross_entropy(const char* op, const Tensor& logits, const Tensor& labels,
                                const Tensor& class_weights, const SoftmaxCrossEntropyParams& p) {
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
  const RowGeometry g = check_rows("softmax_forward", {{"x", x}, {"y", y}});
  detail::run(kSoftmaxForward, x, backend, {x, y, g});
}
void log_softmax_forward(const Tensor& x, Tensor& y, Backend backend) {
  const RowGeometry g = check_rows("log_softmax_forward", {{"x", x}, {"y", y}});
  detail::run(kLogSoftmaxForward, x, backend, {x, y, g});
}
void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, Backend backend) {
  const RowGeometry g = check_rows("softmax_backward", {{"y", y}, {"dy", dy}, {"dx", dx}});
  detail::run(kSoftmaxBackward, y, backend, {y, dy, dx, g});
}
void log_softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, Backend backend) {
  const RowGeometry g = check_rows("log_softmax_backward", {{"y", y}, {"dy", dy}, {"dx", dx}});
  detail::run(kLogSoftmaxBackward, y, backend, {y, dy, dx, g});
}

namespace {

struct CrossEntropyForward {
  const Tensor& logits;
  const Tensor& labels;
  const Tensor& class_weights;  // may be undefined
  Tensor& loss;
  Tensor& weight_sum;
  const RowGeometry& g;
  const SoftmaxCrossEntropyParams& p;
  int64_t* invalid;  // labels outside [0, K) that are not the ignore label
  double* deferred;  // the CUDA op adds the count here instead (detail::InvalidLabels)
};
struct CrossEntropyBackward {
  const Tensor& logits;
  const Tensor& labels;
  const Tensor& class_weights;
  const Tensor& weight_sum;
  Tensor& dlogits;
  double loss_grad;
  const RowGeometry& g;
  const SoftmaxCrossEntropyParams& p;
};

template <class T>
const T* weights_of(const Tensor& class_weights) {
  return class_weights.defined() ? class_weights.data<T>() : nullptr;
}

// cuDNN has no cross-entropy.
const auto kCrossEntropyForward = detail::define_op<CrossEntropyForward>({
    .name = "softmax_cross_entropy_forward",
    .entry = "softmax_cross_entropy_forward",
    .reference =
        [](const CrossEntropyForward& a) {
          detail::cpu_dispatch(a.logits.dtype(), [&](auto tag) {
            using T = decltype(tag);
            detail::label_dispatch(a.labels.dtype(), [&](auto label_tag) {
              using L = decltype(label_tag);
              *a.invalid = cpu::softmax_cross_entropy_forward<T, L>(
                  a.logits.data<T>(), a.labels.data<L>(), weights_of<T>(a.class_weights), a.loss.data<T>(),
                  a.weight_sum.data<T>(), a.g, a.p.ignore_index, a.p.label_smoothing, a.p.focal_gamma);
            });
          });
        },
    .fast = CUSEG_FAST_IMPL([](const CrossEntropyForward& a) {
      detail::label_dispatch(a.labels.dtype(), [&](auto label_tag) {
        using L = decltype(label_tag);
        *a.invalid = fast::softmax_cross_entropy_forward<L>(
            a.logits.data<float>(), a.labels.data<L>(), weights_of<float>(a.class_weights), a.loss.data<float>(),
            a.weight_sum.data<float>(), {a.g.rows, a.g.channels, a.p.ignore_index, a.p.label_smoothing, a.p.focal_gamma});
      });
    }),
    .cuda = CUSEG_CUDA_IMPL([](const CrossEntropyForward& a) {
      *a.invalid = cuda::softmax_cross_entropy_forward(
          a.logits.data<float>(), a.labels.raw_data(), a.labels.dtype() == DType::U8, weights_of<float>(a.class_weights),
          a.loss.data<float>(), a.weight_sum.data<float>(), a.g, a.p.ignore_index, a.p.label_smoothing,
          a.p.focal_gamma, a.logits.device().index, a.deferred);
    }),
});

const auto kCrossEntropyBackward = detail::define_op<CrossEntropyBackward>({
    .name = "softmax_cross_entropy_backward",
    .entry = "softmax_cross_entropy_backward",
    .reference =
        [](const CrossEntropyBackward& a) {
          detail::cpu_dispatch(a.logits.dtype(), [&](auto tag) {
            using T = decltype(tag);
            detail::label_dispatch(a.labels.dtype(), [&](auto label_tag) {
              using L = decltype(label_tag);
              cpu::softmax_cross_entropy_backward<T, L>(a.logits.data<T>(), a.labels.data<L>(),
                                                        weights_of<T>(a.class_weights), a.weight_sum.data<T>(),
                                                        a.dlogits.data<T>(), a.loss_grad, a.g, a.p.ignore_index,
                                                        a.p.label_smoothing, a.p.focal_gamma);
            });
          });
        },
    .fast = CUSEG_FAST_IMPL([](const CrossEntropyBackward& a) {
      detail::label_dispatch(a.labels.dtype(), [&](auto label_tag) {
        using L = decltype(label_tag);
        fast::softmax_cross_entropy_backward<L>(
            a.logits.data<float>(), a.labels.data<L>(), weights_of<float>(a.class_weights), a.weight_sum.data<float>(),
            a.dlogits.data<float>(), a.loss_grad,
            {a.g.rows, a.g.channels, a.p.ignore_index, a.p.label_smoothing, a.p.focal_gamma});
      });
    }),
    .cuda = CUSEG_CUDA_IMPL([](const CrossEntropyBackward& a) {
      cuda::softmax_cross_entropy_backward(a.logits.data<float>(), a.labels.raw_data(), a.labels.dtype() == DType::U8,
                                           weights_of<float>(a.class_weights), a.weight_sum.data<float>(),
                                           a.dlogits.data<float>(), a.loss_grad, a.g, a.p.ignore_index,
                                           a.p.label_smoothing, a.p.focal_gamma, a.logits.device().index);
    }),
});

}  // namespace

void softmax_cross_entropy_forward(const Tensor& logits, const Tensor& labels, const Tensor& class_weights,
                                   Tensor& loss, Tensor& weight_sum, const SoftmaxCrossEntropyParams& p,
                                   Backend backend) {
  const char* op = "softmax_cross_entropy_forward";
  const RowGeometry g = check_cross_entropy(op, logits, labels, class_weights, p);
  detail::check_exact(op, {"loss", loss}, logits.device(), logits.dtype(), Shape{1});
  detail::check_exact(op, {"weight_sum", weight_sum}, logits.device(), logits.dtype(), Shape{1});
  const detail::InvalidLabels labels_check = detail::invalid_labels(op, g.channels, p.ignore_index, logits, labels);
  int64_t invalid = 0;
  detail::run(kCrossEntropyForward, logits, backend,
              {logits, labels, class_weights, loss, weight_sum, g, p, &invalid, labels_check.deferred});
  labels_check.check(invalid);
}

void softmax_cross_entropy_backward(const Tensor& logits, const Tensor& labels, const Tensor& class_weights,
                                    const Tensor& weight_sum, Tensor& dlogits, double loss_grad,
                                    const SoftmaxCrossEntropyParams& p, Backend backend) {
  const char* op = "softmax_cross_entropy_backward";
  const RowGeometry g = check_cross_entropy(op, logits, labels, class_weights, p);
  detail::check_exact(op, {"weight_sum", weight_sum}, logits.device(), logits.dtype(), Shape{1});
  detail::check_exact(op, {"dlogits", dlogits}, logits.device(), logits.dtype(), logits.shape());
  detail::run(kCrossEntropyBackward, logits, backend,
              {logits, labels, class_weights, weight_sum, dlogits, loss_grad, g, p});
}

}  // namespace cuseg
