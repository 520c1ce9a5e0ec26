// Optimizers and penalties: hand-computed single steps, proximal L1's exact zeros, parameter
// groups, bad configuration, clipping, state round trips, schedules, the regularization report;
// with a GPU, the fused CUDA step against the CPU for every optimizer × penalty, in one launch.
#include "cuseg/optim/optimizer.h"

#include "cuseg/config.h"
#include "cuseg/core/cuda/launch_count.h"

#include <gtest/gtest.h>

#include <cmath>

#include "verify/compare.h"
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

using test::expect_error;

// One scalar weight w (as a [1,1] matrix, so it is in the "decay" group) with gradient g.
struct Scalar {
  Tensor w, g;
  Scalar(double w0, double g0) : w(Tensor::full(Shape{1, 1}, w0, DType::F64)), g(Tensor::full(Shape{1, 1}, g0, DType::F64)) {}
  std::vector<ParamRef> params() const { return {{"w", w, g}}; }
  double value() const { return w.to_vector<double>()[0]; }
};

double after_steps(OptimizerConfig c, double w0, double g0, double lr, int steps = 1) {
  Scalar s(w0, g0);
  Optimizer opt(c, s.params());
  for (int i = 0; i < steps; ++i) opt.step(lr);
  return s.value();
}

TEST(Optimizer, SingleStepsMatchHandComputedValues) {
  // SGD: 1 − 0.1·0.5
  EXPECT_DOUBLE_EQ(after_steps(OptimizerConfig::named("sgd"), 1, 0.5, 0.1), 0.95);
  // Momentum 0.9: buf = 0.5, then 0.9·0.5 + 0.5 = 0.95; w = 1 − 0.05 − 0.095
  EXPECT_NEAR(after_steps(OptimizerConfig::named("momentum"), 1, 0.5, 0.1, 2), 0.855, 1e-15);
  // Nesterov: step 1 uses g + 0.9·buf = 0.95
  EXPECT_NEAR(after_steps(OptimizerConfig::named("nesterov"), 1, 0.5, 0.1), 1 - 0.095, 1e-15);
  // AdaGrad: sum = 0.25, w = 1 − 0.1·0.5/(0.5 + 1e-10)
  EXPECT_NEAR(after_steps(OptimizerConfig::named("adagrad"), 1, 0.5, 0.1), 1 - 0.05 / (0.5 + 1e-10), 1e-15);
  // RMSprop: sq = 0.01·0.25, avg = 0.05 + 1e-8
  EXPECT_NEAR(after_steps(OptimizerConfig::named("rmsprop"), 1, 0.5, 0.01), 1 - 0.01 * 0.5 / (0.05 + 1e-8), 1e-15);
  OptimizerConfig centered = OptimizerConfig::named("rmsprop");
  centered.centered = true;
  EXPECT_NEAR(after_steps(centered, 1, 0.5, 0.01), 1 - 0.01 * 0.5 / (std::sqrt(0.0025 - 0.005 * 0.005) + 1e-8), 1e-15);
  // Adam, step 1: m = 0.1·g, v = 0.001·g², step size lr/0.1, denominator √v/√0.001 + ε = |g| + ε:
  // the first step moves by almost exactly lr.
  EXPECT_NEAR(after_steps(OptimizerConfig::named("adam"), 1, 0.5, 0.1), 1 - (0.1 / 0.1) * 0.05 / (0.5 + 1e-8), 1e-15);
  // AdamW: w·(1 − 0.1·0.01) first, then the same Adam step.
  EXPECT_NEAR(after_steps(OptimizerConfig::named("adamw"), 1, 0.5, 0.1), 0.999 - (0.1 / 0.1) * 0.05 / (0.5 + 1e-8), 1e-15);
}

