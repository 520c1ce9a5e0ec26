// The test cases of resizing (upsample.h), one op per mode and direction, for the op registry
// (verify/registry.h).
#include "cuseg/kernels/upsample.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

struct ResizeCase {
  Shape x, y;
  bool unet = false;
};

const std::vector<ResizeCase>& resize_cases() {
  static const std::vector<ResizeCase> cases = {
      {{1, 5, 7, 1}, {1, 10, 14, 1}},   {{2, 9, 11, 3}, {2, 18, 22, 3}},  {{1, 4, 4, 2}, {1, 7, 9, 2}},
      {{3, 13, 10, 5}, {3, 26, 20, 5}}, {{2, 6, 5, 33}, {2, 12, 10, 33}}, {{1, 8, 8, 4}, {1, 5, 6, 4}},
      {{2, 32, 32, 64}, {2, 64, 64, 64}, true},
      // Down by non-integer ratios, up by 4, and the one-pixel ends (out = 1, in = 1).
      {{2, 13, 11, 3}, {2, 5, 7, 3}},   {{1, 9, 10, 2}, {1, 6, 4, 2}},    {{1, 4, 5, 2}, {1, 16, 20, 2}},
      {{1, 7, 9, 2}, {1, 1, 1, 2}},     {{2, 1, 1, 3}, {2, 5, 4, 3}},     {{1, 6, 1, 1}, {1, 1, 5, 1}},
  };
  return cases;
}

const ResizeCase& resize(int i) { return resize_cases()[size_t(i)]; }

std::vector<OpSpec> upsample_specs() {
  std::vector<OpCase> cases;
  for (const ResizeCase& c : resize_cases()) cases.push_back({str_cat("x", c.x.str(), " to ", c.y.str()), c.unet});
  std::vector<OpSpec> out;
  for (UpsampleMode mode : {UpsampleMode::Nearest, UpsampleMode::Bilinear, UpsampleMode::BilinearAlignCorners}) {
    const std::string name = mode == UpsampleMode::Nearest    ? "upsample_nearest"
                             : mode == UpsampleMode::Bilinear ? "upsample_bilinear"
                                                              : "upsample_bilinear_align_corners";
    out.push_back({.name = name + "_forward",
                   .cases = cases,
                   .make_inputs = [](int i, uint64_t seed) { return std::vector<Tensor>{random_f64(resize(i).x, seed)}; },
                   .run = [mode](const std::vector<Tensor>& in, int i, Exec e) {
                     Tensor y = output(in, resize(i).y);
                     upsample_forward(in[0], y, mode, e);
                     return std::vector<Tensor>{y};
                   }});
    out.push_back({.name = name + "_backward",
                   .cases = cases,
                   .make_inputs = [](int i, uint64_t seed) { return std::vector<Tensor>{random_f64(resize(i).y, seed)}; },
                   .run = [mode](const std::vector<Tensor>& in, int i, Exec e) {
                     Tensor dx = output(in, resize(i).x);
                     upsample_backward(in[0], dx, mode, e);
                     return std::vector<Tensor>{dx};
                   }});
  }
  return out;
}

const OpTests kTests("upsample", upsample_specs);

}  // namespace
}  // namespace cuseg
