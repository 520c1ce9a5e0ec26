// Internal: e^x for x ≤ 0 (softmax's shifted logits), written so that a loop over it vectorizes
// — libm's expf is a call per element. Range reduction x = k·ln2 + r with |r| ≤ ln2/2, a
// degree-7 Taylor polynomial (truncation error below 6e-9 relative), 2^k built in the exponent
// bits. Below −87 the result is e^−87 ≈ 1.6e-38 instead of a denormal or 0 (negligible beside
// the row's maximum, which contributes 1); NaN stays NaN.
#pragma once

#include <cstdint>
#include <cstring>

namespace cuseg::fast {

[[gnu::always_inline]] inline float exp_nonpositive(float x) {
  const float xc = x > -87.f ? x : -87.f;  // NaN goes to −87 here and is restored below
  // k = round(x / ln2) by the 1.5·2^23 trick (exact for |k| < 2^22), no rounding-mode call.
  const float shifter = 12582912.f;
  const float k = (xc * 1.44269504088896341f + shifter) - shifter;
  const float r =
      (xc - k * 0.693145751953125f) - k * 1.42860682030941723212e-6f;  // ln2 in two parts
  float p = 1.f / 5040.f;
  p = p * r + 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const int32_t bits = (int32_t(k) + 127) << 23;  // k ≥ −126: a normal power of two
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float e = p * scale;
  return x == x ? e : x;
}

}  // namespace cuseg::fast