// Which step's learning rate the optimizer applies: step t (0-based) takes the schedule at t, so
// with a warm-up of 4 the first update is lr·1/4·g, the second lr·2/4·g, and from t = 4 cosine's
// lr·(1 + cos(π·(t − 4)/6))/2 — written out here, not asked of LrSchedule. last_lr() is the rate
// applied, what the trainer logs.
TEST(Optimizer, StepTAppliesTheScheduleAtT) {
  const double lr = 0.1, g = 0.5, pi = std::acos(-1.0);
  const LrSchedule schedule = LrSchedule::cosine(lr, 10, 4);
  Scalar s(1, g);
  Optimizer opt(OptimizerConfig::named("sgd"), s.params());
  EXPECT_FALSE(opt.last_lr().has_value());
  double w = 1;
  for (int t = 0; t < 7; ++t) {
    opt.step(schedule);
    const double applied = t < 4 ? lr * (t + 1) / 4 : lr * (1 + std::cos(pi * (t - 4) / 6)) / 2;
    w -= applied * g;
    EXPECT_NEAR(s.value(), w, 1e-15) << "after step " << t + 1;
    ASSERT_TRUE(opt.last_lr().has_value());
    EXPECT_DOUBLE_EQ(*opt.last_lr(), applied) << "step " << t + 1;
  }
}

TEST(Optimizer, PenaltiesAddTheirGradients) {
  OptimizerConfig c = OptimizerConfig::named("sgd");
  c.penalty = Penalty::ridge(0.1);  // g = 0.5 + 0.1·1
  EXPECT_DOUBLE_EQ(after_steps(c, 1, 0.5, 0.1), 0.94);
  c.penalty = Penalty::lasso(0.1);  // g = 0.5 + 0.1·sign(−2)
  EXPECT_DOUBLE_EQ(after_steps(c, -2, 0.5, 0.1), -2 - 0.1 * 0.4);
  EXPECT_DOUBLE_EQ(after_steps(c, 0, 0.5, 0.1), -0.05);  // sign(0) = 0
  c.penalty = Penalty::elastic(0.1, 0.2);  // g = 0.5 + 0.1 + 0.2
  EXPECT_DOUBLE_EQ(after_steps(c, 1, 0.5, 0.1), 1 - 0.08);
  c.penalty = Penalty::smooth_l1(0.2, 2.0);  // inside β: 0.2·1/2;  outside: 0.2·sign
  EXPECT_DOUBLE_EQ(after_steps(c, 1, 0.5, 0.1), 1 - 0.06);
  EXPECT_DOUBLE_EQ(after_steps(c, -3, 0.5, 0.1), -3 - 0.1 * 0.3);
}

TEST(Optimizer, ProximalL1SoftThresholdsAfterTheStep) {
  OptimizerConfig c = OptimizerConfig::named("sgd");
  c.penalty = Penalty::lasso(1.0, L1Mode::Proximal);
  EXPECT_EQ(after_steps(c, 0.05, 0.0, 0.1), 0.0);            // |0.05| < lr·λ = 0.1: exactly zero
  EXPECT_DOUBLE_EQ(after_steps(c, 0.3, 0.0, 0.1), 0.2);      // shrunk by 0.1
  EXPECT_DOUBLE_EQ(after_steps(c, -0.3, 1.0, 0.1), -0.3);    // −0.4 after the step, then −0.3
}

TEST(Optimizer, ProximalL1KeepsZerosWhileTheGradientIsBelowLambda) {
  const double lambda = 0.5;
  Tensor w = Tensor::zeros(Shape{64, 64}, DType::F64);
  Tensor g = Tensor::empty(Shape{64, 64}, DType::F64);
  OptimizerConfig c = OptimizerConfig::named("sgd");
  c.penalty = Penalty::lasso(lambda, L1Mode::Proximal);
  Optimizer opt(c, {{"w", w, g}});
  for (int step = 0; step < 20; ++step) {
    g.fill_uniform(uint64_t(step), -0.999 * lambda, 0.999 * lambda);
    opt.step(0.1);
    ASSERT_EQ(opt.stats()[0].zeros, 64 * 64) << "a zero weight moved at step " << step;
  }
  g.fill_uniform(99, lambda * 1.5, lambda * 2);  // above λ: every weight leaves zero
  opt.step(0.1);
  EXPECT_EQ(opt.stats()[0].zeros, 0);
}

