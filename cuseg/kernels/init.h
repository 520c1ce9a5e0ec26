// Weight initializers with PyTorch's definitions (torch.nn.init), drawn from Philox: the same
// values on every device for the same seed (uniform draws on the device itself, normal draws on
// the host, see Tensor::fill_normal).
//
//   kaiming_uniform   U(−b, b),  b = gain·√(3 / fan)             kaiming_normal  N(0, gain/√fan)
//   xavier_uniform    U(−b, b),  b = gain·√(6 / (fan_in + fan_out))
//   xavier_normal     N(0, gain·√(2 / (fan_in + fan_out)))
// PyTorch's default for Conv2d weights is kaiming_uniform with a = √5 (gain √(2/(1 + a²)),
// fan = fan_in): init_gain(LeakyRelu, √5).
#pragma once

#include <cstdint>

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/activation.h"

namespace cuseg {

struct Fans {
  double in, out;
};

// A KRSC convolution weight [K, R, S, C]: fan_in = R·S·C, fan_out = K·R·S. A [out, in] matrix:
// fan_in = in, fan_out = out. A vector: both its length.
Fans fans_of(const Shape& weight);

// torch.nn.init.calculate_gain for the activations cuseg has; `linear` for none.
double init_gain(ActivationKind kind, double param = 0.01);
double linear_gain();

void kaiming_uniform(Tensor& w, double fan, double gain, uint64_t seed);
void kaiming_normal(Tensor& w, double fan, double gain, uint64_t seed);
void xavier_uniform(Tensor& w, const Fans& fans, double gain, uint64_t seed);
void xavier_normal(Tensor& w, const Fans& fans, double gain, uint64_t seed);

}  // namespace cuseg
