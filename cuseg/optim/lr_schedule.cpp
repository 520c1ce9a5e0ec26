#include "cuseg/optim/lr_schedule.h"

#include <cmath>
#include <numbers>

#include "cuseg/core/error.h"

namespace cuseg {

LrSchedule LrSchedule::constant(double lr) {
  LrSchedule s;
  s.lr = lr;
  s.validate();
  return s;
}

LrSchedule LrSchedule::step(double lr, int64_t step_size, double gamma) {
  LrSchedule s;
  s.kind = Kind::Step, s.lr = lr, s.step_size = step_size, s.gamma = gamma;
  s.validate();
  return s;
}

LrSchedule LrSchedule::cosine(double lr, int64_t total, int64_t warmup, double min_lr) {
  LrSchedule s;
  s.kind = Kind::Cosine, s.lr = lr, s.total = total, s.warmup = warmup, s.min_lr = min_lr;
  s.validate();
  return s;
}

LrSchedule LrSchedule::polynomial(double lr, int64_t total, double power, int64_t warmup) {
  LrSchedule s;
  s.kind = Kind::Polynomial, s.lr = lr, s.total = total, s.power = power, s.warmup = warmup;
  s.validate();
  return s;
}

LrSchedule LrSchedule::parse(const std::string& name, double lr, int64_t total) {
  if (name == "constant") return constant(lr);
  if (name == "step") return step(lr, std::max<int64_t>(1, total / 3), 0.1);
  if (name == "cosine") return cosine(lr, total, total / 20);
  if (name == "poly") return polynomial(lr, total);
  throw_error("lr schedule: unknown schedule '" + name + "' (constant, step, cosine, poly)");
}

void LrSchedule::validate() const {
  CUSEG_CHECK(std::isfinite(lr) && lr >= 0, "lr schedule: learning rate ", lr, " must be ≥ 0");
  CUSEG_CHECK(step_size >= 1, "lr schedule: step size ", step_size, " must be ≥ 1");
  CUSEG_CHECK(std::isfinite(gamma) && gamma > 0, "lr schedule: gamma ", gamma, " must be > 0");
  if (kind == Kind::Cosine || kind == Kind::Polynomial)
    CUSEG_CHECK(total >= 1 && warmup >= 0 && warmup < total, "lr schedule: need total ≥ 1 and 0 ≤ warmup < total (total ",
                total, ", warmup ", warmup, ")");
  CUSEG_CHECK(std::isfinite(min_lr) && min_lr >= 0 && min_lr <= lr, "lr schedule: min_lr ", min_lr,
              " must be in [0, lr]");
  CUSEG_CHECK(std::isfinite(power) && power > 0, "lr schedule: power ", power, " must be > 0");
}

double LrSchedule::at(int64_t t) const {
  switch (kind) {
    case Kind::Constant: return lr;
    case Kind::Step: return lr * std::pow(gamma, double(t / step_size));
    case Kind::Cosine:
    case Kind::Polynomial: {
      if (t < warmup) return lr * double(t + 1) / double(warmup);
      const double progress = std::min(1.0, double(t - warmup) / double(total - warmup));
      if (kind == Kind::Cosine) return min_lr + (lr - min_lr) * 0.5 * (1 + std::cos(std::numbers::pi * progress));
      return lr * std::pow(1 - progress, power);
    }
  }
  return lr;
}

}  // namespace cuseg