TEST(Optimizer, ProximalL1ProducesExactZerosThatTheReportCounts) {
  Tensor w = test::random(Shape{32, 16}, 1), g = Tensor::zeros(Shape{32, 16}, DType::F64);
  OptimizerConfig c = OptimizerConfig::named("adam");
  c.penalty = Penalty::lasso(2.0, L1Mode::Proximal);
  Optimizer opt(c, {{"w", w, g}});
  opt.step(0.25);  // zero gradient: Adam does not move; the prox zeroes |w| ≤ 0.5
  int64_t expected = 0;
  for (double v : test::random(Shape{32, 16}, 1).to_vector<double>()) expected += std::abs(v) <= 0.5;
  const ParamStats st = opt.stats()[0];
  EXPECT_GT(expected, 100);
  EXPECT_EQ(st.zeros, expected);
  EXPECT_DOUBLE_EQ(st.zero_fraction, double(expected) / 512);
}

TEST(Optimizer, DefaultGroupsSpareBiasesAndExplicitGroupsOverride) {
  Tensor w = Tensor::full(Shape{2, 2}, 1.0, DType::F64), b = Tensor::full(Shape{2}, 1.0, DType::F64);
  Tensor k = Tensor::full(Shape{2, 2}, 1.0, DType::F64), zero = Tensor::zeros(Shape{2, 2}, DType::F64);
  Tensor bz = Tensor::zeros(Shape{2}, DType::F64), kz = Tensor::zeros(Shape{2, 2}, DType::F64);
  OptimizerConfig c = OptimizerConfig::named("sgd");
  c.penalty = Penalty::ridge(0.5);
  Optimizer opt(c, {{"w", w, zero}, {"b", b, bz}, {"k", k, kz, /*no_decay=*/true}},
                {{"fast", {"k"}, Penalty::ridge(1.0), std::nullopt, 2.0}});
  EXPECT_EQ(opt.group_of("w"), "decay");
  EXPECT_EQ(opt.group_of("b"), "no_decay");
  EXPECT_EQ(opt.group_of("k"), "fast");
  opt.step(0.1);
  EXPECT_DOUBLE_EQ(w.to_vector<double>()[0], 1 - 0.1 * 0.5);
  EXPECT_DOUBLE_EQ(b.to_vector<double>()[0], 1.0);  // no penalty on the bias
  EXPECT_DOUBLE_EQ(k.to_vector<double>()[0], 1 - 0.2 * 1.0);  // lr·2, λ = 1
  EXPECT_DOUBLE_EQ(opt.penalty_value(), 0.25 * 4 * 0.95 * 0.95 + 0.5 * 4 * 0.8 * 0.8);
}

TEST(Optimizer, RefusesBadConfiguration) {
  Tensor w = Tensor::zeros(Shape{2, 2}), g = Tensor::zeros(Shape{2, 2});
  expect_error([] { Penalty::lasso(-1); }, {"penalty", "≥ 0"});
  expect_error([] { Penalty::ridge(std::nan("")); }, {"penalty"});
  expect_error([] { Penalty::smooth_l1(0.1, 0); }, {"β", "> 0"});
  expect_error([] { Penalty::parse("l3", 0, 0, 1); }, {"unknown penalty 'l3'"});
  expect_error([] { OptimizerConfig::named("adamax"); }, {"unknown optimizer 'adamax'"});
  expect_error([&] { Optimizer(OptimizerConfig::named("sgd"), {{"w", w, g}}).step(-0.1); }, {"learning rate", "-0.1"});
  OptimizerConfig bad = OptimizerConfig::named("adam");
  bad.beta1 = 1.0;
  expect_error([&] { Optimizer(bad, {{"w", w, g}}); }, {"beta1"});
  bad = OptimizerConfig::named("sgd");
  bad.nesterov = true;
  expect_error([&] { Optimizer(bad, {{"w", w, g}}); }, {"Nesterov"});
  expect_error([&] { Optimizer(OptimizerConfig::named("sgd"), {{"w", w, g}}, {{"a", {"w"}}, {"b", {"w"}}}); },
               {"'w' is in two groups", "'a'", "'b'"});
  expect_error([&] { Optimizer(OptimizerConfig::named("sgd"), {{"w", w, g}}, {{"a", {"nope"}}}); }, {"unknown parameter 'nope'"});
  expect_error([&] { Optimizer(OptimizerConfig::named("sgd"), {{"w", w, g}, {"w", w, g}}); }, {"'w' appears twice"});
  expect_error([&] { Optimizer(OptimizerConfig::named("sgd"), {{"w", w, Tensor::zeros(Shape{3})}}); }, {"gradient", "'w'"});
  expect_error([&] { Optimizer(OptimizerConfig::named("sgd"), {{"w", w, g}}, {{"a", {}, Penalty{PenaltyKind::L1, -1}}}); },
               {"penalty"});
  expect_error([] { LrSchedule::cosine(0.1, 10, 10); }, {"warmup"});
  expect_error([] { LrSchedule::parse("linear", 0.1, 10); }, {"unknown schedule 'linear'"});
}

