// The trainer on the CPU with tiny U-Nets: a run stopped in the middle of an epoch and resumed
// ends bit for bit where an uninterrupted run ends (model and optimizer state, log), gradient
// accumulation over two half batches equals one full batch, early stopping, a diverging run
// stopping with the layer named (or skipping such steps), and what the checkpoint carries.
#include "cuseg/train/trainer.h"

#include <gtest/gtest.h>

#include <functional>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cuseg/config.h"
#include "cuseg/core/safetensors.h"
#include "cuseg/kernels/compute.h"
#include "cuseg/model/checkpoint.h"
#include "run_compare.h"
#include "test_util.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fresh_test_dir("cuseg_trainer");
  }
  void TearDown() override { fs::remove_all(dir_); }

  TrainConfig tiny(const std::string& run) const {
    TrainConfig c;
    c.synthetic_train = 24;
    c.synthetic_val = 8;
    c.height = c.width = 16;
    c.base = 4;
    c.depth = 3;
    c.batch = 4;
    c.epochs = 2;
    c.dropout = 0.2;   // its Philox offsets must survive a resume
    c.augment = true;  // and so must the augmentation draws
    c.seed = 7;
    c.quiet = true;
    c.progress = false;
    c.out = (dir_ / run).string();
    return c;
  }
  static std::vector<std::string> log_lines(const TrainConfig& c) {
    std::ifstream in(fs::path(c.out) / "log.jsonl");
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }
  // A run stopped mid-epoch and resumed ends with the checkpoint and log of the run that went
  // straight through; `make` gives the configuration of a run by its name.
  void expect_a_resumed_run_continues_bit_for_bit(const std::function<TrainConfig(const std::string&)>& make);
  fs::path dir_;
};

using test::expect_same_tensors;

void TrainerTest::expect_a_resumed_run_continues_bit_for_bit(const std::function<TrainConfig(const std::string&)>& make) {
  const TrainConfig straight = make("straight");
  const TrainResult full = Trainer(straight).run();
  ASSERT_EQ(full.status, TrainStatus::Finished) << full.message;
  ASSERT_EQ(full.epochs.size(), 2u);

  TrainConfig first = make("resumed");
  first.stop_after_steps = 4;  // epochs have 6 steps: stop in the middle of the first
  const TrainResult stopped = Trainer(first).run();
  EXPECT_EQ(stopped.status, TrainStatus::Interrupted);
  EXPECT_NE(stopped.message.find("--resume"), std::string::npos) << stopped.message;

  TrainConfig again = Trainer::stored_config(first.out);
  again.resume = true;
  again.quiet = true;
  again.progress = false;
  const TrainResult rest = Trainer(again).run();
  ASSERT_EQ(rest.status, TrainStatus::Finished) << rest.message;
  expect_same_tensors((fs::path(straight.out) / "last.safetensors").string(),
                      (fs::path(first.out) / "last.safetensors").string());
  // The logs agree on everything but time.
  const auto a = test::log_without_time(straight.out), b = test::log_without_time(first.out);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t e = 0; e < 2; ++e) EXPECT_EQ(a[e], b[e]) << "epoch " << e + 1;
}

TEST_F(TrainerTest, AResumedRunContinuesBitForBit) {
  expect_a_resumed_run_continues_bit_for_bit([&](const std::string& run) { return tiny(run); });
}

// A model zoo network: its batch norms' statistics, scSE's, the encoder's unused stages.
TEST_F(TrainerTest, AResumedModelZooRunContinuesBitForBit) {
  expect_a_resumed_run_continues_bit_for_bit([&](const std::string& run) {
    TrainConfig c = tiny(run);
    c.model = "unet";
    c.encoder = "mobilenet_v2";
    c.encoder_depth = 3;
    c.decoder_channels = "32,16,16";
    c.decoder_attention = "scse";
    return c;
  });
}

