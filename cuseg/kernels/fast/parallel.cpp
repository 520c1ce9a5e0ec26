#include "cuseg/kernels/fast/parallel.h"

namespace cuseg::fast {

const char* clone_isa() {
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
  // The same tests, in the same order, as the resolver target_clones generates.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4";
  if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3";
#endif
  return "x86-64";
}

}  // namespace cuseg::fast