TEST(Optimizer, ClipsByTheGlobalNormAsPyTorchDoes) {
  Tensor a = Tensor::full(Shape{1, 1}, 1.0, DType::F64), ga = Tensor::full(Shape{1, 1}, 3.0, DType::F64);
  Tensor b = Tensor::full(Shape{1}, 1.0, DType::F64), gb = Tensor::full(Shape{1}, 4.0, DType::F64);
  OptimizerConfig c = OptimizerConfig::named("sgd");
  c.max_grad_norm = 1.0;
  Optimizer opt(c, {{"a", a, ga}, {"b", b, gb}});
  opt.step(0.1, 2.0);  // scaled gradients (6, 8): norm 10, clipped to 1
  EXPECT_DOUBLE_EQ(opt.last_grad_norm(), 10.0);
  const double coef = 1.0 / (10.0 + 1e-6);
  EXPECT_NEAR(a.to_vector<double>()[0], 1 - 0.1 * 6 * coef, 1e-15);
  EXPECT_NEAR(b.to_vector<double>()[0], 1 - 0.1 * 8 * coef, 1e-15);
}

TEST(Optimizer, SavedStateContinuesExactly) {
  for (const char* name : {"momentum", "adagrad", "rmsprop", "adam"}) {
    OptimizerConfig c = OptimizerConfig::named(name);
    if (std::string(name) == "rmsprop") c.centered = true, c.momentum = 0.5;
    Tensor w = test::random(Shape{8, 3}, 1, -1, 1, DType::F32), g = Tensor::empty(Shape{8, 3});
    Optimizer a(c, {{"w", w, g}});
    for (int s = 0; s < 3; ++s) {
      g.fill_uniform(uint64_t(10 + s), -1, 1);
      a.step(0.01);
    }
    const std::map<std::string, Tensor> saved = a.state();
    Tensor w2 = w.clone(), g2 = Tensor::empty(Shape{8, 3});
    Optimizer b(c, {{"w", w2, g2}});
    b.load_state(saved);
    EXPECT_EQ(b.steps(), 3);
    for (int s = 3; s < 5; ++s) {
      g.fill_uniform(uint64_t(10 + s), -1, 1);
      g2.fill_uniform(uint64_t(10 + s), -1, 1);
      a.step(0.01);
      b.step(0.01);
    }
    EXPECT_TRUE(test::identical(w2, w, str_cat("resumed ", name), 10));
    std::map<std::string, Tensor> wrong = saved;
    wrong.erase(wrong.begin());
    expect_error([&] { b.load_state(wrong); }, {"missing"});
    wrong = saved;
    wrong["w.extra"] = Tensor::zeros(Shape{1});
    expect_error([&] { b.load_state(wrong); }, {"does not belong"});
  }
}

TEST(LrSchedule, FollowsItsDefinitions) {
  EXPECT_DOUBLE_EQ(LrSchedule::constant(0.1).at(1000), 0.1);
  const LrSchedule step = LrSchedule::step(1.0, 10, 0.5);
  EXPECT_DOUBLE_EQ(step.at(9), 1.0);
  EXPECT_DOUBLE_EQ(step.at(10), 0.5);
  EXPECT_DOUBLE_EQ(step.at(25), 0.25);
  const LrSchedule cosine = LrSchedule::cosine(1.0, 110, 10, 0.1);
  EXPECT_DOUBLE_EQ(cosine.at(0), 0.1);
  EXPECT_DOUBLE_EQ(cosine.at(9), 1.0);
  EXPECT_DOUBLE_EQ(cosine.at(10), 1.0);
  EXPECT_NEAR(cosine.at(60), 0.55, 1e-15);
  EXPECT_NEAR(cosine.at(110), 0.1, 1e-15);
  const LrSchedule poly = LrSchedule::polynomial(1.0, 100, 0.9);
  EXPECT_DOUBLE_EQ(poly.at(0), 1.0);
  EXPECT_NEAR(poly.at(50), std::pow(0.5, 0.9), 1e-15);
  EXPECT_DOUBLE_EQ(poly.at(100), 0.0);
}

