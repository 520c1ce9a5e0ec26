// Losses of a segmentation network's logits [N,H,W,K]: each gives its value and its gradient with
// respect to the logits in one call, on whichever device the logits live (the value stays there
// as a [1] tensor: nothing waits on the host, except the label checks noted in kernels/).
//
//   ce         softmax cross-entropy: class weights, ignore label, label smoothing
//   focal      cross-entropy scaled by (1 − p)^γ (class weights act as α)
//   dice       soft Dice over the batch, multi-class, smoothing, ignore label
//   bce        binary cross-entropy with logits, pos_weight per channel (float targets)
//   mse        mean squared error (float targets)
//   smooth-l1  Huber-style smooth L1 with β (float targets)
//   a+b, 0.5*a+2*b   weighted sums of the above ("ce+dice" is the usual recipe)
//
// ce, focal and dice take integer labels [N,H,W] (u8 or i32); bce, mse and smooth-l1 take float
// targets shaped like the logits.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

class Communicator;  // dist/communicator.h

class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string name() const = 0;
  // Assigns loss [1]; when dlogits is defined, assigns dlogits = loss_grad·∂loss/∂logits.
  virtual void compute(const Tensor& logits, const Tensor& target, Tensor& loss, Tensor& dlogits,
                       double loss_grad = 1.0) = 0;

  // Data parallelism: from now on a computation with a gradient (a training step) is of the union
  // of every rank's batch, as one process would compute it on the global batch, for a trainer that
  // averages the ranks' values and sums their gradients divided by the number of ranks. Each
  // rank's value and gradient are its share of that, so that mean and sum come out right:
  //   ce, focal  normalized by the global Σ w over counted pixels (the ranks' weight sums summed):
  //              ranks whose parts have more ignored or lighter pixels weigh less, as in one process;
  //   dice       I_c and S_c summed over the ranks before the ratio: Dice of the global batch;
  //   bce, mse, smooth-l1  means over equal parts already average to the global mean.
  // One small host collective per such term and step. A computation without a gradient
  // (evaluation) stays the rank's own: the shards of a split may differ in size.
  virtual void synchronize(std::shared_ptr<Communicator> ranks) { ranks_ = std::move(ranks); }

 protected:
  // Whether this computation is a data-parallel training step's (see synchronize).
  bool global(const Tensor& dlogits) const;
  std::shared_ptr<Communicator> ranks_;
};

struct LossOptions {
  Tensor class_weights;        // [K] or undefined (ce, focal)
  int ignore_index = 255;      // ce, focal, dice
  double label_smoothing = 0;  // ce
  double focal_gamma = 2.0;    // focal
  double dice_smooth = 1.0;    // dice
  Tensor pos_weight;           // [K] or undefined (bce)
  double beta = 1.0;           // smooth-l1
  Backend backend = Backend::Auto;  // which implementation runs every term's ops (kernels/backend.h)
  // What bce's targets are. Float ones shaped like the logits, or the integer masks of a binary
  // head's two logits (0, z) (layers.h: BinaryLogits), against which binary cross-entropy with
  // logits on z is cross-entropy's value and gradient: bce runs as ce. Integer masks of K classes
  // give bce no target: it is refused.
  enum class Targets { Float, Masks, BinaryHeadMasks } targets = Targets::Float;
};

// "ce", "focal", "dice", "bce", "mse", "smooth-l1", or a sum of weighted terms such as
// "ce+dice" or "0.5*ce+2*dice". An unknown name or a malformed weight is an error.
std::unique_ptr<Loss> make_loss(const std::string& spec, const LossOptions& options = {});

// Σ_k w_k·L_k, values and gradients summed.
class WeightedSumLoss : public Loss {
 public:
  explicit WeightedSumLoss(std::vector<std::pair<double, std::unique_ptr<Loss>>> terms);
  std::string name() const override;
  void compute(const Tensor& logits, const Tensor& target, Tensor& loss, Tensor& dlogits, double loss_grad) override;
  void synchronize(std::shared_ptr<Communicator> ranks) override;

 private:
  std::vector<std::pair<double, std::unique_ptr<Loss>>> terms_;
};

}  // namespace cuseg
