// An outside program using the installed cuseg: only public headers, no CUDA toolkit needed.
#include <cstdio>

#include "cuseg/config.h"
#include "cuseg/core/tensor.h"
#include "cuseg/kernels/conv2d.h"
#include "cuseg/kernels/softmax.h"
#include "cuseg/optim/optimizer.h"

int main() {
  using namespace cuseg;
  Tensor x = Tensor::full(Shape{1, 4, 4, 2}, 1.0);
  Tensor w = Tensor::full(Shape{3, 3, 3, 2}, 0.5);
  Tensor y = Tensor::empty(conv2d_output_shape(x.shape(), w.shape(), {1, 1, 1, 1, 1, 1}));
  conv2d_forward(x, w, y, {1, 1, 1, 1, 1, 1});
  Tensor p = Tensor::empty(y.shape());
  softmax_forward(y, p);
  // Centre pixel: 9 taps × 2 channels × 0.5 = 9; three equal channels → softmax 1/3.
  const float centre = y.to_vector<float>()[(1 * 4 + 1) * 3];
  const float prob = p.to_vector<float>()[0];
  if (centre != 9.0f || prob < 0.3333f || prob > 0.3334f) {
    std::printf("consumer wrong: %g %g\n", centre, prob);
    return 1;
  }
  // One SGD step with L2: w = 1 − 0.1·(0.5 + 0.1·1).
  Tensor weight = Tensor::full(Shape{1, 1}, 1.0), grad = Tensor::full(Shape{1, 1}, 0.5);
  OptimizerConfig cfg = OptimizerConfig::named("sgd");
  cfg.penalty = Penalty::ridge(0.1);
  Optimizer opt(cfg, {{"w", weight, grad}});
  opt.step(0.1);
  const float w1 = weight.to_vector<float>()[0];
  if (w1 < 0.93999f || w1 > 0.94001f) {
    std::printf("consumer wrong optimizer step: %g\n", w1);
    return 1;
  }
  std::printf("consumer ok (cuseg %s, CUDA %d, %s)\n", CUSEG_VERSION, CUSEG_HAS_CUDA,
              cuda_status().c_str());
  return 0;
}
