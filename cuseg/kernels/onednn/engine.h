// Internal: oneDNN as cuseg uses it — one CPU engine, a stream per calling thread, per-thread
// scratch buffers that grow and are kept (no allocation per call), and every oneDNN failure
// turned into a cuseg::Error naming the op, its shapes and oneDNN's status.
#pragma once

#include <cstddef>
#include <string>

#include <oneapi/dnnl/dnnl.hpp>

namespace cuseg::onednn {

const dnnl::engine& engine();
// The calling thread's stream (CPU streams are cheap; one per thread keeps ops from threads
// independent of each other).
dnnl::stream& stream();

// What oneDNN's CPU code runs with here: "avx512_core_amx", "avx2", ...
std::string isa_name();

// The calling thread's buffer number `slot`, at least `bytes` long and 64-byte aligned; valid
// until the same thread asks for the same slot again.
void* scratch(int slot, size_t bytes);
enum Slot : int { kScratchpad, kWeights, kDiffWeights, kSrc, kDiffDst, kDst, kSlots };

// Runs `f`; a dnnl::error it throws becomes a cuseg::Error "op (shapes): oneDNN status: message".
template <class F>
void guarded(const char* op, const std::string& shapes, F&& f);

[[noreturn]] void throw_onednn_error(const char* op, const std::string& shapes,
                                     const dnnl::error& e);

template <class F>
void guarded(const char* op, const std::string& shapes, F&& f) {
  try {
    f();
  } catch (const dnnl::error& e) {
    throw_onednn_error(op, shapes, e);
  }
}

}  // namespace cuseg::onednn