// Stopped once the run has done epoch 1 (its schedule still that of 2 epochs), then continued:
// the run of 2 epochs, bit for bit — what seg_sweep's successive halving relies on.
TEST_F(TrainerTest, StoppingAfterAnEpochAndGoingOnIsTheStraightRun) {
  const TrainConfig straight = tiny("straight");
  ASSERT_EQ(Trainer(straight).run().status, TrainStatus::Finished);
  TrainConfig rung = tiny("rungs");
  rung.stop_after_epochs = 1;
  const TrainResult first = Trainer(rung).run();
  ASSERT_EQ(first.status, TrainStatus::Interrupted) << first.message;
  ASSERT_EQ(first.epochs.size(), 1u);
  rung.resume = true;
  const TrainResult again = Trainer(rung).run();  // already there: nothing to train
  EXPECT_EQ(again.status, TrainStatus::Interrupted) << again.message;
  EXPECT_TRUE(again.epochs.empty());
  rung.stop_after_epochs = 2;
  const TrainResult rest = Trainer(rung).run();
  ASSERT_EQ(rest.status, TrainStatus::Finished) << rest.message;
  ASSERT_EQ(rest.epochs.size(), 1u);
  expect_same_tensors((fs::path(straight.out) / "last.safetensors").string(),
                      (fs::path(rung.out) / "last.safetensors").string());
}

