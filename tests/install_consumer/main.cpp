// An outside program using the installed cuseg: only public headers, no CUDA toolkit needed.
#include <cstdio>

#include "cuseg/config.h"
#include "cuseg/core/tensor.h"
#include "cuseg/kernels/conv2d.h"
#include "cuseg/kernels/softmax.h"

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
  std::printf("consumer ok (cuseg %s, CUDA %d, %s)\n", CUSEG_VERSION, CUSEG_HAS_CUDA,
              cuda_status().c_str());
  return 0;
}
