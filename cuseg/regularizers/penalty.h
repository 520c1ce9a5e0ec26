// Penalties on weights, the question this project grew from: L1, L2, elastic net, smooth L1
// (Huber on the weights), each with its value (for the regularized objective) and the term it
// adds to the update. Decoupled weight decay (AdamW-style) is not a penalty on the loss but a
// shrinking of the weights in the update; it lives in the optimizer's groups (weight_decay).
//
//   L1          R(w) = λ1·Σ|w|                  gradient λ1·sign(w), sign(0) = 0
//   L2          R(w) = λ2/2·Σw²                 gradient λ2·w  (PyTorch's weight_decay = λ2)
//   elastic     R(w) = λ1·Σ|w| + λ2/2·Σw²
//   smooth L1   R(w) = λ·Σ h_β(w), h_β(w) = w²/(2β) if |w| < β else |w| − β/2   (PyTorch's
//               smooth_l1_loss of w against 0); gradient λ·w/β inside, λ·sign(w) outside
//
// L1 (alone or in elastic) has two modes: Subgradient adds λ1·sign(w) to the gradient;
// Proximal leaves the gradient alone and soft-thresholds after the optimizer's step,
// w ← sign(w)·max(|w| − lr·λ1, 0), so weights reach exact zeros.
#pragma once

#include <string>

#include "cuseg/core/tensor.h"

namespace cuseg {

enum class PenaltyKind { None, L1, L2, ElasticNet, SmoothL1 };
enum class L1Mode { Subgradient, Proximal };

struct Penalty {
  PenaltyKind kind = PenaltyKind::None;
  double l1 = 0;     // λ1 (L1, elastic)
  double l2 = 0;     // λ2 (L2, elastic)
  double huber = 0;  // smooth L1's λ
  double beta = 1;   // smooth L1's β
  L1Mode l1_mode = L1Mode::Subgradient;

  static Penalty none() { return {}; }
  static Penalty lasso(double lambda, L1Mode mode = L1Mode::Subgradient);
  static Penalty ridge(double lambda);
  static Penalty elastic(double lambda1, double lambda2, L1Mode mode = L1Mode::Subgradient);
  static Penalty smooth_l1(double lambda, double beta);
  // "none", "l1", "l1-prox", "l2", "elastic", "elastic-prox", "smooth-l1" (its λ from l1).
  static Penalty parse(const std::string& name, double l1, double l2, double beta);

  void validate() const;  // throws cuseg::Error for negative strengths or β ≤ 0
  std::string str() const;  // "elastic(l1=1e-4, l2=1e-3, proximal)"

  // R(w) summed over the tensor (any device; computed in double on the host).
  double value(const Tensor& w) const;
};

}  // namespace cuseg
