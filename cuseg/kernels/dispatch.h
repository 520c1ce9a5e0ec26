// Internal: what every entry point does before it runs an op — validate the tensors, then pick
// the implementation from their device, their dtype and the requested Backend.
#pragma once

#include <initializer_list>

#include "cuseg/config.h"
#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"
#include "cuseg/kernels/geometry.h"

namespace cuseg::detail {

struct Arg {
  const char* name;
  const Tensor& tensor;
};

// "x f32[1,8,8,3]@cpu, w f32[4,3,3,3]@cpu"
std::string describe(std::initializer_list<Arg> args);

// Every argument is defined, has the given rank (−1: any) and no zero-sized dimension.
void check_shapes(const char* op, std::initializer_list<Arg> args, int rank);
// Every argument is on the first one's device and has its floating dtype (f32, or f64 on the
// CPU).
void check_float_args(const char* op, std::initializer_list<Arg> args);
// Every argument has the first one's shape.
void check_same_shapes(const char* op, std::initializer_list<Arg> args);
// `t` is on `device`, has dtype `dtype` and shape `shape`.
void check_exact(const char* op, const Arg& arg, Device device, DType dtype, const Shape& shape);

// x and y NHWC, floating, on one device, sharing batch and channels, any heights and widths:
// the geometry of resizing (upsample.h) and adaptive pooling (adaptive_pool2d.h), x → y.
ResizeGeometry check_resize(const char* op, const Arg& x, const Arg& y);

// Logits (classes last, any rank ≥ 1, floating) and per-pixel labels (u8 or i32, the logits'
// shape without the class dimension, same device). Returns pixels × classes.
RowGeometry check_labels(const char* op, const Tensor& logits, const Tensor& labels);

// The implementation that runs (backend.h names them): never Auto.
enum class Impl { Reference, Fast, Cuda, Cudnn };
// The rule of op.h's choose_impl for something that runs on `device` with `backend`, whose fast
// CPU and cuDNN implementations exist where `has_fast` and `has_cudnn` say: for what is not one
// op (the optimizer's step, the line saying what runs). Throws what cannot run.
Impl choose_impl(const char* what, Device device, DType dtype, Backend backend, bool has_fast, bool has_cudnn);

// Calls f(float{}) or f(double{}) for the CPU reference.
template <class F>
void cpu_dispatch(DType dtype, F&& f) {
  if (dtype == DType::F64) {
    f(double{});
  } else {
    f(float{});
  }
}

// The check that no label lies outside [0, classes) but the ignore label, shared by the ops that
// read labels: its message around the count, and, where DeviceChecks are active on the logits'
// device (core/device_checks.h), the device counter the CUDA op adds its count to instead of
// reading it back (then the op's count is 0 here and the check is raise_if_any's).
struct InvalidLabels {
  std::string before, after;
  double* deferred = nullptr;
  void check(int64_t count) const { CUSEG_CHECK(count == 0, before, count, after); }
};
InvalidLabels invalid_labels(const char* op, int64_t classes, int ignore_index, const Tensor& logits,
                             const Tensor& labels);

// Calls f(uint8_t{}) or f(int32_t{}) for a labels tensor's dtype (checked by check_labels).
template <class F>
void label_dispatch(DType dtype, F&& f) {
  if (dtype == DType::U8) {
    f(uint8_t{});
  } else {
    f(int32_t{});
  }
}

}  // namespace cuseg::detail

// Code of the fast CPU path outside the ops' descriptors (the optimizer's step, bf16's check)
// compiles only where the build has oneDNN; elsewhere choose_impl has already refused it. The
// descriptors say the same with kernels/op.h's CUSEG_FAST_IMPL and friends.
#if CUSEG_HAS_ONEDNN
#define CUSEG_IF_ONEDNN(...) __VA_ARGS__
#else
#define CUSEG_IF_ONEDNN(...) ((void)0)
#endif
