// The layer graph and the U-Net: wiring errors named at compile time, fan-out gradients,
// evaluation-mode freeing, the summary, and whole-network checks — a tiny unet-s in double
// against finite differences for parameters of every layer, and (with a GPU) the same network in
// float on the CPU and on CUDA.
#include "cuseg/layers/graph.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>

#include "cuseg/layers/layers.h"
#include "cuseg/layers/unet.h"
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

using test::expect_error;

std::unique_ptr<Layer> relu(const std::string& name) {
  return std::make_unique<Activation>(name, ActivationParams{ActivationKind::Relu});
}

TEST(Graph, RefusesWiringMistakesNamingTheLayer) {
  {
    Graph g;
    g.add_input("x", 3);
    g.add(relu("a"), {"nope"}, "y");
    expect_error([&] { g.compile({{"x", Shape{1, 4, 4, 3}}}); }, {"layer 'a'", "unknown tensor 'nope'"});
  }
  {
    Graph g;
    g.add_input("x", 3);
    g.add(std::make_unique<Concat>("a", 2), {"x", "c"}, "b");
    g.add(relu("c_layer"), {"b"}, "c");
    expect_error([&] { g.compile({{"x", Shape{1, 4, 4, 3}}}); }, {"cycle"});
  }
  {
    Graph g;
    g.add_input("x", 3);
    g.add(std::make_unique<Pool2d>("pool", true, Pool2dParams{}), {"x"}, "p");
    g.add(std::make_unique<Concat>("cat", 2), {"x", "p"}, "y");
    expect_error([&] { g.compile({{"x", Shape{1, 4, 4, 3}}}); }, {"Concat 'cat'", "differ outside the channels"});
  }
  {
    Graph g;
    g.add_input("x", 3);
    g.add(std::make_unique<Conv2d>("conv", 4, 8, 3, Conv2dParams{1, 1, 1, 1, 1, 1}, true, 0), {"x"}, "y");
    expect_error([&] { g.compile({{"x", Shape{1, 4, 4, 3}}}); }, {"Conv2d 'conv'", "3 channels", "expects 4"});
    g.add(relu("again"), {"x"}, "y");
    expect_error([&] { g.compile({{"x", Shape{1, 4, 4, 3}}}); }, {"layer 'again' writes 'y'", "'conv' already writes"});
  }
  auto unet = build_unet(ModelConfig::unet_s(1, 2, 4));
  expect_error([&] { unet->compile({{"image", Shape{1, 30, 32, 1}}}); }, {"multiples of 8"});
}

TEST(Graph, FanOutGradientsAddUp) {
  // y = concat(relu(x·w), relu(x·w)) reads one tensor twice: its gradient is the sum.
  Graph g;
  g.to(DType::F64);
  g.add_input("x", 2);
  g.add(std::make_unique<Conv2d>("conv", 2, 3, 1, Conv2dParams{}, false, 7), {"x"}, "h");
  g.add(relu("r1"), {"h"}, "a");
  g.add(std::make_unique<Activation>("t", ActivationParams{ActivationKind::Tanh}), {"h"}, "b");
  g.add(std::make_unique<Concat>("cat", 2), {"a", "b"}, "y");
  g.add_output("y");
  const Tensor x = test::random(Shape{2, 3, 3, 2}, 1), gy = test::random(Shape{2, 3, 3, 6}, 2);
  Parameter* w = g.parameters()[0];
  auto loss = [&](const Tensor& wv) {
    w->value.copy_from(wv);
    g.forward({{"x", x}});
    return test::dot(g.get("y"), gy);
  };
  const Tensor w0 = w->value.clone();
  g.zero_grad();
  g.forward({{"x", x}});
  g.backward({{"y", gy}});
  const Tensor analytic = w->grad.clone();
  EXPECT_TRUE(test::gradcheck(loss, w0, analytic, "fan-out conv weight"));
}

