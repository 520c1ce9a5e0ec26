// Internal: an op's descriptor — its name, the entry point it serves, and the function each of its
// implementations has (null where it has none). The descriptor is the only place that says which
// implementations an op has: dispatch (run below) calls its functions, and the op registry, seg_verify,
// the tests and docs/OPS.md read the same table through op_infos(). Every entry point in
// kernels/*.h validates its arguments, then calls run() with its op's descriptor, nothing else.
//
//   struct MaxPoolForward { const Tensor& x; Tensor& y; Tensor& argmax; const PoolGeometry& g; };
//   const auto kMaxPoolForward = detail::define_op<MaxPoolForward>({
//       .name = "max_pool2d_forward", .entry = "max_pool2d_forward",
//       .reference = [](const MaxPoolForward& a) { ... cpu::max_pool2d_forward ... },
//       .fast = CUSEG_FAST_IMPL([](const MaxPoolForward& a) { ... }),
//       .cuda = CUSEG_CUDA_IMPL([](const MaxPoolForward& a) { ... }),
//   });
//   ... detail::run(kMaxPoolForward, x, backend, {x, y, argmax, g});
#pragma once

#include <array>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "cuseg/kernels/dispatch.h"

namespace cuseg::detail {

constexpr size_t kImpls = 4;  // Impl::Reference, Fast, Cuda, Cudnn
Backend backend_of(Impl impl);      // the Backend that asks for exactly this implementation
const char* impl_name(Impl impl);  // "reference", "fast", "cuda", "cudnn": backend.h's names

// What an op's descriptor says, without its functions: what everything but dispatch reads.
struct OpInfo {
  const char* name = nullptr;   // the op: "relu_forward"
  const char* entry = nullptr;  // the entry point that runs it: "activation_forward" (kernels/activation.h)
  std::array<bool, kImpls> has{};    // by Impl: the op has this implementation (in the source)
  std::array<bool, kImpls> built{};  // ... and this build compiled it (CUDA, cuDNN, oneDNN are options)
  bool bf16 = false;  // the fast implementation also computes in Precision::Bf16
  bool tensor_cores = false;  // the CUDA implementation also computes in Tf32 and Bf16
  // What errors name: the entry point and, where it runs several ops, the op
  // ("activation_forward (leaky_relu_forward)").
  std::string what;
  bool has_impl(Impl impl) const { return has[size_t(impl)]; }
  bool built_impl(Impl impl) const { return built[size_t(impl)]; }
};

// What a descriptor holds for an implementation the op has but this build does not compile
// (CUSEG_CUDA_IMPL and friends below); never called, since choose_impl refuses such builds first.
template <class Args>
void not_built(const Args&) {
  throw_error("internal: an implementation this build does not have was called");
}

template <class Args>
struct Op {
  using Fn = void (*)(const Args&);
  const char* name;
  const char* entry;
  Fn reference = nullptr;  // every op has one: the definition
  Fn fast = nullptr;
  Fn cuda = nullptr;
  Fn cudnn = nullptr;
  bool bf16 = false;  // see OpInfo
  bool tensor_cores = false;  // see OpInfo
  const OpInfo* info = nullptr;  // its entry in op_infos(): set by define_op, never by hand
};

// Every op of the library, in the order they were defined (at load time); and one by name (null
// when there is none).
const std::deque<OpInfo>& op_infos();
const OpInfo* find_op_info(std::string_view name);
const OpInfo& add_op_info(OpInfo info);

template <class Args>
OpInfo info_of(const Op<Args>& op) {
  OpInfo info;
  info.name = op.name;
  info.entry = op.entry;
  const std::array<typename Op<Args>::Fn, kImpls> fns = {op.reference, op.fast, op.cuda, op.cudnn};
  for (size_t i = 0; i < kImpls; ++i) {
    info.has[i] = fns[i] != nullptr;
    info.built[i] = fns[i] != nullptr && fns[i] != &not_built<Args>;
  }
  info.bf16 = op.bf16;
  info.tensor_cores = op.tensor_cores;
  info.what = std::string_view(op.entry) == op.name ? op.name : std::string(op.entry) + " (" + op.name + ")";
  return info;
}

// Records the op's descriptor in op_infos() and returns it: how every descriptor is made.
template <class Args>
Op<Args> define_op(Op<Args> op) {
  op.info = &add_op_info(info_of(op));
  return op;
}

// The implementation an op runs on tensors of `device` and `dtype` when `backend` is asked for:
//   CPU   Auto: fast on f32 where the build has the fast path and the op a fast implementation,
//         else the reference; Reference: the reference; Fast: the fast implementation, the
//         reference where the op has none (an error without oneDNN, or on f64); Cuda and Cudnn
//         are errors.
//   GPU   Auto and Cuda: cuseg's CUDA kernels; Cudnn: cuDNN where the op has it, else cuseg's
//         kernels (an error in a build without cuDNN); Reference and Fast are errors; f32 only.
//   Precision::Bf16 only where the result is an op's bf16-capable fast implementation or its
//   CUDA implementation on the tensor cores; Precision::Tf32 only on the latter.
// Nothing falls back from one device to another.
Impl choose_impl(const OpInfo& op, Device device, DType dtype, Backend backend, Precision precision = Precision::F32);

// Every dispatch on this thread while a DispatchTrace lives is recorded in it, innermost trace
// only: how check_op proves that the implementation it asked for is the one that ran.
struct Dispatch {
  const char* op;
  Impl impl;
};
class DispatchTrace {
 public:
  DispatchTrace();
  ~DispatchTrace();
  DispatchTrace(const DispatchTrace&) = delete;
  DispatchTrace& operator=(const DispatchTrace&) = delete;
  const std::vector<Dispatch>& dispatches() const { return dispatches_; }
  static void record(const char* op, Impl impl);

 private:
  std::vector<Dispatch> dispatches_;
  DispatchTrace* outer_;
};

// Chooses the implementation (choose_impl) and calls its function with `args`. `first` is the
// tensor whose device and dtype decide (the others have been checked against it).
template <class Args>
void run(const Op<Args>& op, const Tensor& first, Backend backend, const Args& args,
         Precision precision = Precision::F32) {
  const Impl impl = choose_impl(*op.info, first.device(), first.dtype(), backend, precision);
  const std::array<typename Op<Args>::Fn, kImpls> fns = {op.reference, op.fast, op.cuda, op.cudnn};
  DispatchTrace::record(op.name, impl);
  fns[size_t(impl)](args);
}

}  // namespace cuseg::detail

// An implementation's function in a descriptor where the build has that implementation, and
// detail::not_built elsewhere (where its code is not even compiled): so what an op has is the same
// in every build, and what this build has is known too.
#if CUSEG_HAS_ONEDNN
#define CUSEG_FAST_IMPL(...) __VA_ARGS__
#else
#define CUSEG_FAST_IMPL(...) ::cuseg::detail::not_built
#endif
#if CUSEG_HAS_CUDA
#define CUSEG_CUDA_IMPL(...) __VA_ARGS__
#else
#define CUSEG_CUDA_IMPL(...) ::cuseg::detail::not_built
#endif
#if CUSEG_HAS_CUDNN
#define CUSEG_CUDNN_IMPL(...) __VA_ARGS__
#else
#define CUSEG_CUDNN_IMPL(...) ::cuseg::detail::not_built
#endif