TEST(Penalty, ValuesFollowTheirDefinitions) {
  Tensor w = Tensor::from_vector(std::vector<double>{-2, 0, 0.5}, Shape{3});
  EXPECT_DOUBLE_EQ(Penalty::lasso(0.1).value(w), 0.1 * 2.5);
  EXPECT_DOUBLE_EQ(Penalty::ridge(0.1).value(w), 0.05 * 4.25);
  EXPECT_DOUBLE_EQ(Penalty::elastic(0.1, 0.2).value(w), 0.25 + 0.1 * 4.25);
  EXPECT_DOUBLE_EQ(Penalty::smooth_l1(1.0, 1.0).value(w), (2 - 0.5) + 0.125);
  EXPECT_EQ(Penalty::parse("elastic-prox", 1e-4, 1e-3, 1).str(), "elastic(l1=0.0001, l2=0.001, proximal)");
}

// Every optimizer × penalty on the GPU against the CPU after 5 steps, 40 tensors in one launch.
TEST(Optimizer, FastCpuStepMatchesTheReference) {
  if (!CUSEG_HAS_ONEDNN) GTEST_SKIP() << "this build has no fast CPU path (no oneDNN)";
  const std::vector<std::string> optimizers = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"};
  const std::vector<Penalty> penalties = {Penalty::none(), Penalty::lasso(1e-2, L1Mode::Proximal),
                                          Penalty::elastic(1e-3, 1e-2), Penalty::smooth_l1(1e-2, 0.1)};
  for (const std::string& name : optimizers) {
    for (const Penalty& pen : penalties) {
      OptimizerConfig c = OptimizerConfig::named(name);
      c.penalty = pen;
      c.max_grad_norm = 20;  // the gradients' norm is about 60: clipped
      if (name == "rmsprop") c.centered = true, c.momentum = 0.5;
      std::vector<Tensor> w_ref, g_ref, w_fast, g_fast;
      std::vector<ParamRef> p_ref, p_fast;
      for (int i = 0; i < 12; ++i) {
        // Matrices (one of several chunks), vectors (no decay), one longer than a chunk.
        const Shape s = i == 5 ? Shape{200, 129} : i % 4 == 3 ? Shape{int64_t(17 + i)} : Shape{int64_t(3 + i), 129};
        w_ref.push_back(test::random(s, uint64_t(i), -1, 1, DType::F32));
        w_fast.push_back(w_ref.back().clone());
        g_ref.push_back(Tensor::empty(s));
        g_fast.push_back(Tensor::empty(s));
        p_ref.push_back({str_cat("p", i), w_ref.back(), g_ref.back()});
        p_fast.push_back({str_cat("p", i), w_fast.back(), g_fast.back()});
      }
      Optimizer ref(c, p_ref), fast(c, p_fast);
      ref.set_backend(Backend::Reference);
      fast.set_backend(Backend::Fast);
      for (int step = 0; step < 5; ++step) {
        for (size_t i = 0; i < g_ref.size(); ++i) {
          g_ref[i].fill_uniform(uint64_t(100 * step + i), -1, 1);
          g_fast[i].fill_uniform(uint64_t(100 * step + i), -1, 1);
        }
        ref.step(0.01);
        fast.step(0.01);
        ASSERT_NEAR(fast.last_grad_norm(), ref.last_grad_norm(), 1e-9 * ref.last_grad_norm());
        ASSERT_GT(ref.last_grad_norm(), c.max_grad_norm);
      }
      const std::map<std::string, Tensor> ref_state = ref.state(), fast_state = fast.state();
      for (size_t i = 0; i < w_ref.size(); ++i)
        EXPECT_TRUE(test::close(w_fast[i], w_ref[i], 1e-6, str_cat(name, " ", pen.str(), " p", i), i));
      for (const auto& [key, value] : ref_state) {
        if (value.dtype() != DType::F32) continue;  // the step counter
        EXPECT_TRUE(test::close(fast_state.at(key), value, 1e-6, str_cat(name, " ", pen.str(), " ", key), 1));
      }
    }
  }
}

