#include "cuseg/losses/loss.h"

#include <cmath>
#include <sstream>

#include "cuseg/dist/communicator.h"
#include "cuseg/kernels/dice.h"
#include "cuseg/kernels/dice_math.h"
#include "cuseg/kernels/elementwise.h"
#include "cuseg/kernels/elementwise_loss.h"
#include "cuseg/kernels/softmax.h"

namespace cuseg {

namespace {

Tensor scratch_like(const Tensor& logits, const Shape& shape) {
  return Tensor::empty(shape, logits.dtype(), logits.device());
}

std::vector<double> host_values(const Tensor& t) { return t.to(Device::cpu()).to(DType::F64).to_vector<double>(); }

class CrossEntropyLoss : public Loss {
 public:
  CrossEntropyLoss(const LossOptions& o, bool focal)
      : weights_(o.class_weights), params_{o.ignore_index, focal ? 0.0 : o.label_smoothing, focal ? o.focal_gamma : 0.0},
        backend_(o.backend),
        focal_(focal) {}
  std::string name() const override { return focal_ ? "focal" : "ce"; }
  void compute(const Tensor& logits, const Tensor& labels, Tensor& loss, Tensor& dlogits, double loss_grad) override {
    Tensor weight_sum = scratch_like(logits, Shape{1});
    softmax_cross_entropy_forward(logits, labels, weights_, loss, weight_sum, params_, backend_);
    if (global(dlogits)) {
      // The global mean is Σ_r loss_r·D_r / D (D_r: a rank's weight sum, D their sum); the trainer
      // averages values over the W ranks and divides the summed gradients by W, so this rank's
      // value is W·loss_r·D_r/D and its gradient is normalized by D/W instead of D_r.
      const double local = host_values(weight_sum)[0];
      double total = local;
      ranks_->allreduce_sum(&total, 1, str_cat("the ", name(), " loss's weight sum"));
      const double ranks = ranks_->size();
      scale(loss, total > 0 ? ranks * local / total : 0.0, loss);
      weight_sum.fill(total / ranks);
    }
    if (dlogits.defined())
      softmax_cross_entropy_backward(logits, labels, weights_, weight_sum, dlogits, loss_grad, params_, backend_);
  }

 private:
  Tensor weights_;
  SoftmaxCrossEntropyParams params_;
  Backend backend_;
  bool focal_;
};

class DiceLoss : public Loss {
 public:
  explicit DiceLoss(const LossOptions& o) : params_{o.dice_smooth, o.ignore_index}, backend_(o.backend) {}
  std::string name() const override { return "dice"; }
  void compute(const Tensor& logits, const Tensor& labels, Tensor& loss, Tensor& dlogits, double loss_grad) override {
    Tensor stats = scratch_like(logits, Shape{2, logits.dim(logits.rank() - 1)});
    dice_forward(logits, labels, loss, stats, params_, backend_);
    if (global(dlogits)) {
      // Dice of the global batch from the summed I_c and S_c; every rank's value is that one (their
      // mean is it too), and its pixels' gradient is W times its share, which the trainer's sum
      // over ranks divided by W turns back into the global gradient.
      std::vector<double> sums = host_values(stats);
      ranks_->allreduce_sum(sums.data(), sums.size(), "the dice loss's sums");
      const int k = int(sums.size() / 2);
      loss.fill(dice_loss_from_sums(sums.data(), sums.data() + k, k, params_.smooth));
      stats.copy_from(Tensor::from_vector(sums, stats.shape()).to(stats.dtype()));
      loss_grad *= ranks_->size();
    }
    if (dlogits.defined()) dice_backward(logits, labels, stats, dlogits, loss_grad, params_, backend_);
  }

 private:
  DiceParams params_;
  Backend backend_;
};

class PointwiseLoss : public Loss {
 public:
  PointwiseLoss(ElementwiseLossKind kind, const LossOptions& o)
      : params_{kind, o.beta},
        pos_weight_(kind == ElementwiseLossKind::Bce ? o.pos_weight : Tensor()),
        backend_(o.backend) {}
  std::string name() const override {
    return params_.kind == ElementwiseLossKind::Bce ? "bce" : params_.kind == ElementwiseLossKind::Mse ? "mse" : "smooth-l1";
  }
  void compute(const Tensor& logits, const Tensor& target, Tensor& loss, Tensor& dlogits, double loss_grad) override {
    elementwise_loss_forward(logits, target, pos_weight_, loss, params_, backend_);
    if (dlogits.defined())
      elementwise_loss_backward(logits, target, pos_weight_, dlogits, loss_grad, params_, backend_);
  }

