// The registry of ops: for each op, its test shapes, how to build random inputs, and how to run
// it. One generic check (check_op) runs any op on any device and backend in float32 against the
// CPU reference in float64; the test suite uses it to prove that every op has every
// implementation and that they agree, and seg_verify prints the same checks as a table.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

struct OpCase {
  std::string label;  // shapes and parameters, e.g. "x[2,9,11,3] w[5,3,3,3] s2 p1"
  bool unet_sized = false;
};

// How check_op runs an op: the backend, and the convolutions' precision (which ops without a
// convolution ignore). Converts from and to Backend, so a run written for a Backend reads as one.
struct Exec {
  Backend backend = Backend::Auto;
  Precision precision = Precision::F32;
  Exec(Backend b = Backend::Auto, Precision p = Precision::F32) : backend(b), precision(p) {}
  operator Backend() const { return backend; }
};

struct OpSpec {
  std::string name;  // the entry point's name, e.g. "conv2d_forward"
  std::vector<OpCase> cases;
  bool has_cudnn = false;  // whether Backend::Cudnn runs it
  // Relative L2 tolerance of float32 against the float64 reference.
  double tolerance = 1e-5;
  // The op's inputs for case `i`, on the CPU; floating tensors in f64.
  std::function<std::vector<Tensor>(int i, uint64_t seed)> make_inputs;
  // Runs the op on inputs that share one device and one floating dtype; returns its outputs,
  // freshly allocated and poisoned (NaN) before the call, or pre-filled where the op accumulates.
  std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs, int i, Exec exec)> run;
  // Whether the fast CPU path (Backend::Fast) has its own implementation; without one it runs
  // the reference, which the reference's float32 check covers.
  bool has_fast = false;
  // Of Precision::Bf16 against the float64 reference, for ops with a bf16 path (convolutions):
  // inputs rounded to 8 significant bits (relative error 2^-9 each) give products off by up to
  // 2^-8, which sums of many terms with random signs average down.
  double bf16_tolerance = 0;
};

const std::vector<OpSpec>& op_registry();
const OpSpec& find_op(const std::string& name);

struct OpCheck {
  std::string op, case_label;
  std::string impl;       // "reference", "fast", "cuda", "cudnn" (backend.h)
  std::string precision;  // of the convolutions: "f32" or "bf16"
  double rel_l2 = 0, max_abs = 0;
  double max_rel = 0;  // max_abs relative to max|ref| (what the element bound of Comparison::ok judges)
  double milliseconds = 0;  // the implementation's run, after a warm-up run
  bool pass = false;
  std::string detail;  // the worst element, or the error
};

// Runs case `i` of `op` in float32 on `device` with `backend` and compares every output with
// the float64 CPU reference. Never throws for a failing kernel: the failure is in the result.
// `precision` Bf16 compares against the float64 reference with OpSpec::bf16_tolerance.
OpCheck check_op(const OpSpec& op, int i, Device device, Backend backend, uint64_t seed,
                 Precision precision = Precision::F32);

// An output tensor filled with NaN (floating) or a value no valid output takes (integers: a
// negative index in i32, 255 in u8, where masks are 0 or 1).
Tensor poisoned(const Shape& shape, DType dtype, Device device);

}  // namespace cuseg
