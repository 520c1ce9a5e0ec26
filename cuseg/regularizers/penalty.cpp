#include "cuseg/regularizers/penalty.h"

#include <cmath>

#include "cuseg/regularizers/penalty_math.h"

namespace cuseg {

Penalty Penalty::lasso(double lambda, L1Mode mode) {
  Penalty p{PenaltyKind::L1, lambda, 0, 0, 1, mode};
  p.validate();
  return p;
}

Penalty Penalty::ridge(double lambda) {
  Penalty p{PenaltyKind::L2, 0, lambda, 0, 1, L1Mode::Subgradient};
  p.validate();
  return p;
}

Penalty Penalty::elastic(double lambda1, double lambda2, L1Mode mode) {
  Penalty p{PenaltyKind::ElasticNet, lambda1, lambda2, 0, 1, mode};
  p.validate();
  return p;
}

Penalty Penalty::smooth_l1(double lambda, double beta) {
  Penalty p{PenaltyKind::SmoothL1, 0, 0, lambda, beta, L1Mode::Subgradient};
  p.validate();
  return p;
}

Penalty Penalty::parse(const std::string& name, double l1, double l2, double beta) {
  if (name == "none") return none();
  if (name == "l1") return lasso(l1);
  if (name == "l1-prox") return lasso(l1, L1Mode::Proximal);
  if (name == "l2") return ridge(l2);
  if (name == "elastic") return elastic(l1, l2);
  if (name == "elastic-prox") return elastic(l1, l2, L1Mode::Proximal);
  if (name == "smooth-l1") return smooth_l1(l1, beta);  // an L1 made smooth: strength from l1
  throw_error("penalty: unknown penalty '" + name +
              "' (none, l1, l1-prox, l2, elastic, elastic-prox, smooth-l1)");
}

void Penalty::validate() const {
  CUSEG_CHECK(std::isfinite(l1) && l1 >= 0, "penalty ", str(), ": λ1 = ", l1, " must be ≥ 0");
  CUSEG_CHECK(std::isfinite(l2) && l2 >= 0, "penalty ", str(), ": λ2 = ", l2, " must be ≥ 0");
  CUSEG_CHECK(std::isfinite(huber) && huber >= 0, "penalty ", str(), ": λ = ", huber, " must be ≥ 0");
  CUSEG_CHECK(std::isfinite(beta) && beta > 0, "penalty ", str(), ": β = ", beta, " must be > 0");
}

std::string Penalty::str() const {
  const char* mode = l1_mode == L1Mode::Proximal ? ", proximal" : "";
  switch (kind) {
    case PenaltyKind::None: return "none";
    case PenaltyKind::L1: return str_cat("l1(", l1, mode, ")");
    case PenaltyKind::L2: return str_cat("l2(", l2, ")");
    case PenaltyKind::ElasticNet: return str_cat("elastic(l1=", l1, ", l2=", l2, mode, ")");
    case PenaltyKind::SmoothL1: return str_cat("smooth-l1(", huber, ", beta=", beta, ")");
  }
  return "?";
}

double Penalty::value(const Tensor& w) const {
  if (kind == PenaltyKind::None) return 0;
  const std::vector<double> v = w.to(Device::cpu()).to(DType::F64).to_vector<double>();
  double sum = 0;
  for (double e : v) sum += penalty_value(e, l1, l2, huber, beta);
  return sum;
}

}  // namespace cuseg
