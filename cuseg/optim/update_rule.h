// One element of the fused optimizer step, for host and device (CUSEG_HD): the CPU update and
// the CUDA multi-tensor kernel both call update_element, so the arithmetic has one definition,
// PyTorch's (torch.optim, single-tensor path):
//
//   g ← grad·scale + penalty gradient at w (clipping and averaging live in scale)
//   w ← w·(1 − lr·decay)                  decoupled weight decay (AdamW), before the step
//   SGD       buf ← g (first step) or μ·buf + (1−dampening)·g;  g ← g + μ·buf (Nesterov) or buf
//             w ← w − lr·g
//   AdaGrad   sum ← sum + g²;  w ← w − clr·g/(√sum + ε),  clr = lr/(1 + (t−1)·lr_decay)
//   RMSprop   sq ← α·sq + (1−α)·g²;  centered: ga ← α·ga + (1−α)·g, avg = √(sq − ga²) + ε,
//             else avg = √sq + ε;  momentum: buf ← μ·buf + g/avg, w ← w − lr·buf;
//             else w ← w − lr·g/avg
//   Adam      m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
//             w ← w − (lr/(1−β1^t))·m/(√v/√(1−β2^t) + ε)
//   proximal L1 last: w ← sign(w)·max(|w| − lr·λ1, 0)
#pragma once

#include "cuseg/core/hd_math.h"
#include "cuseg/regularizers/penalty_math.h"

namespace cuseg {

enum class OptimizerKind : int { Sgd, Adagrad, Rmsprop, Adam };

// Everything one step of one parameter group needs, resolved on the host (powers, bias
// corrections, the step's learning rate) and converted to the parameters' type.
template <class T>
struct StepHyper {
  T lr;                                // this step's learning rate for the group
  T l1_grad, l2, huber, huber_beta;    // penalty: l1_grad = λ1 for subgradient L1, else 0
  T l1_prox;                           // λ1 for proximal L1, else 0
  T decay;                             // decoupled weight decay
  T momentum, dampening;               // SGD, RMSprop (momentum)
  bool nesterov, first_step;           // SGD
  T eps;                               // AdaGrad, RMSprop, Adam
  T alpha;                             // RMSprop
  bool centered;                       // RMSprop
  T clr;                               // AdaGrad: lr/(1 + (t−1)·lr_decay)
  T beta1, beta2, step_size, bias2_sqrt;  // Adam: step_size = lr/(1−β1^t), bias2_sqrt = √(1−β2^t)
};

// Updates w and its optimizer state s0..s2 (as many as the kind uses, see optimizer.h) in place.
template <class T>
CUSEG_HD void update_element(OptimizerKind kind, const StepHyper<T>& h, T scale, T& w, T grad, T* s0, T* s1,
                             T* s2) {
  T g = grad * scale + penalty_gradient(w, h.l1_grad, h.l2, h.huber, h.huber_beta);
  if (h.decay != T(0)) w *= T(1) - h.lr * h.decay;
  switch (kind) {
    case OptimizerKind::Sgd:
      if (h.momentum != T(0)) {
        T& buf = *s0;
        buf = h.first_step ? g : h.momentum * buf + (T(1) - h.dampening) * g;
        g = h.nesterov ? g + h.momentum * buf : buf;
      }
      w -= h.lr * g;
      break;
    case OptimizerKind::Adagrad: {
      T& sum = *s0;
      sum += g * g;
      w -= h.clr * g / (hd_sqrt(sum) + h.eps);
      break;
    }
    case OptimizerKind::Rmsprop: {
      T& sq = *s0;
      sq = h.alpha * sq + (T(1) - h.alpha) * g * g;
      T avg;
      if (h.centered) {
        T& ga = *s1;
        ga = h.alpha * ga + (T(1) - h.alpha) * g;
        avg = hd_sqrt(sq - ga * ga) + h.eps;
      } else {
        avg = hd_sqrt(sq) + h.eps;
      }
      if (h.momentum != T(0)) {
        T& buf = *s2;
        buf = h.momentum * buf + g / avg;
        w -= h.lr * buf;
      } else {
        w -= h.lr * g / avg;
      }
      break;
    }
    case OptimizerKind::Adam: {
      T& m = *s0;
      T& v = *s1;
      m = h.beta1 * m + (T(1) - h.beta1) * g;
      v = h.beta2 * v + (T(1) - h.beta2) * g * g;
      w -= h.step_size * m / (hd_sqrt(v) / h.bias2_sqrt + h.eps);
      break;
    }
  }
  if (h.l1_prox != T(0)) w = soft_threshold(w, h.lr * h.l1_prox);
}

}  // namespace cuseg