TEST_F(TrainerTest, LogCheckpointsAndMetadataDescribeTheRun) {
  TrainConfig c = tiny("run");
  c.class_weights = "auto";
  const TrainResult r = Trainer(c).run();
  ASSERT_EQ(r.status, TrainStatus::Finished) << r.message;
  const auto lines = log_lines(c);
  ASSERT_EQ(lines.size(), 2u);
  const nlohmann::json j = nlohmann::json::parse(lines[1]);
  for (const char* k : {"epoch", "steps", "lr", "train_loss", "penalty", "objective", "val_loss", "pixel_accuracy",
                        "miou", "mdice", "mprecision", "mrecall", "iou", "dice", "sparsity", "weight_norm",
                        "images_per_s", "data_wait", "seconds"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["epoch"], 2);
  EXPECT_EQ(j["steps"], 12);
  EXPECT_EQ(j["iou"].size(), 4u);
  EXPECT_TRUE(j["iou"].contains("circle"));
  EXPECT_DOUBLE_EQ(j["miou"].get<double>(), r.epochs[1].val.mean_iou);

  ModelInfo info;
  auto model = load_model((fs::path(c.out) / "best.safetensors").string(), Device::cpu(), &info);
  EXPECT_EQ(info.config.base, 4);
  EXPECT_EQ(info.config.classes, 4);
  EXPECT_EQ(info.class_names[1], "circle");
  EXPECT_EQ(info.height, 16);
  ASSERT_EQ(info.normalization.mean.size(), 3u);
  EXPECT_GT(info.normalization.std[0], 0);
  const auto weights = nlohmann::json::parse(info.metadata.at("class_weights")).get<std::vector<double>>();
  ASSERT_EQ(weights.size(), 4u);
  EXPECT_LT(weights[0], weights[1]);  // the background is the commonest class: the smallest weight
  EXPECT_EQ(parse_model_description(describe_model(info.config)).depth, 3);
}

// config.json and every log.jsonl line say where the run ran: one rank here, its device and the
// line that says which implementation computed (and on which instruction set, for the fast path).
TEST_F(TrainerTest, ConfigAndLogSayWhereTheRunRan) {
  for (const char* backend : {"reference", "auto"}) {
    SCOPED_TRACE(backend);
    TrainConfig c = tiny(str_cat("where_", backend));
    c.epochs = 1;
    c.backend = backend;
    ASSERT_EQ(Trainer(c).run().status, TrainStatus::Finished);
    nlohmann::json config;
    std::ifstream(fs::path(c.out) / "config.json") >> config;
    const nlohmann::json& world = config["world"];
    EXPECT_EQ(world["size"], 1);
    ASSERT_EQ(world["ranks"].size(), 1u) << world;
    const nlohmann::json& rank = world["ranks"][0];
    EXPECT_EQ(rank["rank"], 0);
    EXPECT_EQ(rank["device"], "cpu");
    EXPECT_FALSE(rank["host"].get<std::string>().empty());
    const std::string compute = rank["compute"];
    EXPECT_EQ(compute, compute_description(Device::cpu(), parse_backend(backend)));
    const ComputeInfo info = compute_info(Device::cpu(), parse_backend(backend));
    EXPECT_EQ(rank["implementation"], info.implementation);
    EXPECT_EQ(rank["isa"], info.isa);
    if (std::string(backend) == "reference" || !CUSEG_HAS_ONEDNN) {
      EXPECT_EQ(compute.rfind("cpu: reference kernels", 0), 0u) << compute;
      EXPECT_EQ(rank["implementation"], "reference");
      EXPECT_EQ(rank["isa"].get<std::string>().rfind("x86-64", 0), 0u) << rank;
    } else {
      EXPECT_EQ(rank["implementation"], "fast");
      EXPECT_NE(rank["isa"].get<std::string>().find("(oneDNN), x86-64"), std::string::npos) << rank;
      EXPECT_EQ(compute.rfind("cpu: fast path (oneDNN ", 0), 0u) << compute;
      EXPECT_NE(compute.find("cuseg's kernels for x86-64"), std::string::npos) << compute;  // the ISA clone
    }
    const auto lines = log_lines(c);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(nlohmann::json::parse(lines[0])["world"], world);
    // The stored configuration is the run's, not where it ran: a resume may run elsewhere.
    EXPECT_FALSE(nlohmann::json::parse(TrainConfig{}.to_json()).contains("world"));
  }
}

TEST_F(TrainerTest, AccumulatingTwoHalfBatchesEqualsOneFullBatch) {
  // Without batch norm (whose statistics depend on the batch) and with a loss that is a mean
  // over pixels, two half batches averaged give the full batch's gradient.
  TrainConfig full = tiny("full");
  full.batch_norm = false;
  full.dropout = 0;
  full.loss = "ce";
  full.augment = false;  // its padding brings ignored pixels, which would weight the halves unequally
  full.epochs = 1;
  full.batch = 8;
  TrainConfig halves = full;
  halves.out = (dir_ / "halves").string();
  halves.batch = 4;
  halves.accumulate = 2;
  // Both must see the same samples in the same groups: no shuffling differences matter, as
  // batch b of 8 holds the samples of half batches 2b and 2b+1 in the same order.
  Trainer a(full), b(halves);
  ASSERT_EQ(a.run().status, TrainStatus::Finished);
  ASSERT_EQ(b.run().status, TrainStatus::Finished);
  auto sa = a.model().state(), sb = b.model().state();
  for (const auto& [name, t] : sa) EXPECT_TRUE(test::close(sb.at(name), t, 2e-5, name, 0));
}

TEST_F(TrainerTest, EarlyStoppingEndsARunThatStopsImproving) {
  TrainConfig c = tiny("early");
  c.batch_norm = false;  // running statistics would change the outputs without any learning
  c.dropout = 0;
  c.lr = 1e-12;          // nothing is learned: the val mIoU never improves on the first epoch
  c.epochs = 5;
  c.patience = 2;
  const TrainResult r = Trainer(c).run();
  EXPECT_EQ(r.status, TrainStatus::EarlyStopped) << r.message;
  EXPECT_EQ(r.epochs.size(), 3u);
  EXPECT_EQ(r.best_epoch, 0);
}

// The count of epochs without gain is part of the training state: a run interrupted after an
// epoch without gain and resumed stops where the uninterrupted run stops, in the same state.
TEST_F(TrainerTest, EarlyStoppingCountsTheEpochsWithoutGainAcrossAResume) {
  auto run_config = [&](const std::string& name) {
    TrainConfig c = tiny(name);
    c.batch_norm = false;  // as above: nothing changes the outputs, so no epoch after the first gains
    c.dropout = 0;
    c.lr = 1e-12;
    c.epochs = 6;
    c.patience = 3;
    return c;
  };
  const TrainConfig straight = run_config("straight");
  const TrainResult full = Trainer(straight).run();
  ASSERT_EQ(full.status, TrainStatus::EarlyStopped) << full.message;
  ASSERT_EQ(full.epochs.size(), 4u);  // epoch 1 sets the best, 2–4 do not gain

  TrainConfig first = run_config("resumed");
  first.stop_after_steps = 12;  // 6 steps an epoch: after epoch 2, the first without gain
  const TrainResult stopped = Trainer(first).run();
  ASSERT_EQ(stopped.status, TrainStatus::Interrupted) << stopped.message;
  ASSERT_EQ(stopped.epochs.size(), 2u);
  TrainConfig again = Trainer::stored_config(first.out);
  again.resume = true;
  again.quiet = true;
  again.progress = false;
  const TrainResult resumed = Trainer(again).run();
  EXPECT_EQ(resumed.status, TrainStatus::EarlyStopped) << resumed.message;
  EXPECT_EQ(resumed.epochs.size(), 2u) << "the resumed run should stop after epoch 4, as the uninterrupted one";
  EXPECT_EQ(resumed.message, full.message);
  // The whole training state, and every tensor, as the uninterrupted run left them.
  const std::string a = (fs::path(straight.out) / "last.safetensors").string();
  const std::string b = (fs::path(first.out) / "last.safetensors").string();
  EXPECT_EQ(load_safetensors_metadata(a).at("train_state"), load_safetensors_metadata(b).at("train_state"));
  expect_same_tensors(a, b);
}

// The learning rate a log line reports is the one the epoch's last step applied, and step t
// applies the schedule at t: with a 3-step warm-up and cosine over 12 steps, 6 steps an epoch,
// epoch 1 ends at t = 5 and epoch 2 at t = 11.
TEST_F(TrainerTest, TheLoggedLearningRateIsTheOneTheLastStepApplied) {
  TrainConfig c = tiny("lr");
  c.optimizer = "sgd";
  c.schedule = "cosine";
  c.warmup = 3;
  c.lr = 0.01;
  const TrainResult r = Trainer(c).run();
  ASSERT_EQ(r.status, TrainStatus::Finished) << r.message;
  ASSERT_EQ(r.epochs.size(), 2u);
  const double pi = std::acos(-1.0);
  auto cosine = [&](int t) { return 0.01 * (1 + std::cos(pi * (t - 3) / (12 - 3))) / 2; };
  EXPECT_DOUBLE_EQ(r.epochs[0].lr, cosine(5));
  EXPECT_DOUBLE_EQ(r.epochs[1].lr, cosine(11));
  const auto lines = log_lines(c);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(lines[0])["lr"].get<double>(), cosine(5));
}

