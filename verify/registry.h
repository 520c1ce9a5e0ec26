// The registry of op tests: for every op (kernels/op.h's descriptors), its test cases, how to
// build random inputs and how to run it. One generic check (check_op) runs any op on any of its
// implementations in float32 against the CPU reference in float64; the test suite runs it for
// every implementation each op's descriptor names, and seg_verify prints the same checks as a
// table. The cases live next to the kernels, one file per op family (cuseg/kernels/*_cases.cpp);
// which implementations an op has is never written here: it comes from the op's descriptor.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"
#include "cuseg/kernels/op.h"

namespace cuseg {

using detail::Impl;

struct OpCase {
  std::string label;  // shapes and parameters, e.g. "x[2,9,11,3] w[5,3,3,3] s2 p1"
  bool unet_sized = false;
};

// How a spec's run calls its op: the backend, and the convolutions' precision (which ops without a
// convolution ignore). Converts to Backend, so a run passes it where an entry point takes one.
struct Exec {
  Backend backend = Backend::Auto;
  Precision precision = Precision::F32;
  Exec(Backend b = Backend::Auto, Precision p = Precision::F32) : backend(b), precision(p) {}
  operator Backend() const { return backend; }
};

struct OpSpec {
  std::string name;  // the op's descriptor's name, e.g. "conv2d_forward"
  std::vector<OpCase> cases;
  // Relative L2 tolerance of float32 against the float64 reference.
  double tolerance = 1e-5;
  // Of Precision::Tf32 against the float64 reference, for the ops that run on the tensor cores
  // (descriptor: tensor_cores): inputs rounded to 11 significant bits.
  double tf32_tolerance = 0;
  // Of Precision::Bf16 against the float64 reference, for the ops whose descriptor says bf16 or
  // tensor_cores (the convolutions): inputs rounded to 8 significant bits (relative error 2^-9
  // each) give products off by up to 2^-8, which sums of many terms with random signs average down.
  double bf16_tolerance = 0;
  // The op's inputs for case `i`, on the CPU; floating tensors in f64.
  std::function<std::vector<Tensor>(int i, uint64_t seed)> make_inputs;
  // Runs the op on inputs that share one device and one floating dtype, passing `exec` to the
  // entry point; returns its outputs, freshly allocated and poisoned (NaN) before the call, or
  // pre-filled where the op accumulates.
  std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs, int i, Exec exec)> run;

  // The op's descriptor (null when no op has this name: a test fails then). Set by the registry.
  const detail::OpInfo* info = nullptr;
};

// Registers a family's specs (a static object in each *_cases.cpp): `make` is called once, when
// op_registry() is first asked for.
struct OpTests {
  OpTests(const char* family, std::vector<OpSpec> (*make)());
};

const std::vector<OpSpec>& op_registry();
const OpSpec& find_op(const std::string& name);

// An (op, implementation, precision) the registry checks: every implementation this build has of
// every op, bf16 for the ops whose fast implementation has it, tf32 and bf16 for those whose CUDA
// implementation runs on the tensor cores.
struct OpTarget {
  const OpSpec* op;
  Impl impl;
  Precision precision = Precision::F32;
  std::string name() const;  // "conv2d_forward_fast_bf16", "conv2d_forward_cuda_tf32": a test's name
};
std::vector<OpTarget> op_targets(bool gpu);  // the CPU's implementations, or the GPU's

struct OpCheck {
  std::string op, case_label;
  std::string impl;       // "reference", "fast", "cuda", "cudnn" (backend.h)
  std::string precision;  // of the convolutions: "f32", "tf32" or "bf16"
  double rel_l2 = 0, max_abs = 0;
  double max_rel = 0;  // max_abs relative to max|ref| (what the element bound of Comparison::ok judges)
  double milliseconds = 0;  // the implementation's run, after a warm-up run
  bool pass = false;
  std::string detail;  // the worst element, or the error
};

// Runs case `i` of `op` in float32 on `impl` (the CPU for reference and fast, the first GPU for
// cuda and cudnn) and compares every output with the float64 CPU reference. Fails unless every
// dispatch of the op during the run went to `impl` (kernels/op.h's DispatchTrace), so a spec
// whose run does not pass its Exec on cannot pass for an implementation it never ran. Never
// throws for a failing kernel: the failure is in the result. Tf32 and Bf16 compare against the
// float64 reference with the spec's tolerance for them (tolerance_of).
OpCheck check_op(const OpSpec& op, int i, Impl impl, uint64_t seed, Precision precision = Precision::F32);
double tolerance_of(const OpSpec& op, Precision precision);

// An output tensor filled with NaN (floating) or a value no valid output takes (integers: a
// negative index in i32, 255 in u8, where masks are 0 or 1).
Tensor poisoned(const Shape& shape, DType dtype, Device device);

// The Markdown table of docs/OPS.md: every op, its entry point and the implementations it has.
std::string ops_table();

}  // namespace cuseg
