// Step-by-step parity with torch.optim: every optimizer × every coupled penalty (added to the
// gradient as regularizers/penalty.h defines them), decoupled decay through AdamW, and global-
// norm clipping, for 5 steps on three tensors (a matrix, a conv kernel, a bias), in float64.
// Proximal L1 has no torch.optim counterpart; its tests are in optimizer_test.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cuseg/optim/optimizer.h"
#include "test_util.h"
#include "torch_runner.h"

namespace cuseg {
namespace {

using nlohmann::json;

constexpr int kSteps = 5;

struct Case {
  std::string name, optimizer;
  OptimizerConfig config;
  double lr;
};

json penalty_json(const Penalty& p) {
  const char* kinds[] = {"none", "l1", "l2", "elastic", "smooth-l1"};
  return {{"kind", kinds[int(p.kind)]}, {"l1", p.l1}, {"l2", p.l2}, {"huber", p.huber}, {"beta", p.beta}};
}

std::vector<Case> cases() {
  std::vector<Case> out;
  const std::vector<std::pair<std::string, Penalty>> penalties = {
      {"none", Penalty::none()},           {"l1", Penalty::lasso(0.01)},
      {"l2", Penalty::ridge(0.05)},        {"elastic", Penalty::elastic(0.01, 0.05)},
      {"smooth-l1", Penalty::smooth_l1(0.05, 0.5)}};
  for (std::string opt : {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "rmsprop-centered", "adam", "adamw"}) {
    for (const auto& [pname, pen] : penalties) {
      Case c{opt + "/" + pname, opt, OptimizerConfig::named(opt == "rmsprop-centered" ? "rmsprop" : opt), 0.1};
      if (opt == "momentum") c.config.dampening = 0.1;
      if (opt == "adagrad") c.config.lr_decay = 0.01;
      if (opt == "rmsprop-centered") c.config.centered = true, c.config.momentum = 0.5, c.optimizer = "rmsprop";
      if (opt.rfind("rmsprop", 0) == 0 || opt.rfind("adam", 0) == 0) c.lr = 0.01;
      c.config.penalty = pen;
      out.push_back(c);
    }
  }
  Case clipped{"momentum/clipped", "momentum", OptimizerConfig::named("momentum"), 0.1};
  clipped.config.max_grad_norm = 0.7;
  clipped.config.penalty = Penalty::ridge(0.05);
  out.push_back(clipped);
  return out;
}

TEST(OptimizerParity, MatchesTorchOptimStepByStep) {
  CUSEG_REQUIRE_TORCH();
  const std::vector<std::pair<std::string, Shape>> shapes = {{"fc", {4, 3}}, {"conv", {2, 3, 3, 2}}, {"bias", {4}}};

  std::map<std::string, Tensor> inputs, ours;
  json spec = json::array();
  uint64_t seed = 1;
  for (const Case& c : cases()) {
    const OptimizerConfig& o = c.config;
    json names = json::array();
    for (const auto& [p, s] : shapes) names.push_back(p);
    spec.push_back({{"name", c.name}, {"optimizer", c.optimizer}, {"lr", c.lr}, {"momentum", o.momentum},
                    {"dampening", o.dampening}, {"nesterov", o.nesterov}, {"lr_decay", o.lr_decay}, {"eps", o.eps},
                    {"alpha", o.alpha}, {"centered", o.centered}, {"beta1", o.beta1}, {"beta2", o.beta2},
                    {"weight_decay", o.weight_decay}, {"max_grad_norm", o.max_grad_norm},
                    {"penalty", penalty_json(o.penalty)}, {"params", names}, {"steps", kSteps}});

    std::vector<ParamRef> params;
    std::vector<Tensor> grads;
    for (const auto& [p, s] : shapes) {
      const std::string base = c.name + "." + p;
      Tensor w0 = test::random(s, seed++);
      inputs[base + ".w0"] = w0;
      for (int step = 0; step < kSteps; ++step) inputs[base + ".g" + std::to_string(step)] = test::random(s, seed++);
      grads.push_back(Tensor::empty(s, DType::F64));
      params.push_back({p, w0.clone(), grads.back()});
    }
    Optimizer opt(c.config, params);
    for (int step = 0; step < kSteps; ++step) {
      for (size_t i = 0; i < shapes.size(); ++i)
        grads[i].copy_from(inputs.at(c.name + "." + shapes[i].first + ".g" + std::to_string(step)));
      opt.step(c.lr);
      for (const ParamRef& p : params) ours[c.name + "." + p.name + ".w" + std::to_string(step + 1)] = p.value.clone();
    }
  }

  const SafetensorsFile theirs = test::run_torch_script("optim_parity.py", inputs, spec.dump());
  EXPECT_EQ(theirs.tensors.size(), ours.size());
  for (const auto& [name, w] : ours) {
    auto it = theirs.tensors.find(name);
    ASSERT_NE(it, theirs.tensors.end()) << "torch.optim gave no " << name;
    EXPECT_TRUE(test::close(w, it->second, 1e-10, "vs torch.optim: " + name, 1));
  }
}

}  // namespace
}  // namespace cuseg