 private:
  ElementwiseLossParams params_;
  Tensor pos_weight_;
  Backend backend_;
};

std::unique_ptr<Loss> make_single(const std::string& name, const LossOptions& o) {
  if (name == "ce") return std::make_unique<CrossEntropyLoss>(o, false);
  if (name == "focal") return std::make_unique<CrossEntropyLoss>(o, true);
  if (name == "dice") return std::make_unique<DiceLoss>(o);
  if (name == "bce") {
    using T = LossOptions::Targets;
    CUSEG_CHECK(o.targets != T::Masks, "loss: bce needs --binary (one output channel for two-class data); for K ",
                "classes use ce");
    if (o.targets == T::BinaryHeadMasks) return std::make_unique<CrossEntropyLoss>(o, false);
    return std::make_unique<PointwiseLoss>(ElementwiseLossKind::Bce, o);
  }
  if (name == "mse") return std::make_unique<PointwiseLoss>(ElementwiseLossKind::Mse, o);
  if (name == "smooth-l1") return std::make_unique<PointwiseLoss>(ElementwiseLossKind::SmoothL1, o);
  throw_error("loss: unknown loss '" + name + "' (ce, focal, dice, bce, mse, smooth-l1, or sums like ce+dice)");
}

}  // namespace

std::unique_ptr<Loss> make_loss(const std::string& spec, const LossOptions& options) {
  std::vector<std::pair<double, std::unique_ptr<Loss>>> terms;
  std::stringstream all(spec);
  std::string term;
  while (std::getline(all, term, '+')) {
    double weight = 1.0;
    const size_t star = term.find('*');
    if (star != std::string::npos) {
      size_t used = 0;
      try {
        weight = std::stod(term.substr(0, star), &used);
      } catch (const std::exception&) {
        used = 0;
      }
      CUSEG_CHECK(used == star && std::isfinite(weight) && weight > 0, "loss: bad weight in '", term, "' of '", spec,
                  "' (want e.g. 0.5*dice)");
      term = term.substr(star + 1);
    }
    terms.emplace_back(weight, make_single(term, options));
  }
  CUSEG_CHECK(!terms.empty(), "loss: empty loss specification");
  if (terms.size() == 1 && terms[0].first == 1.0) return std::move(terms[0].second);
  return std::make_unique<WeightedSumLoss>(std::move(terms));
}

bool Loss::global(const Tensor& dlogits) const { return dlogits.defined() && ranks_ && ranks_->size() > 1; }

void WeightedSumLoss::synchronize(std::shared_ptr<Communicator> ranks) {
  for (auto& term : terms_) term.second->synchronize(ranks);
  Loss::synchronize(std::move(ranks));
}

WeightedSumLoss::WeightedSumLoss(std::vector<std::pair<double, std::unique_ptr<Loss>>> terms)
    : terms_(std::move(terms)) {
  CUSEG_CHECK(!terms_.empty(), "loss: a weighted sum needs at least one term");
}

std::string WeightedSumLoss::name() const {
  std::string s;
  for (const auto& [w, loss] : terms_) s += (s.empty() ? "" : "+") + (w == 1.0 ? "" : str_cat(w, "*")) + loss->name();
  return s;
}

void WeightedSumLoss::compute(const Tensor& logits, const Tensor& target, Tensor& loss, Tensor& dlogits,
                              double loss_grad) {
  loss.fill(0.0);
  Tensor term_loss = scratch_like(logits, Shape{1});
  Tensor term_grad = dlogits.defined() ? scratch_like(logits, logits.shape()) : Tensor();
  for (size_t k = 0; k < terms_.size(); ++k) {
    const double w = terms_[k].first;
    // The first term writes the gradient directly; the others add theirs.
    Tensor& grad = k == 0 ? dlogits : term_grad;
    terms_[k].second->compute(logits, target, term_loss, grad, loss_grad * w);
    axpy(w, term_loss, loss);
    if (k > 0 && dlogits.defined()) add(dlogits, term_grad, dlogits);
  }
}

}  // namespace cuseg
