// Checkpoints: resuming from one continues exactly as the uninterrupted run (CPU, bit for bit);
// a checkpoint of another configuration, a damaged one, or a plain safetensors file is refused
// naming the file.
#include "cuseg/model/checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "cuseg/core/safetensors.h"
#include "cuseg/data/synthetic.h"
#include "cuseg/layers/unet.h"
#include "cuseg/losses/loss.h"
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;

struct TrainingRun {
  std::unique_ptr<Graph> net;
  std::unique_ptr<Optimizer> opt;

  explicit TrainingRun(const ModelConfig& c) : net(build_unet(c)) {
    std::vector<ParamRef> params;
    for (Parameter* p : net->parameters()) params.push_back({p->name, p->value, p->grad, p->no_decay});
    opt = std::make_unique<Optimizer>(OptimizerConfig::named("adamw"), params);
  }

  void steps(int first, int count) {
    SyntheticConfig data;
    data.height = data.width = 16;
    auto loss_fn = make_loss("ce+dice");
    for (int s = first; s < first + count; ++s) {
      Tensor images, labels;
      synthetic_batch(data, int64_t(s) * 4, 4, images, labels);
      net->zero_grad();
      net->forward({{"image", images}});
      Tensor loss = Tensor::empty(Shape{1}), d = Tensor::empty(net->get("logits").shape());
      loss_fn->compute(net->get("logits"), labels, loss, d);
      net->backward({{"logits", d}});
      opt->step(LrSchedule::cosine(1e-2, 10, 2));
    }
  }
};

TEST(Checkpoint, ResumingContinuesExactlyAndMismatchesAreRefused) {
  const fs::path dir = fs::temp_directory_path() / str_cat("cuseg_ckpt_", ::getpid());
  fs::create_directories(dir);
  const std::string path = (dir / "last.safetensors").string();
  const ModelConfig config = ModelConfig::unet_s(3, 4, 4);

  TrainingRun straight(config);
  straight.steps(0, 3);
  save_checkpoint(path, *straight.net, config, straight.opt.get(), {{"epoch", "3"}});
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  straight.steps(3, 2);

  TrainingRun resumed(config);
  const auto meta = load_checkpoint(path, *resumed.net, config, resumed.opt.get());
  EXPECT_EQ(meta.at("epoch"), "3");
  EXPECT_EQ(resumed.opt->steps(), 3);
  resumed.steps(3, 2);
  std::map<std::string, Tensor> expected = straight.net->state();
  for (auto& [name, t] : resumed.net->state()) EXPECT_TRUE(test::identical(t, expected.at(name), name, 0));

  ModelConfig other = config;
  other.base = 8;
  TrainingRun wrong(other);
  test::expect_error([&] { load_checkpoint(path, *wrong.net, other, nullptr); },
                     {"last.safetensors", "another model configuration", "base=4", "base=8"});
  save_safetensors((dir / "plain.safetensors").string(), {{"x", Tensor::zeros(Shape{1})}});
  test::expect_error([&] { load_checkpoint((dir / "plain.safetensors").string(), *resumed.net, config, nullptr); },
                     {"plain.safetensors", "not a cuseg checkpoint"});
  save_checkpoint(path, *straight.net, config, nullptr);  // model only
  test::expect_error([&] { load_checkpoint(path, *resumed.net, config, resumed.opt.get()); },
                     {"last.safetensors", "no optimizer state"});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cuseg