TEST(Graph, EvaluationModeFreesIntermediatesAndSummarizes) {
  auto g = build_unet(ModelConfig::unet_s(1, 3, 4));
  g->set_training(false);
  g->forward({{"image", test::random(Shape{1, 16, 16, 1}, 1, 0, 1, DType::F32)}});
  EXPECT_EQ(g->get("logits").shape(), (Shape{1, 16, 16, 3}));
  expect_error([&] { (void)g->get("enc0.relu1"); }, {"not available"});
  const std::string s = g->summary({{"image", Shape{1, 16, 16, 1}}});
  EXPECT_NE(s.find("enc0.conv1"), std::string::npos) << s;
  EXPECT_NE(s.find("dec0.concat"), std::string::npos) << s;
  EXPECT_NE(s.find("total:"), std::string::npos) << s;
  // Parameter names follow the documented scheme.
  std::set<std::string> names;
  for (Parameter* p : g->parameters()) names.insert(p->name);
  for (const char* n : {"enc0.conv1.weight", "enc3.bn2.bias", "dec2.up.weight", "dec2.up.bias", "dec0.conv2.weight",
                        "head.weight", "head.bias"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_TRUE(g->state().count("enc1.bn1.running_var"));
}

// A layer held for its state only (an SMP encoder's stages past its depth): its weights are in
// state() — saved, loaded, converted with the graph — but it never runs and no optimizer sees it.
TEST(Graph, AnUnusedLayerHoldsStateButNeverRunsNorTrains) {
  Graph g;
  g.add_input("x", 2);
  g.add(std::make_unique<Conv2d>("used", 2, 3, 3, Conv2dParams{1, 1, 1, 1}, true, 1), {"x"}, "y");
  g.add_unused(std::make_unique<Conv2d>("held", 5, 7, 3, Conv2dParams{1, 1, 1, 1}, true, 2));
  g.add_output("y");
  expect_error([&] { g.add_unused(relu("used")); }, {"two layers named 'used'"});
  const std::map<std::string, Tensor> state = g.state();
  ASSERT_TRUE(state.count("held.weight") && state.count("held.bias"));
  EXPECT_EQ(state.at("held.weight").shape(), (Shape{7, 3, 3, 5}));
  for (Parameter* p : g.parameters()) EXPECT_FALSE(p->name.starts_with("held")) << p->name;
  EXPECT_EQ(g.layers().back()->name(), "held");
  EXPECT_EQ(&g.layer("held"), g.layers().back());
  // Runs without it (its 5 input channels would fit nothing here), converts it, loads it.
  g.to(DType::F64);
  g.forward({{"x", test::random(Shape{1, 4, 4, 2}, 1, -1, 1, DType::F64)}});
  EXPECT_EQ(g.state().at("held.weight").dtype(), DType::F64);
  std::map<std::string, Tensor> other = g.state();
  other["held.weight"] = test::random(Shape{7, 3, 3, 5}, 3, -1, 1, DType::F64);
  g.load_state(other);
  EXPECT_TRUE(test::identical(g.state().at("held.weight"), other.at("held.weight"), "held", 0));
  other.erase("held.bias");
  expect_error([&] { g.load_state(other); }, {"'held.bias' is missing"});
}

TEST(Graph, NamesTheFirstLayerInBackwardOrderWithANonFiniteGradient) {
  auto g = build_unet(ModelConfig::unet_s(1, 2, 4));
  g->forward({{"image", test::random(Shape{2, 16, 16, 1}, 3, 0, 1, DType::F32)}});
  g->backward({{"logits", test::random(Shape{2, 16, 16, 2}, 4, -1, 1, DType::F32)}});
  EXPECT_EQ(g->first_nonfinite_output(), "");
  EXPECT_EQ(g->first_nonfinite_gradient(), "");
  std::map<std::string, Parameter*> params;
  for (Parameter* p : g->parameters()) params[p->name] = p;
  // One bad element among thousands is found, whichever kind; the decoder runs first in backward.
  params.at("enc0.conv1.weight")->grad.data<float>()[5] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(g->first_nonfinite_gradient(), "enc0.conv1");
  params.at("dec1.conv2.weight")->grad.data<float>()[100] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(g->first_nonfinite_gradient(), "dec1.conv2");
  EXPECT_EQ(g->first_nonfinite_output(), "") << "the outputs were finite all along";
  g->zero_grad();
  EXPECT_EQ(g->first_nonfinite_gradient(), "");
}

// A tiny unet-s in double: the gradient of ⟨logits, G⟩ with respect to every parameter tensor,
// against central differences along a random direction of that tensor (each layer's gradients
// are checked element by element in tests/layers/layer_backends_test.cpp; here the wiring).
TEST(UNet, WholeNetworkGradientsMatchFiniteDifferences) {
  for (UNetUpsample up : {UNetUpsample::TransposedConv, UNetUpsample::Bilinear}) {
    ModelConfig c = ModelConfig::unet_s(1, 3, 4);
    c.upsample = up;
    auto g = build_unet(c);
    g->to(DType::F64);
    const Tensor x = test::random(Shape{2, 32, 32, 1}, 3), gy = test::random(Shape{2, 32, 32, 3}, 4);
    g->zero_grad();
    g->forward({{"image", x}});
    g->backward({{"logits", gy}});
    for (Parameter* p : g->parameters()) {
      const Tensor saved = p->value.clone(), analytic = p->grad.clone();
      auto loss = [&](const Tensor& v) {
        p->value.copy_from(v);
        g->forward({{"image", x}});
        return test::dot(g->get("logits"), gy);
      };
      EXPECT_TRUE(test::gradcheck_direction(loss, saved, analytic, p->name, 1e-5));
      p->value.copy_from(saved);
    }
  }
}

TEST(UNetGpu, FloatNetworkAgreesOnCpuAndCuda) {
  CUSEG_REQUIRE_GPU();
  auto cpu = build_unet(ModelConfig::unet_s(3, 4, 8));
  auto gpu = build_unet(ModelConfig::unet_s(3, 4, 8));
  gpu->to(Device::cuda(0));
  // 2×64×64, or under the sanitizers (test_util.h) 1×32×32: still every level of unet-s.
  const int64_t n = test::small_cases_only() ? 1 : 2, hw = test::small_cases_only() ? 32 : 64;
  const Tensor x = test::random(Shape{n, hw, hw, 3}, 5, -1, 1, DType::F32),
               gy = test::random(Shape{n, hw, hw, 4}, 6, -1, 1, DType::F32);
  for (Graph* g : {cpu.get(), gpu.get()}) {
    g->zero_grad();
    g->forward({{"image", x.to(g->device())}});
    g->backward({{"logits", gy.to(g->device())}});
  }
  EXPECT_TRUE(test::close(gpu->get("logits"), cpu->get("logits"), 1e-5, "unet logits", 5));
  std::map<std::string, Tensor> grads;
  for (Parameter* p : cpu->parameters()) grads[p->name] = p->grad;
  for (Parameter* p : gpu->parameters()) EXPECT_TRUE(test::close(p->grad, grads.at(p->name), 1e-4, p->name, 5));
}

}  // namespace
}  // namespace cuseg
