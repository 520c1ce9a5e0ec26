// The tensor cores' mma.sync on the emulated device: a warp collective in which every lane
// deposits its fragments of A, B and C and computes the four elements of D the PTX ISA assigns
// it ("Matrix Fragments for mma.m16n8k8" / "mma.m16n8k16", PTX ISA 8.x, section 9.7.14.5). The
// layouts are written here from the ISA's tables and nowhere else in the emulator, so a kernel
// that loads its fragments in any other arrangement computes a wrong product, as on a GPU.
//
// Arithmetic: tf32 operands keep 10 mantissa bits (the low 13 of the 32-bit register are ignored,
// as the hardware does with an f32 it is handed); bf16 ones are what the register holds. Products
// of such operands are exact in double, and the sum of the K products and C is taken in double
// and rounded once to f32. The hardware's order and intermediate rounding of that sum are not
// specified: kernels are tested against tolerances that allow for them, or on values whose sums
// are exact in f32 (small integers), where every order gives the same bits.
#include <bit>
#include <cstdint>
#include <string>

#include "cuseg/emu/device_api.h"

namespace cuseg::emu {
namespace {

constexpr uint32_t kFullWarp = 0xffffffffu;

double tf32(uint32_t bits) { return double(std::bit_cast<float>(bits & 0xffffe000u)); }
double bf16(uint32_t reg, int half) {
  return double(std::bit_cast<float>(half == 0 ? reg << 16 : reg & 0xffff0000u));
}

}  // namespace

void mma_sync(MmaShape shape, float* d, const uint32_t* a, const uint32_t* b, const float* c,
              std::source_location where) {
  const char* what = shape == MmaShape::M16N8K8_TF32 ? "mma.sync.m16n8k8.tf32" : "mma.sync.m16n8k16.bf16";
  // One warp round: each lane's 4 A and 2 B registers as three 64-bit words.
  const uint64_t mine[3] = {uint64_t(a[0]) | uint64_t(a[1]) << 32, uint64_t(a[2]) | uint64_t(a[3]) << 32,
                            uint64_t(b[0]) | uint64_t(b[1]) << 32};
  uint64_t all[32][kWarpRoundWords];
  warp_exchange(kFullWarp, mine, 3, all, what, where);
  // The PTX ISA's tables, read backwards: which lane and register hold A(m, k) and B(k, n).
  //   tf32 m16n8k8   a_i of lane 4g+t: A(g + 8(i&1), t + 4(i>>1));   b_i: B(t + 4i, g)
  //   bf16 m16n8k16  a_i (halves h = 0, 1): A(g + 8(i&1), 2t + h + 8(i>>1));   b_i: B(2t + h + 8i, g)
  const auto a_reg = [&](int lane, int i) { return uint32_t(all[lane][i / 2] >> (32 * (i % 2))); };
  const auto b_reg = [&](int lane, int i) { return uint32_t(all[lane][2] >> (32 * i)); };
  const auto A = [&](int m, int k) {
    if (shape == MmaShape::M16N8K8_TF32) return tf32(a_reg(4 * (m % 8) + k % 4, m / 8 + 2 * (k / 4)));
    return bf16(a_reg(4 * (m % 8) + (k % 8) / 2, m / 8 + 2 * (k / 8)), k % 2);
  };
  const auto B = [&](int k, int n) {
    if (shape == MmaShape::M16N8K8_TF32) return tf32(b_reg(4 * n + k % 4, k / 4));
    return bf16(b_reg(4 * n + (k % 8) / 2, k / 8), k % 2);
  };
  // C and D: c0, c1 at (g, 2t), (g, 2t+1); c2, c3 at (g+8, 2t), (g+8, 2t+1). Each lane's own.
  const int k_dim = shape == MmaShape::M16N8K8_TF32 ? 8 : 16;
  const int lane = int(lane_id()), group = lane >> 2, in_group = lane & 3;
  float out[4];
  for (int i = 0; i < 4; ++i) {
    const int m = group + (i >> 1) * 8, n = in_group * 2 + (i & 1);
    double sum = double(c[i]);
    for (int k = 0; k < k_dim; ++k) sum += A(m, k) * B(k, n);
    out[i] = float(sum);
  }
  for (int i = 0; i < 4; ++i) d[i] = out[i];  // after reading c: d may be c
}

}  // namespace cuseg::emu
