// The test cases of adaptive average pooling (adaptive_pool2d.h), for the op registry
// (verify/registry.h).
#include "cuseg/kernels/adaptive_pool2d.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

struct AdaptiveCase {
  Shape x, y;
  bool unet = false;
};

const std::vector<AdaptiveCase>& adaptive_cases() {
  static const std::vector<AdaptiveCase> cases = {
      // Global pooling: 1×1 and 7×7 inputs, channels no block divides, one more than a warp.
      {{1, 1, 1, 3}, {1, 1, 1, 3}},     {{2, 7, 7, 33}, {2, 1, 1, 33}},   {{3, 5, 9, 1}, {3, 1, 1, 1}},
      {{1, 7, 7, 300}, {1, 1, 1, 300}},
      // Overlapping windows (P does not divide H), more outputs than inputs, one axis global.
      {{2, 7, 9, 3}, {2, 3, 4, 3}},     {{1, 10, 13, 5}, {1, 6, 5, 5}},   {{1, 3, 4, 2}, {1, 5, 7, 2}},
      {{2, 8, 6, 4}, {2, 1, 4, 4}},     {{1, 6, 6, 2}, {1, 6, 6, 2}},
      {{2, 64, 64, 64}, {2, 1, 1, 64}, true},
  };
  return cases;
}

const AdaptiveCase& adaptive(int i) { return adaptive_cases()[size_t(i)]; }

std::vector<OpSpec> adaptive_pool2d_specs() {
  std::vector<OpCase> cases;
  for (const AdaptiveCase& c : adaptive_cases()) cases.push_back({str_cat("x", c.x.str(), " to ", c.y.str()), c.unet});
  return {
      {.name = "adaptive_avg_pool2d_forward",
       .cases = cases,
       .make_inputs = [](int i, uint64_t seed) { return std::vector<Tensor>{random_f64(adaptive(i).x, seed)}; },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor y = output(in, adaptive(i).y);
             adaptive_avg_pool2d_forward(in[0], y, e);
             return std::vector<Tensor>{y};
           }},
      {.name = "adaptive_avg_pool2d_backward",
       .cases = cases,
       .make_inputs = [](int i, uint64_t seed) { return std::vector<Tensor>{random_f64(adaptive(i).y, seed)}; },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor dx = output(in, adaptive(i).x);
             adaptive_avg_pool2d_backward(in[0], dx, e);
             return std::vector<Tensor>{dx};
           }},
  };
}

const OpTests kTests("adaptive_pool2d", adaptive_pool2d_specs);

}  // namespace
}  // namespace cuseg