TEST(OptimizerGpu, FusedCudaStepMatchesTheCpu) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  const std::vector<std::string> optimizers = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"};
  const std::vector<Penalty> penalties = {Penalty::none(), Penalty::lasso(1e-3), Penalty::lasso(1e-2, L1Mode::Proximal),
                                          Penalty::ridge(1e-2), Penalty::elastic(1e-3, 1e-2), Penalty::smooth_l1(1e-2, 0.1)};
  for (const std::string& name : optimizers) {
    for (const Penalty& pen : penalties) {
      OptimizerConfig c = OptimizerConfig::named(name);
      c.penalty = pen;
      if (name == "rmsprop") c.centered = true, c.momentum = 0.5;
      std::vector<Tensor> w_cpu, g_cpu, w_gpu, g_gpu;
      std::vector<ParamRef> p_cpu, p_gpu;
      // 40 tensors, 10 under the sanitizers (test_util.h): still several per launch and each kind.
      for (int i = 0; i < (test::small_cases_only() ? 10 : 40); ++i) {
        const Shape s = i % 4 == 3 ? Shape{int64_t(17 + i)} : Shape{int64_t(3 + i), 129};
        w_cpu.push_back(test::random(s, uint64_t(i), -1, 1, DType::F32));
        g_cpu.push_back(Tensor::empty(s));
        w_gpu.push_back(w_cpu.back().to(gpu));
        g_gpu.push_back(Tensor::empty(s, DType::F32, gpu));
        p_cpu.push_back({str_cat("p", i), w_cpu.back(), g_cpu.back()});
        p_gpu.push_back({str_cat("p", i), w_gpu.back(), g_gpu.back()});
      }
      Optimizer cpu(c, p_cpu), cuda(c, p_gpu);
      for (int step = 0; step < 5; ++step) {
        for (size_t i = 0; i < g_cpu.size(); ++i) {
          g_cpu[i].fill_uniform(uint64_t(100 * step + i), -1, 1);
          g_gpu[i].fill_uniform(uint64_t(100 * step + i), -1, 1);
        }
        cpu.step(0.01);
        // One fused launch for all the tensors, counted by the CUDA side.
        EXPECT_EQ(::cuseg::cuda::count_kernel_launches(gpu, [&] { cuda.step(0.01); }), 1);
      }
      for (size_t i = 0; i < w_cpu.size(); ++i)
        EXPECT_TRUE(test::close(w_gpu[i], w_cpu[i], 1e-6, str_cat(name, " ", pen.str(), " p", i), i));
    }
  }
}

TEST(OptimizerGpu, ClippingOnTheGpuMatchesTheCpu) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  OptimizerConfig c = OptimizerConfig::named("momentum");
  c.max_grad_norm = 0.5;
  Tensor w = test::random(Shape{300, 70}, 1, -1, 1, DType::F32), g = test::random(Shape{300, 70}, 2, -1, 1, DType::F32);
  Tensor wg = w.to(gpu), gg = g.to(gpu);
  Optimizer a(c, {{"w", w, g}}), b(c, {{"w", wg, gg}});
  a.step(0.1, 0.5);
  // The norm (partial sums and their in-order finish), then the fused update.
  EXPECT_EQ(::cuseg::cuda::count_kernel_launches(gpu, [&] { b.step(0.1, 0.5); }), 3);
  EXPECT_NEAR(b.last_grad_norm(), a.last_grad_norm(), 1e-5 * a.last_grad_norm());
  EXPECT_TRUE(test::close(wg, w, 1e-6, "clipped momentum step", 1));
}

}  // namespace
}  // namespace cuseg
