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

// Every lane's registers r[0..n) of one operand, as deposited in warp rounds of two registers.
template <int N>
void gather(const uint32_t* mine, uint32_t (&all)[32][N], const char* what, std::source_location where) {
  for (int r = 0; r < N; r += 2) {
    const uint64_t pair = uint64_t(mine[r]) | (r + 1 < N ? uint64_t(mine[r + 1]) << 32 : 0);
    const WarpRound round = warp_round(kFullWarp, pair, what, where);
    for (int lane = 0; lane < 32; ++lane) {
      all[lane][r] = uint32_t(round.values[lane]);
      if (r + 1 < N) all[lane][r + 1] = uint32_t(round.values[lane] >> 32);
    }
  }
}

}  // namespace

void mma_sync(MmaShape shape, float* d, const uint32_t* a, const uint32_t* b, const float* c,
              std::source_location where) {
  const char* what = shape == MmaShape::M16N8K8_TF32 ? "mma.sync.m16n8k8.tf32" : "mma.sync.m16n8k16.bf16";
  uint32_t a_all[32][4], b_all[32][2];
  gather<4>(a, a_all, what, where);
  gather<2>(b, b_all, what, where);
  const int k_dim = shape == MmaShape::M16N8K8_TF32 ? 8 : 16;
  // A[m][k] and B[k][n] of the whole tile, from the lanes' registers.
  double A[16][16], B[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    const int group = lane >> 2, in_group = lane & 3;
    if (shape == MmaShape::M16N8K8_TF32) {
      // a0: (g, t)  a1: (g+8, t)  a2: (g, t+4)  a3: (g+8, t+4);  b0: (k=t, n=g)  b1: (k=t+4, n=g)
      for (int i = 0; i < 4; ++i) A[group + (i & 1) * 8][in_group + (i >> 1) * 4] = tf32(a_all[lane][i]);
      for (int i = 0; i < 2; ++i) B[in_group + i * 4][group] = tf32(b_all[lane][i]);
    } else {
      // Register i of A holds a(2i), a(2i+1): rows g (i = 0, 2) or g+8 (i = 1, 3), columns
      // 2t, 2t+1, plus 8 for i ≥ 2. B's register i: rows (k) 2t, 2t+1, plus 8 for i = 1; column g.
      for (int i = 0; i < 4; ++i)
        for (int h = 0; h < 2; ++h)
          A[group + (i & 1) * 8][in_group * 2 + h + (i >> 1) * 8] = bf16(a_all[lane][i], h);
      for (int i = 0; i < 2; ++i)
        for (int h = 0; h < 2; ++h) B[in_group * 2 + h + i * 8][group] = bf16(b_all[lane][i], h);
    }
  }
  // C and D: c0, c1 at (g, 2t), (g, 2t+1); c2, c3 at (g+8, 2t), (g+8, 2t+1). Each lane's own.
  const int lane = int(lane_id()), group = lane >> 2, in_group = lane & 3;
  float out[4];
  for (int i = 0; i < 4; ++i) {
    const int m = group + (i >> 1) * 8, n = in_group * 2 + (i & 1);
    double sum = double(c[i]);
    for (int k = 0; k < k_dim; ++k) sum += A[m][k] * B[k][n];
    out[i] = float(sum);
  }
  for (int i = 0; i < 4; ++i) d[i] = out[i];  // after reading c: d may be c
}

}  // namespace cuseg::emu
