#include "cuseg/kernels/dispatch.h"

#include "cuseg/core/device_checks.h"

#include "cuseg/kernels/op.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/onednn/conv2d.h"
#endif

namespace cuseg {

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::Auto:
      return "auto";
    case Backend::Reference:
      return "reference";
    case Backend::Fast:
      return "fast";
    case Backend::Cuda:
      return "cuda";
    case Backend::Cudnn:
      return "cudnn";
  }
  return "?";
}

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::F32:
      return "f32";
    case Precision::Tf32:
      return "tf32";
    case Precision::Bf16:
      return "bf16";
  }
  return "?";
}

namespace detail {

std::string describe(std::initializer_list<Arg> args) {
  std::string s;
  for (const Arg& a : args)
    s += (s.empty() ? "" : ", ") + std::string(a.name) + " " + a.tensor.str();
  return s;
}

InvalidLabels invalid_labels(const char* op, int64_t classes, int ignore_index, const Tensor& logits,
                             const Tensor& labels) {
  InvalidLabels c{str_cat(op, ": "), str_cat(" label(s) outside [0, ", classes, ") that are not the ignore label ",
                                              ignore_index, " (", describe({{"logits", logits}, {"labels", labels}}), ")")};
  if (DeviceChecks* checks = logits.device().is_cuda() ? DeviceChecks::active(logits.device()) : nullptr)
    c.deferred = checks->counter(c.before, c.after);
  return c;
}

void check_shapes(const char* op, std::initializer_list<Arg> args, int rank) {
  for (const Arg& a : args) {
    CUSEG_CHECK(a.tensor.defined(), op, ": ", a.name, " is undefined");
    CUSEG_CHECK(rank < 0 || a.tensor.rank() == rank, op, ": ", a.name, " must have rank ", rank,
                " (", describe(args), ")");
    for (int i = 0; i < a.tensor.rank(); ++i)
      CUSEG_CHECK(a.tensor.dim(i) > 0, op, ": ", a.name, " has a zero-sized dimension (",
                  describe(args), ")");
  }
}

ResizeGeometry check_resize(const char* op, const Arg& x, const Arg& y) {
  check_shapes(op, {x, y}, 4);
  check_float_args(op, {x, y});
  const Shape& xs = x.tensor.shape();
  const Shape& ys = y.tensor.shape();
  CUSEG_CHECK(xs[0] == ys[0] && xs[3] == ys[3], op, ": ", x.name, " and ", y.name,
              " must share batch and channels (", describe({x, y}), ")");
  CUSEG_CHECK(x.tensor.numel() < (int64_t(1) << 31) && y.tensor.numel() < (int64_t(1) << 31), op,
              ": tensors of 2^31 elements or more");
  return {int(xs[0]), int(xs[1]), int(xs[2]), int(xs[3]), int(ys[1]), int(ys[2])};
}

void check_float_args(const char* op, std::initializer_list<Arg> args) {
  const Arg& first = *args.begin();
  for (const Arg& a : args) {
    CUSEG_CHECK(a.tensor.device() == first.tensor.device(), op, ": ", first.name, " and ", a.name,
                " are on different devices (", describe(args), ")");
    CUSEG_CHECK(a.tensor.dtype() == first.tensor.dtype(), op, ": ", first.name, " and ", a.name,
                " have different dtypes (", describe(args), ")");
  }
  const DType t = first.tensor.dtype();
  CUSEG_CHECK(t == DType::F32 || t == DType::F64, op, ": dtype ", dtype_name(t),
              " is not supported (f32, or f64 on the CPU) (", describe(args), ")");
}

void check_same_shapes(const char* op, std::initializer_list<Arg> args) {
  for (const Arg& a : args)
    CUSEG_CHECK(a.tensor.shape() == args.begin()->tensor.shape(), op, ": shapes differ (", describe(args), ")");
}

void check_exact(const char* op, const Arg& arg, Device device, DType dtype, const Shape& shape) {
  CUSEG_CHECK(arg.tensor.defined(), op, ": ", arg.name, " is undefined");
  CUSEG_CHECK(
      arg.tensor.device() == device && arg.tensor.dtype() == dtype && arg.tensor.shape() == shape,
      op, ": ", arg.name, " is ", arg.tensor.str(), ", expected ", dtype_name(dtype), shape.str(),
      "@", device.str());
}

RowGeometry check_labels(const char* op, const Tensor& logits, const Tensor& labels) {
  check_shapes(op, {{"logits", logits}}, -1);
  check_float_args(op, {{"logits", logits}});
  CUSEG_CHECK(logits.rank() >= 1, op, ": logits need at least one dimension");
  CUSEG_CHECK(labels.defined() && (labels.dtype() == DType::U8 || labels.dtype() == DType::I32), op,
              ": labels must be u8 or i32 (", describe({{"labels", labels}}), ")");
  CUSEG_CHECK(labels.device() == logits.device(), op, ": logits and labels are on different devices (",
              describe({{"logits", logits}, {"labels", labels}}), ")");
  bool same = labels.rank() == logits.rank() - 1;
  for (int i = 0; same && i < labels.rank(); ++i) same = labels.dim(i) == logits.dim(i);
  CUSEG_CHECK(same, op, ": labels must have the logits' shape without the class dimension (",
              describe({{"logits", logits}, {"labels", labels}}), ")");
  const int64_t channels = logits.dim(logits.rank() - 1);
  CUSEG_CHECK(channels < (int64_t(1) << 31), op, ": too many classes");
  return {logits.numel() / channels, int(channels)};
}

Impl choose_impl(const char* op, Device device, DType dtype, Backend backend, bool has_fast, bool has_cudnn) {
  if (device.is_cpu()) {
    CUSEG_CHECK(backend != Backend::Cuda && backend != Backend::Cudnn, op, ": the ", backend_name(backend),
                " backend needs CUDA tensors; CPU tensors run reference or fast");
    if (backend == Backend::Fast) {
      CUSEG_CHECK(CUSEG_HAS_ONEDNN, op, ": the fast CPU backend needs oneDNN, and cuseg was built without it");
      CUSEG_CHECK(dtype == DType::F32, op, ": the fast CPU backend runs f32, got ", dtype_name(dtype),
                  " (the reference runs f64)");
    }
    const bool fast =
        backend == Backend::Fast || (backend == Backend::Auto && CUSEG_HAS_ONEDNN && dtype == DType::F32);
    return fast && has_fast ? Impl::Fast : Impl::Reference;
  }
  CUSEG_CHECK(backend != Backend::Fast && backend != Backend::Reference, op, ": the ", backend_name(backend),
              " backend is the CPU's; ", device.str(), " tensors run cuda or cudnn");
  CUSEG_CHECK(CUSEG_HAS_CUDA, op, ": ", device.str(), " tensors but cuseg was built without CUDA");
  CUSEG_CHECK(dtype == DType::F32, op, ": on the GPU only f32 is supported, got ", dtype_name(dtype));
  if (backend == Backend::Cudnn) {
    CUSEG_CHECK(CUSEG_HAS_CUDNN, op, ": the cudnn backend: cuseg was built without cuDNN");
    if (has_cudnn) return Impl::Cudnn;
  }
  return Impl::Cuda;
}

Backend backend_of(Impl impl) {
  switch (impl) {
    case Impl::Reference: return Backend::Reference;
    case Impl::Fast: return Backend::Fast;
    case Impl::Cuda: return Backend::Cuda;
    case Impl::Cudnn: return Backend::Cudnn;
  }
  return Backend::Auto;
}

const char* impl_name(Impl impl) { return backend_name(backend_of(impl)); }

namespace {

std::deque<OpInfo>& mutable_op_infos() {
  // Filled while the library loads, read-only after; a deque, so that the descriptors' pointers
  // into it stay valid as it grows.
  static std::deque<OpInfo> infos;
  return infos;
}

thread_local DispatchTrace* t_trace = nullptr;

}  // namespace

const std::deque<OpInfo>& op_infos() { return mutable_op_infos(); }

const OpInfo* find_op_info(std::string_view name) {
  for (const OpInfo& info : op_infos())
    if (name == info.name) return &info;
  return nullptr;
}

const OpInfo& add_op_info(OpInfo info) {
  CUSEG_CHECK(find_op_info(info.name) == nullptr, "op ", info.name, " is defined twice");
  return mutable_op_infos().emplace_back(std::move(info));
}

Impl choose_impl(const OpInfo& op, Device device, DType dtype, Backend backend, Precision precision) {
  const std::string& what = op.what;
  const Impl impl =
      choose_impl(what.c_str(), device, dtype, backend, op.has_impl(Impl::Fast), op.has_impl(Impl::Cudnn));
  CUSEG_CHECK(op.built_impl(impl), what, ": no ", impl_name(impl), " implementation",
              op.has_impl(impl) ? " in this build" : "");
  if (precision != Precision::F32) {
    const bool fast_bf16 = impl == Impl::Fast && op.bf16 && precision == Precision::Bf16;
    CUSEG_CHECK(fast_bf16 || (impl == Impl::Cuda && op.tensor_cores), what, ": ", precision_name(precision),
                precision == Precision::Bf16
                    ? " runs on the fast CPU path (oneDNN; f32 CPU tensors, backend auto or fast) or on cuseg's "
                      "CUDA kernels (the tensor cores), not on "
                    : " runs on cuseg's CUDA kernels only (the tensor cores; backend auto or cuda), not on ",
                impl_name(impl));
    if (fast_bf16) CUSEG_IF_ONEDNN(onednn::require_bf16(what.c_str()));
  }
  return impl;
}

DispatchTrace::DispatchTrace() : outer_(t_trace) { t_trace = this; }
DispatchTrace::~DispatchTrace() { t_trace = outer_; }

void DispatchTrace::record(const char* op, Impl impl) {
  if (t_trace) t_trace->dispatches_.push_back({op, impl});
}

}  // namespace detail
}  // namespace cuseg
