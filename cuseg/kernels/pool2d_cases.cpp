// The test cases of the pooling ops (pool2d.h), for the op registry (verify/registry.h).
#include "cuseg/kernels/pool2d.h"
#include "verify/op_cases.h"

namespace cuseg {
namespace {

using namespace cases;

struct PoolCase {
  Shape x;
  Pool2dParams p;
  bool unet = false;
  Values values = Values::Random;
};

const std::vector<PoolCase>& pool_cases() {
  static const std::vector<PoolCase> cases = {
      {{1, 4, 4, 1}, {2, 2, 2, 2, 0, 0, true}},   {{2, 7, 9, 3}, {3, 3, 2, 2, 1, 1, false}},
      {{3, 11, 13, 5}, {3, 2, 1, 2, 1, 1, true}}, {{2, 10, 10, 33}, {2, 2, 2, 2, 0, 0, true}},
      {{1, 9, 9, 7}, {3, 3, 3, 3, 1, 1, false}},  {{2, 64, 64, 64}, {2, 2, 2, 2, 0, 0, true}, true},
      // Max pooling's first maximum in row-major window order: windows with tied maxima, overlapping
      // and over the padding; and windows that are all one value.
      {{2, 7, 9, 3}, {3, 3, 2, 2, 1, 1, true}, false, Values::Ties},
      {{1, 6, 5, 4}, {2, 2, 1, 1, 1, 1, true}, false, Values::Constant},
      // Ceil mode: last windows hanging past the input (and past the right padding, where the
      // divisor with count_include_pad shrinks), and one (6 with k2 s4 p1) where the last window would
      // start in the right padding and is dropped.
      {{1, 6, 6, 2}, {3, 3, 2, 2, 0, 0, true, true}},   {{2, 7, 8, 3}, {3, 3, 2, 2, 1, 1, true, true}},
      {{2, 7, 8, 3}, {3, 3, 2, 2, 1, 1, false, true}},  {{1, 6, 6, 1}, {2, 2, 4, 4, 1, 1, true, true}},
      {{3, 11, 13, 5}, {3, 2, 3, 2, 1, 1, false, true}}, {{2, 7, 9, 3}, {3, 3, 2, 2, 1, 1, true, true}, false, Values::Ties},
  };
  return cases;
}

const PoolCase& pool(int i) { return pool_cases()[size_t(i)]; }

std::vector<OpSpec> pool2d_specs() {
  std::vector<OpCase> cases;
  for (const PoolCase& c : pool_cases())
    cases.push_back({str_cat(case_label(c.x, c.values), " k", c.p.kernel_h, "x", c.p.kernel_w, " s", c.p.stride_h, "x",
                             c.p.stride_w, " p", c.p.pad_h, "x", c.p.pad_w, c.p.count_include_pad ? "" : " exclude-pad", c.p.ceil_mode ? " ceil" : ""),
                     c.unet});
  auto x_of = [](int i, uint64_t seed) {
    return std::vector<Tensor>{draw_f64(pool(i).x, seed, -1, 1, pool(i).values)};
  };
  auto y_of = [](int i, uint64_t seed) {
    return std::vector<Tensor>{random_f64(pool2d_output_shape(pool(i).x, pool(i).p), seed)};
  };
  return {
      {.name = "max_pool2d_forward",
       .cases = cases,
       .make_inputs = x_of,
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             const Shape ys = pool2d_output_shape(pool(i).x, pool(i).p);
             Tensor y = output(in, ys);
             Tensor argmax = poisoned(ys, DType::I32, device_of(in));
             max_pool2d_forward(in[0], y, argmax, pool(i).p, e);
             return std::vector<Tensor>{y, argmax};
           }},
      {.name = "max_pool2d_backward",
       .cases = cases,
       .make_inputs =
           [](int i, uint64_t seed) {
             const Shape ys = pool2d_output_shape(pool(i).x, pool(i).p);
             Tensor y = Tensor::empty(ys, DType::F64), argmax = Tensor::empty(ys, DType::I32);
             max_pool2d_forward(draw_f64(pool(i).x, seed, -1, 1, pool(i).values), y, argmax, pool(i).p);
             return std::vector<Tensor>{random_f64(ys, seed + 1), argmax};
           },
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor dx = output(in, pool(i).x);
             max_pool2d_backward(in[0], in[1], dx, pool(i).p, e);
             return std::vector<Tensor>{dx};
           }},
      {.name = "avg_pool2d_forward",
       .cases = cases,
       .make_inputs = x_of,
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor y = output(in, pool2d_output_shape(pool(i).x, pool(i).p));
             avg_pool2d_forward(in[0], y, pool(i).p, e);
             return std::vector<Tensor>{y};
           }},
      {.name = "avg_pool2d_backward",
       .cases = cases,
       .make_inputs = y_of,
       .run =
           [](const std::vector<Tensor>& in, int i, Exec e) {
             Tensor dx = output(in, pool(i).x);
             avg_pool2d_backward(in[0], dx, pool(i).p, e);
             return std::vector<Tensor>{dx};
           }},
  };
}

const OpTests kTests("pool2d", pool2d_specs);

}  // namespace
}  // namespace cuseg
