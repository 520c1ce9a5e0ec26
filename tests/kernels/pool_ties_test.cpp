// Max pooling's tie rule on every implementation against PyTorch's: where a window holds its
// maximum more than once, the first in row-major window order is taken (PyTorch keeps a value
// only when it is strictly greater, or NaN), so argmax, y and the backward's dx must equal
// F.max_pool2d(return_indices=True)'s exactly. Random floats never tie, so the registry's random
// cases cannot see this rule; here the inputs are small integers (ties in most windows) and a
// constant image (every window a tie, some over the padding). Integer values keep every sum of
// the backward exact, so the comparison is exact on every implementation and in float32.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cuseg/config.h"
#include "cuseg/kernels/pool2d.h"
#include "test_util.h"
#include "torch_runner.h"
#if CUSEG_HAS_CUDNN
#include "cuseg/kernels/cudnn/pool2d.h"
#endif

namespace cuseg {
namespace {

struct TieCase {
  std::string name;
  Shape x;
  Pool2dParams p;
  bool constant;  // every element 1; else integers in {0, 1, 2}
};

const std::vector<TieCase>& tie_cases() {
  static const std::vector<TieCase> cases = {
      {"ints_k3s2p1", {2, 7, 9, 3}, {3, 3, 2, 2, 1, 1, true}, false},  // overlapping windows, padding
      {"ints_k2s2", {1, 8, 6, 5}, {2, 2, 2, 2, 0, 0, true}, false},    // the U-Net's pooling
      {"const_k2s1p1", {1, 6, 5, 4}, {2, 2, 1, 1, 1, 1, true}, true},  // ties everywhere, some with padding
      {"ints_k3s2p1_ceil", {2, 7, 8, 3}, {3, 3, 2, 2, 1, 1, true, true}, false},  // last windows past the input
  };
  return cases;
}

struct Expected {
  std::map<std::string, Tensor> x, dy;  // by case: the inputs
  SafetensorsFile torch;                // "<case>.y", ".argmax", ".dx"
};

// PyTorch's answers, once per test binary.
const Expected& pytorch() {
  static const Expected e = [] {
    Expected out;
    std::map<std::string, Tensor> inputs;
    nlohmann::json spec = nlohmann::json::array();
    uint64_t seed = 7;
    for (const TieCase& c : tie_cases()) {
      const Shape ys = pool2d_output_shape(c.x, c.p);
      out.x[c.name] = c.constant ? Tensor::full(c.x, 1.0, DType::F64) : test::random_integers(c.x, seed++, 0, 2, DType::F64);
      out.dy[c.name] = test::random_integers(ys, seed++, 0, 3, DType::F64);
      inputs[c.name + ".x"] = out.x[c.name];
      inputs[c.name + ".g"] = out.dy[c.name];
      spec.push_back({{"op", "max_pool2d"},
                      {"name", c.name},
                      {"kernel", {c.p.kernel_h, c.p.kernel_w}},
                      {"stride", {c.p.stride_h, c.p.stride_w}},
                      {"pad", {c.p.pad_h, c.p.pad_w}},
                      {"count_include_pad", true},
                      {"ceil_mode", c.p.ceil_mode},
                      {"indices", true}});
    }
    out.torch = test::run_torch_script("torch_parity.py", inputs, spec.dump());
    return out;
  }();
  return e;
}

// Every output of `impl` on every case, exactly PyTorch's. `pool(x, y, argmax, dy, dx, p)` runs
// the implementation on tensors already on its device in its dtype (argmax undefined for cuDNN,
// which keeps none).
void expect_pytorchs_ties(const std::string& impl, Device device, DType dtype, bool has_argmax,
                          const std::function<void(const Tensor&, Tensor&, Tensor&, const Tensor&, Tensor&,
                                                   const Pool2dParams&)>& pool) {
  const Expected& e = pytorch();
  for (const TieCase& c : tie_cases()) {
    const Shape ys = pool2d_output_shape(c.x, c.p);
    const Tensor x = e.x.at(c.name).to(dtype).to(device), dy = e.dy.at(c.name).to(dtype).to(device);
    Tensor y = Tensor::full(ys, std::nan(""), dtype, device), dx = Tensor::full(c.x, std::nan(""), dtype, device);
    Tensor argmax = has_argmax ? Tensor::full(ys, -7.0, DType::I32, device) : Tensor();
    pool(x, y, argmax, dy, dx, c.p);
    const std::string what = impl + " " + c.name;
    auto same = [&](const Tensor& got, const char* output) {
      return test::identical(got.to(Device::cpu()).to(DType::F64), e.torch.tensors.at(c.name + "." + output),
                             what + " " + output, 7);
    };
    EXPECT_TRUE(same(y, "y"));
    if (has_argmax) {
      EXPECT_TRUE(same(argmax, "argmax"));
    }
    EXPECT_TRUE(same(dx, "dx"));
  }
}

auto through_entry_points(Backend backend) {
  return [backend](const Tensor& x, Tensor& y, Tensor& argmax, const Tensor& dy, Tensor& dx, const Pool2dParams& p) {
    max_pool2d_forward(x, y, argmax, p, backend);
    max_pool2d_backward(dy, argmax, dx, p, backend);
  };
}

TEST(PoolTies, TheReferenceTakesTheFirstMaximumAsPyTorchDoes) {
  CUSEG_REQUIRE_TORCH();
  for (DType dtype : {DType::F64, DType::F32})
    expect_pytorchs_ties(str_cat("reference ", dtype_name(dtype)), Device::cpu(), dtype, true,
                         through_entry_points(Backend::Reference));
}

TEST(PoolTies, TheFastPathTakesTheFirstMaximumAsPyTorchDoes) {
  if (!CUSEG_HAS_ONEDNN) GTEST_SKIP() << "built without oneDNN: there is no fast path";
  CUSEG_REQUIRE_TORCH();
  expect_pytorchs_ties("fast", Device::cpu(), DType::F32, true, through_entry_points(Backend::Fast));
}

TEST(PoolTiesGpu, CusegsKernelsTakeTheFirstMaximumAsPyTorchDoes) {
  CUSEG_REQUIRE_GPU();
  CUSEG_REQUIRE_TORCH();
  expect_pytorchs_ties("cuda", Device::cuda(0), DType::F32, true, through_entry_points(Backend::Cuda));
}

// cuDNN's max pooling is not an implementation of the op (it keeps no argmax), but it is the peer
// the benchmarks measure against: where it routes a tied window's gradient is worth knowing.
TEST(PoolTiesGpu, CudnnRoutesTiedGradientsAsPyTorchDoes) {
  CUSEG_REQUIRE_GPU();
  if (!CUSEG_HAS_CUDNN) GTEST_SKIP() << "built without cuDNN";
  CUSEG_REQUIRE_TORCH();
#if CUSEG_HAS_CUDNN
  expect_pytorchs_ties("cudnn", Device::cuda(0), DType::F32, false,
                       [](const Tensor& x, Tensor& y, Tensor&, const Tensor& dy, Tensor& dx, const Pool2dParams& p) {
                         const Shape ys = pool2d_output_shape(x.shape(), p);
                         const PoolGeometry g{int(x.dim(0)), int(x.dim(1)), int(x.dim(2)), int(x.dim(3)),
                                              int(ys[1]),    int(ys[2]),    p.kernel_h,   p.kernel_w,
                                              p.stride_h,    p.stride_w,    p.pad_h,      p.pad_w,
                                              p.count_include_pad};
                         cudnn::max_pool2d_forward(x.data<float>(), y.data<float>(), g, x.device().index);
                         cudnn::max_pool2d_backward(x.data<float>(), y.data<float>(), dy.data<float>(),
                                                    dx.data<float>(), g, x.device().index);
                       });
#endif
}

}  // namespace
}  // namespace cuseg