TEST_F(TrainerTest, ADivergingRunStopsNamingTheLayerOrSkipsTheSteps) {
  TrainConfig c = tiny("diverge");
  c.optimizer = "sgd";
  c.schedule = "constant";
  c.lr = 1e30;
  c.epochs = 1;
  const TrainResult r = Trainer(c).run();
  ASSERT_EQ(r.status, TrainStatus::NonFinite) << r.message;
  EXPECT_NE(r.message.find("first non-finite output: layer '"), std::string::npos) << r.message;
  // The message says where the last good checkpoint is, or that there is none yet.
  const bool saved = fs::exists(fs::path(c.out) / "last.safetensors");
  EXPECT_NE(r.message.find(saved ? "last good checkpoint is" : "No checkpoint was written"), std::string::npos)
      << r.message;

  c.out = (dir_ / "skip").string();
  c.skip_nonfinite = true;
  const TrainResult s = Trainer(c).run();
  ASSERT_EQ(s.status, TrainStatus::Finished) << s.message;
  EXPECT_GT(s.epochs[0].skipped_steps, 0);
}

TEST_F(TrainerTest, KFoldValidatesOnTheHeldOutPartOfTheTrainSplit) {
  TrainConfig c = tiny("fold");
  c.folds = 3;
  c.fold = 1;
  c.epochs = 1;
  Trainer t(c);
  const TrainResult r = t.run();
  ASSERT_EQ(r.status, TrainStatus::Finished);
  // 24 samples: 8 held out for validation, 16 left to train on; each image is 16×16.
  EXPECT_EQ(r.epochs[0].val.pixels, 8 * 16 * 16);
  EXPECT_EQ(t.evaluate(true).pixels, 16 * 16 * 16);
}

}  // namespace
}  // namespace cuseg
