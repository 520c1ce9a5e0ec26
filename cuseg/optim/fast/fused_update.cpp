#include "cuseg/optim/fast/fused_update.h"

#include <cmath>

#include "cuseg/kernels/fast/parallel.h"

namespace cuseg::fast {

namespace {

// One chunk of one parameter: elements [begin, end) of slots[slot].
struct Piece {
  size_t slot;
  int64_t begin, end;
};

std::vector<Piece> pieces(const std::vector<Optimizer::Slot>& slots) {
  std::vector<Piece> out;
  for (size_t s = 0; s < slots.size(); ++s) {
    const int64_t n = slots[s].param.value.numel();
    for (int64_t b = 0; b < n; b += kFlatChunk) out.push_back({s, b, std::min(n, b + kFlatChunk)});
  }
  return out;
}

template <OptimizerKind Kind>
[[gnu::always_inline]] inline void update_range(const StepHyper<float>& h, float scale, float* w,
                                                const float* g, float* s0, float* s1, float* s2,
                                                int64_t n) {
  float unused = 0;  // the state a kind does not use; update_element never touches it
  for (int64_t i = 0; i < n; ++i)
    update_element(Kind, h, scale, w[i], g[i], s0 ? s0 + i : &unused, s1 ? s1 + i : &unused,
                   s2 ? s2 + i : &unused);
}

using RangeUpdate = void (*)(const StepHyper<float>&, float, float*, const float*, float*, float*,
                             float*, int64_t);

CUSEG_ISA_CLONES void update_sgd(const StepHyper<float>& h, float scale, float* w, const float* g,
                                 float* s0, float* s1, float* s2, int64_t n) {
  update_range<OptimizerKind::Sgd>(h, scale, w, g, s0, s1, s2, n);
}
CUSEG_ISA_CLONES void update_adagrad(const StepHyper<float>& h, float scale, float* w,
                                     const float* g, float* s0, float* s1, float* s2, int64_t n) {
  update_range<OptimizerKind::Adagrad>(h, scale, w, g, s0, s1, s2, n);
}
CUSEG_ISA_CLONES void update_rmsprop(const StepHyper<float>& h, float scale, float* w,
                                     const float* g, float* s0, float* s1, float* s2, int64_t n) {
  update_range<OptimizerKind::Rmsprop>(h, scale, w, g, s0, s1, s2, n);
}
CUSEG_ISA_CLONES void update_adam(const StepHyper<float>& h, float scale, float* w, const float* g,
                                  float* s0, float* s1, float* s2, int64_t n) {
  update_range<OptimizerKind::Adam>(h, scale, w, g, s0, s1, s2, n);
}

RangeUpdate range_update(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::Sgd:
      return update_sgd;
    case OptimizerKind::Adagrad:
      return update_adagrad;
    case OptimizerKind::Rmsprop:
      return update_rmsprop;
    case OptimizerKind::Adam:
      return update_adam;
  }
  return update_sgd;
}

CUSEG_ISA_CLONES double sum_of_squares(const float* g, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(g[i]) * double(g[i]);
  return sum;
}

}  // namespace

void fused_update(OptimizerKind kind, const std::vector<Optimizer::Slot>& slots,
                  const std::vector<StepHyper<float>>& hypers, float scale) {
  const std::vector<Piece> work = pieces(slots);
  const RangeUpdate update = range_update(kind);
  for_chunks(int64_t(work.size()), 1, [&](int64_t k, int64_t, int64_t) {
    const Piece& piece = work[size_t(k)];
    const Optimizer::Slot& slot = slots[piece.slot];
    float* s[3];
    for (int j = 0; j < 3; ++j)
      s[j] = slot.state[j].defined() ? slot.state[j].data<float>() + piece.begin : nullptr;
    update(hypers[size_t(slot.group)], scale, slot.param.value.data<float>() + piece.begin,
           slot.param.grad.data<float>() + piece.begin, s[0], s[1], s[2], piece.end - piece.begin);
  });
}

double global_grad_norm(const std::vector<Optimizer::Slot>& slots) {
  const std::vector<Piece> work = pieces(slots);
  std::vector<double> partial(work.size());
  for_chunks(int64_t(work.size()), 1, [&](int64_t k, int64_t, int64_t) {
    const Piece& piece = work[size_t(k)];
    partial[size_t(k)] = sum_of_squares(slots[piece.slot].param.grad.data<float>() + piece.begin,
                                        piece.end - piece.begin);
  });
  double sum = 0;
  for (double p : partial) sum += p;
  return std::sqrt(sum);
}

}  // namespace cuseg::fast
