#include "cuseg/kernels/compute.h"

#include <omp.h>

#include "cuseg/config.h"
#include "cuseg/core/error.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_ONEDNN
#include "cuseg/kernels/fast/parallel.h"
#include "cuseg/kernels/onednn/conv2d.h"
#include "cuseg/kernels/onednn/engine.h"
#endif

namespace cuseg {

Backend parse_backend(const std::string& name) {
  if (name == "auto") return Backend::Auto;
  if (name == "fast") return Backend::Fast;
  if (name == "reference") return Backend::Reference;
  if (name == "cuda") return Backend::Cuda;
  if (name == "cudnn") return Backend::Cudnn;
  throw_error(str_cat("--backend '", name, "': expected auto, reference, fast, cuda or cudnn"));
}

Precision parse_precision(const std::string& name) {
  if (name == "f32") return Precision::F32;
  if (name == "tf32") return Precision::Tf32;
  if (name == "bf16") return Precision::Bf16;
  throw_error(str_cat("--precision '", name, "': expected f32, tf32 or bf16"));
}

int cpu_cores() { return omp_get_num_procs(); }

int cpu_threads() { return omp_get_max_threads(); }

void set_cpu_threads(int threads) {
  const int cores = cpu_cores();
  CUSEG_CHECK(threads >= 0 && threads <= cores, "--threads ", threads, ": must be between 1 and the ", cores,
              " cores this process may use (0: all of them)");
  omp_set_num_threads(threads == 0 ? cores : threads);
}

bool cpu_has_bf16() {
#if CUSEG_HAS_ONEDNN
  try {
    onednn::require_bf16("");
    return true;
  } catch (const Error&) {
    return false;
  }
#else
  return false;
#endif
}

void check_precision(Device device, Backend backend, Precision precision) {
  if (precision == Precision::F32) return;
  const std::string flag = str_cat("--precision ", precision_name(precision));
  const detail::Impl impl = detail::choose_impl(flag.c_str(), device, DType::F32, backend, true, true);
  if (impl == detail::Impl::Cuda) return;  // the tensor cores: tf32 and bf16
  CUSEG_CHECK(impl == detail::Impl::Fast && precision == Precision::Bf16, flag,
              precision == Precision::Bf16
                  ? str_cat(" runs on the GPU's tensor cores (--backend auto or cuda) or on the fast CPU path (",
                            CUSEG_HAS_ONEDNN ? "--device cpu with --backend auto or fast" : "this build has no oneDNN",
                            ")")
                  : std::string(" runs on the GPU's tensor cores only (--backend auto or cuda)"),
              "; ", device.str(), " with --backend ", backend_name(backend), " has no ", precision_name(precision),
              " convolutions");
  CUSEG_IF_ONEDNN(onednn::require_bf16(flag.c_str()));
}

namespace {

// What the compiler built the plain loops for: no -march anywhere, so the baseline of the target
// unless the build asked for more.
const char* compiled_isa() {
#if defined(__AVX512F__)
  return "x86-64-v4 (as compiled)";
#elif defined(__AVX2__)
  return "x86-64-v3 (as compiled)";
#elif defined(__x86_64__)
  return "x86-64 (as compiled)";
#elif defined(__aarch64__)
  return "aarch64 (as compiled)";
#else
  return "the compiler's default target";
#endif
}

}  // namespace

ComputeInfo compute_info(Device device, Backend backend, Precision precision) {
  check_precision(device, backend, precision);
  // choose_impl is the one place that decides; asking it for an op that has every implementation
  // (the convolutions) says what the heavy ops run, and refuses what cannot run.
  const detail::Impl impl = detail::choose_impl("--backend", device, DType::F32, backend, true, true);
  ComputeInfo info{detail::impl_name(impl), "", ""};
  switch (impl) {
    case detail::Impl::Fast:
#if CUSEG_HAS_ONEDNN
      info.isa = str_cat(onednn::isa_name(), " (oneDNN), ", fast::clone_isa(), " (cuseg's kernels)");
      info.line = str_cat("cpu: fast path (oneDNN ", dnnl_version()->major, ".", dnnl_version()->minor, ".",
                          dnnl_version()->patch, " on ", onednn::isa_name(), ", cuseg's kernels for ",
                          fast::clone_isa(), "), ", cpu_threads(), " threads",
                          precision == Precision::Bf16 ? ", bf16 convolutions (f32 weights and accumulation)" : "");
#endif
      break;
    case detail::Impl::Reference:
      info.isa = compiled_isa();
      info.line = str_cat("cpu: reference kernels", CUSEG_HAS_ONEDNN ? "" : " (this build has no oneDNN, so no fast path)",
                          ", ", cpu_threads(), " threads");
      break;
    case detail::Impl::Cuda:
      info.isa = CUSEG_CUDA_EMULATED ? "emulated on the CPU" : cuda_device_name(device.index);
      info.line = str_cat(device.str(), ": cuseg CUDA kernels", CUSEG_CUDA_EMULATED ? " (emulated on CPU threads)" : "",
                          precision == Precision::F32
                              ? ""
                              : str_cat(", ", precision_name(precision),
                                        " tensor-core convolutions (f32 weights and accumulation)"));
      break;
    case detail::Impl::Cudnn:
      info.isa = CUSEG_CUDA_EMULATED ? "emulated on the CPU" : cuda_device_name(device.index);
      info.line = str_cat(device.str(), ": cuDNN (cuseg's CUDA kernels for the ops cuDNN does not have)");
      break;
  }
  return info;
}

std::string compute_description(Device device, Backend backend, Precision precision) {
  return compute_info(device, backend, precision).line;
}

}  // namespace cuseg
