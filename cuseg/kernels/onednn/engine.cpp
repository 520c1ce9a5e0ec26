#include "cuseg/kernels/onednn/engine.h"

#include <cstdlib>
#include <memory>
#include <vector>

#include <oneapi/dnnl/dnnl_debug.h>

#include "cuseg/core/error.h"

namespace cuseg::onednn {

const dnnl::engine& engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

std::string isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41:
      return "sse41";
    case dnnl::cpu_isa::avx:
      return "avx";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "other";
  }
}

namespace {

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

struct Buffer {
  std::unique_ptr<void, AlignedFree> ptr;
  size_t bytes = 0;
};

}  // namespace

void* scratch(int slot, size_t bytes) {
  thread_local std::vector<Buffer> buffers(kSlots);
  Buffer& b = buffers.at(size_t(slot));
  if (b.bytes < bytes) {
    const size_t rounded = (bytes + 63) / 64 * 64;
    b.ptr.reset();  // release first: the old and new buffers need not coexist
    void* p = std::aligned_alloc(64, rounded);
    CUSEG_CHECK(p != nullptr, "oneDNN scratch: cannot allocate ", rounded, " bytes");
    b.ptr.reset(p);
    b.bytes = rounded;
  }
  return b.ptr.get();
}

void throw_onednn_error(const char* op, const std::string& shapes, const dnnl::error& e) {
  throw Error(str_cat(op, " (", shapes, "): oneDNN failed with ", dnnl_status2str(e.status), ": ",
                      e.what()));
}

}  // namespace cuseg::onednn
