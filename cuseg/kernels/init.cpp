#include "cuseg/kernels/init.h"

#include <cmath>

namespace cuseg {

Fans fans_of(const Shape& w) {
  CUSEG_CHECK(w.rank() >= 1, "fans_of: a weight needs at least one dimension");
  if (w.rank() == 1) return {double(w[0]), double(w[0])};
  if (w.rank() == 2) return {double(w[1]), double(w[0])};
  CUSEG_CHECK(w.rank() == 4, "fans_of: ", w.str(), " is neither a vector, a matrix nor a KRSC weight");
  return {double(w[1] * w[2] * w[3]), double(w[0] * w[1] * w[2])};
}

double linear_gain() { return 1.0; }

double init_gain(ActivationKind kind, double param) {
  switch (kind) {
    case ActivationKind::Relu: return std::sqrt(2.0);
    case ActivationKind::LeakyRelu: return std::sqrt(2.0 / (1 + param * param));
    case ActivationKind::Sigmoid: return 1.0;
    case ActivationKind::Tanh: return 5.0 / 3;
    case ActivationKind::Relu6: return std::sqrt(2.0);  // as ReLU (PyTorch's calculate_gain has no relu6)
    // As ReLU, which SiLU approaches away from 0 (PyTorch's calculate_gain has no silu either).
    case ActivationKind::Silu: return std::sqrt(2.0);
  }
  return 1.0;
}

namespace {

void check_init(const char* op, const Tensor& w, double scale) {
  CUSEG_CHECK(w.defined() && is_floating(w.dtype()), op, ": weight ", w.str(), " must be a floating tensor");
  CUSEG_CHECK(std::isfinite(scale) && scale >= 0, op, ": scale ", scale, " from the fans and gain is not finite");
}

}  // namespace

void kaiming_uniform(Tensor& w, double fan, double gain, uint64_t seed) {
  CUSEG_CHECK(fan > 0, "kaiming_uniform: fan ", fan, " must be > 0");
  const double bound = gain * std::sqrt(3.0 / fan);
  check_init("kaiming_uniform", w, bound);
  w.fill_uniform(seed, -bound, bound);
}

void kaiming_normal(Tensor& w, double fan, double gain, uint64_t seed) {
  CUSEG_CHECK(fan > 0, "kaiming_normal: fan ", fan, " must be > 0");
  const double stddev = gain / std::sqrt(fan);
  check_init("kaiming_normal", w, stddev);
  w.fill_normal(seed, 0.0, stddev);
}

void xavier_uniform(Tensor& w, const Fans& fans, double gain, uint64_t seed) {
  CUSEG_CHECK(fans.in + fans.out > 0, "xavier_uniform: fans must be > 0");
  const double bound = gain * std::sqrt(6.0 / (fans.in + fans.out));
  check_init("xavier_uniform", w, bound);
  w.fill_uniform(seed, -bound, bound);
}

void xavier_normal(Tensor& w, const Fans& fans, double gain, uint64_t seed) {
  CUSEG_CHECK(fans.in + fans.out > 0, "xavier_normal: fans must be > 0");
  const double stddev = gain * std::sqrt(2.0 / (fans.in + fans.out));
  check_init("xavier_normal", w, stddev);
  w.fill_normal(seed, 0.0, stddev);
}

}  // namespace cuseg
