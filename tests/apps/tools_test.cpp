// The tools as a user runs them: seg_make_synthetic writes a folder dataset, seg_train trains a
// tiny unet-s on it (log, checkpoints), a run stopped mid-epoch and resumed ends bit for bit like
// an uninterrupted one, seg_predict writes masks and overlays, seg_eval and seg_sweep report; and
// every kind of bad input gives exit 1 (or 2 for usage) with one line naming the problem.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "apps/train_options.h"
#include "cuseg/core/safetensors.h"
#include "cuseg/data/image_io.h"
#include "tool_run.h"
#include "test_util.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;

class Tools : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::fresh_test_dir("cuseg_tools");
    const ToolRun r = run(dir_, "seg_make_synthetic --out data --train 12 --val 4 --size 32 --seed 2");
    ASSERT_EQ(r.code, 0) << r.output;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  // A copy of the dataset to damage.
  fs::path copy_data(const std::string& name) const {
    fs::remove_all(dir_ / name);
    fs::copy(dir_ / "data", dir_ / name, fs::copy_options::recursive);
    return dir_ / name;
  }

  static inline fs::path dir_;
  static constexpr const char* kTiny = "--base 4 --depth 3 --size 32 --batch 4 --epochs 2 --no-progress --seed 1";
};

// config.json is written from the training options' table: a flag whose field it left out would
// be neither saved nor restored on --resume, silently.
TEST(TrainOptions, EveryTrainingFlagIsStoredInTheConfiguration) {
  CLI::App app;
  TrainConfig given;
  tool::add_train_options(app, given);
  const nlohmann::json stored = nlohmann::json::parse(TrainConfig{}.to_json());
  int checked = 0;
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_name() == "--help") continue;
    const TrainOption& option = train_option(opt->get_name());
    if (option.on_resume == OnResume::CommandOnly) continue;  // the command's, not the run's
    for (const std::string& key : option_fields(option)) {
      EXPECT_TRUE(stored.contains(key)) << opt->get_name() << " sets " << key << ", which config.json does not store";
      ++checked;
    }
  }
  EXPECT_GE(checked, 40);
}

// The README's table of seg_train flags (the first cell of each row of its "seg_train flags"
// section) is written by hand: it must hold every flag of the options' table once, each with its
// default (or, where the table shows none, its placeholder such as DIR; a bare flag alone), its
// row must name the values the flag takes, and it must hold no flag the table does not have.
TEST(TrainOptions, EveryTrainingFlagIsInTheReadme) {
  CLI::App app;
  TrainConfig given;
  tool::add_train_options(app, given);
  const std::string readme = test::read_file(CUSEG_README);
  ASSERT_FALSE(readme.empty()) << CUSEG_README;
  int checked = 0;
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_name() == "--help") continue;
    EXPECT_NE(readme.find("`" + opt->get_name()), std::string::npos) << opt->get_name() << " is not in " << CUSEG_README;
    ++checked;
  }
  EXPECT_GE(checked, 45);

  const size_t section = readme.find("### seg_train flags");
  ASSERT_NE(section, std::string::npos);
  const size_t end = readme.find("\n\n", readme.find("| --- |", section));
  std::map<std::string, std::pair<std::string, std::string>> in_readme;  // flag → value as written, row
  std::istringstream rows(readme.substr(section, end - section));
  static const std::regex kToken("`(--[a-z0-9-]+)( ([^`]*))?`");
  for (std::string row; std::getline(rows, row);) {
    if (row.rfind("| `--", 0) != 0) continue;
    const std::string first = row.substr(0, row.find(" | "));
    for (std::sregex_iterator m(first.begin(), first.end(), kToken), none; m != none; ++m) {
      EXPECT_FALSE(in_readme.count((*m)[1])) << (*m)[1] << " is twice in the README's table";
      in_readme[(*m)[1]] = {(*m)[3], row};
    }
  }
  const TrainConfig defaults;
  const auto number = [](const std::string& text, double& value) {
    char* end = nullptr;
    value = std::strtod(text.c_str(), &end);
    return !text.empty() && *end == '\0';
  };
  const auto word_in = [](const std::string& word, const std::string& text) {
    const auto part_of_a_word = [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
    };
    for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1))
      if ((at == 0 || !part_of_a_word(text[at - 1])) &&
          (at + word.size() == text.size() || !part_of_a_word(text[at + word.size()])))
        return true;
    return false;
  };
  int rows_checked = 0;
  for (const TrainOption& option : train_options()) {
    if (option.flag.empty()) continue;
    SCOPED_TRACE(option.flag);
    ASSERT_TRUE(in_readme.count(option.flag)) << "not in the README's table";
    const auto& [value, row] = in_readme.at(option.flag);
    const std::string expected = !option.switch_value.empty() ? ""
                                 : !option.placeholder.empty() ? option.placeholder
                                                               : option_text(defaults, option);
    double a = 0, b = 0;
    if (number(value, a) && number(expected, b)) EXPECT_EQ(a, b) << "the README's default is " << value;
    else EXPECT_EQ(value, expected) << "the README's default";
    for (const std::string& allowed : option.allowed)
      EXPECT_TRUE(word_in(allowed, row)) << allowed << " not in " << row;
    in_readme.erase(option.flag);
    ++rows_checked;
  }
  for (const auto& [flag, value] : in_readme) ADD_FAILURE() << flag << " is in the README's table but no training flag";
  EXPECT_GE(rows_checked, 45);
}

// What may change on --resume is the table's resume policy; the README says it in one sentence
// (after the flags' table), and --resume's help is made from the table.
TEST(TrainOptions, TheReadmeAndTheHelpSayWhichFlagsMayChangeOnResume) {
  const std::vector<std::string> may_change = flags_that_may_change_on_resume();
  ASSERT_GE(may_change.size(), 10u);
  for (const char* flag : {"--collective-timeout", "--collectives"})
    EXPECT_NE(std::find(may_change.begin(), may_change.end(), flag), may_change.end()) << flag;
  const std::string readme = test::read_file(CUSEG_README);
  const size_t at = readme.find(" may change.", readme.find("### seg_train flags"));
  ASSERT_NE(at, std::string::npos);
  const std::string sentence = readme.substr(readme.rfind(';', at), at - readme.rfind(';', at));
  std::set<std::string> in_readme;
  static const std::regex kFlag("`(--[a-z0-9-]+)`");
  for (std::sregex_iterator m(sentence.begin(), sentence.end(), kFlag), none; m != none; ++m) in_readme.insert((*m)[1]);
  EXPECT_EQ(in_readme, std::set<std::string>(may_change.begin(), may_change.end())) << sentence;

  CLI::App app;
  TrainConfig given;
  tool::add_train_options(app, given);
  const std::string help = app.get_option("--resume")->get_description();
  for (const std::string& flag : may_change) EXPECT_NE(help.find(flag), std::string::npos) << flag << ": " << help;
}

TEST_F(Tools, HelpAndUsageErrors) {
  for (const char* tool : {"seg_train", "seg_predict", "seg_eval", "seg_sweep", "seg_make_synthetic", "seg_export"}) {
    const ToolRun help = run(dir_, str_cat(tool, " --help"));
    EXPECT_EQ(help.code, 0) << tool << help.output;
    EXPECT_NE(help.output.find("--"), std::string::npos) << tool;
    const ToolRun bad = run(dir_, str_cat(tool, " --no-such-flag"));
    EXPECT_EQ(bad.code, 2) << tool << bad.output;
  }
  EXPECT_NE(run(dir_, "seg_train --help").output.find("--penalty"), std::string::npos);
  EXPECT_EQ(run(dir_, "seg_predict").code, 2);  // --checkpoint and inputs are required
  EXPECT_EQ(run(dir_, "seg_export --checkpoint x.safetensors").code, 2);  // --onnx is required
  EXPECT_EQ(run(dir_, "seg_export --checkpoint x.safetensors --onnx m.onnx --head probs").code, 2);
  EXPECT_EQ(run(dir_, "seg_train --size 32x").code, 2);
  EXPECT_EQ(run(dir_, "seg_train --optimizer lbfgs").code, 2);
  const ToolRun missing = run(dir_, "seg_train --data no_such_folder");
  EXPECT_EQ(missing.code, 2) << missing.output;
  EXPECT_NE(missing.output.find("no_such_folder"), std::string::npos) << missing.output;
}

TEST_F(Tools, TrainPredictEvalAndResumeBitForBit) {
  const ToolRun train = run(dir_, str_cat("seg_train --data data ", kTiny, " --out run"));
  ASSERT_EQ(train.code, 0) << train.output;
  EXPECT_NE(train.output.find("epoch 2/2"), std::string::npos) << train.output;
  const auto log = log_of(dir_ / "run");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1]["epoch"], 2);
  EXPECT_EQ(log[1]["iou"].size(), 4u);
  EXPECT_TRUE(log[1]["iou"].contains("rectangle"));  // the names from classes.txt
  ASSERT_TRUE(fs::exists(dir_ / "run/best.safetensors"));
  ASSERT_TRUE(fs::exists(dir_ / "run/last.safetensors"));

  // Stopped after 2 of the 3 steps of epoch 1, then resumed.
  const ToolRun stop = run(dir_, str_cat("seg_train --data data ", kTiny, " --out resumed --stop-after-steps 2"));
  ASSERT_EQ(stop.code, 0) << stop.output;
  EXPECT_NE(stop.output.find("seg_train --resume --out resumed"), std::string::npos) << stop.output;
  const ToolRun changed = run(dir_, "seg_train --resume --out resumed --lr 1");
  EXPECT_EQ(changed.code, 2) << changed.output;
  EXPECT_NE(changed.output.find("--lr: 1.0 differs from the stored 0.003"), std::string::npos) << changed.output;
  const ToolRun other_data = run(dir_, str_cat("seg_train --data run ", kTiny, " --out resumed --resume"));
  EXPECT_EQ(other_data.code, 2) << other_data.output;
  EXPECT_NE(other_data.output.find("--data: \"run\" differs from the stored \"data\""), std::string::npos)
      << other_data.output;
  // The first command again with --resume appended: the same values, accepted.
  const ToolRun resume = run(dir_, str_cat("seg_train --data data ", kTiny, " --out resumed --resume"));
  ASSERT_EQ(resume.code, 0) << resume.output;
  const SafetensorsFile a = load_safetensors((dir_ / "run/last.safetensors").string());
  const SafetensorsFile b = load_safetensors((dir_ / "resumed/last.safetensors").string());
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : a.tensors) EXPECT_TRUE(test::identical(b.tensors.at(name), t, name, 0));
  const auto resumed_log = log_of(dir_ / "resumed");
  ASSERT_EQ(resumed_log.size(), 2u);
  EXPECT_EQ(resumed_log[1]["miou"], log[1]["miou"]);
  EXPECT_EQ(resumed_log[1]["train_loss"], log[1]["train_loss"]);

  // Predictions: a mask and an overlay per image, at the image's size, with valid classes.
  const ToolRun predict = run(dir_, "seg_predict --checkpoint run/best.safetensors data/val/images --out pred");
  ASSERT_EQ(predict.code, 0) << predict.output;
  EXPECT_NE(predict.output.find("latency per image"), std::string::npos);
  int masks = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "data/val/images")) {
    const std::string stem = e.path().stem().string();
    const Tensor mask = read_mask((dir_ / "pred" / (stem + "_mask.png")).string());
    EXPECT_EQ(mask.shape(), (Shape{32, 32}));
    for (uint8_t v : mask.to_vector<uint8_t>()) ASSERT_LT(v, 4);
    EXPECT_EQ(read_image_info((dir_ / "pred" / (stem + "_overlay.png")).string()).channels, 3);
    ++masks;
  }
  EXPECT_EQ(masks, 4);

  // Evaluation: the confusion matrix counts every labelled validation pixel once.
  const ToolRun eval = run(dir_, "seg_eval --checkpoint run/best.safetensors --data data --json eval.json");
  ASSERT_EQ(eval.code, 0) << eval.output;
  EXPECT_NE(eval.output.find("confusion matrix"), std::string::npos);
  nlohmann::json j;
  std::ifstream(dir_ / "eval.json") >> j;
  double total = 0;
  ASSERT_EQ(j["confusion"].size(), 4u);
  for (const auto& row : j["confusion"])
    for (double v : row) total += v;
  EXPECT_EQ(total, 4 * 32 * 32);
  EXPECT_EQ(j["images"], 4);
  // mIoU is the mean IoU of the classes present in the confusion matrix it reports.
  double iou_sum = 0;
  int present = 0;
  for (size_t k = 0; k < 4; ++k) {
    double tp = j["confusion"][k][k], truth = 0, predicted = 0;
    for (size_t l = 0; l < 4; ++l) truth += j["confusion"][k][l].get<double>(), predicted += j["confusion"][l][k].get<double>();
    if (truth + predicted > 0) iou_sum += tp / (truth + predicted - tp), ++present;
  }
  ASSERT_GT(present, 0);
  EXPECT_NEAR(j["miou"].get<double>(), iou_sum / present, 1e-12);

  // Export: an ONNX file (what ONNX Runtime makes of it: tests/interop/onnx_export_test.cpp).
  const ToolRun onnx = run(dir_, "seg_export --checkpoint run/best.safetensors --onnx run/model.onnx --head argmax");
  ASSERT_EQ(onnx.code, 0) << onnx.output;
  EXPECT_NE(onnx.output.find("multiples of 4"), std::string::npos) << onnx.output;
  EXPECT_GT(fs::file_size(dir_ / "run/model.onnx"), fs::file_size(dir_ / "run/best.safetensors") / 4);

  // PyTorch weights out and back in: a run started --init-from them (at a learning rate too small
  // to move a weight) starts from exactly those weights.
  const ToolRun torch = run(dir_, "seg_export --checkpoint run/best.safetensors --torch run/state.safetensors");
  ASSERT_EQ(torch.code, 0) << torch.output;
  const ToolRun init = run(dir_, str_cat("seg_train --data data ", kTiny,
                                         " --epochs 1 --lr 1e-12 --init-from run/state.safetensors --out init"));
  ASSERT_EQ(init.code, 0) << init.output;
  const SafetensorsFile from = load_safetensors((dir_ / "run/best.safetensors").string());
  const SafetensorsFile started = load_safetensors((dir_ / "init/last.safetensors").string());
  for (const char* w : {"model.enc0.conv1.weight", "model.dec0.up.weight", "model.head.bias"})
    EXPECT_TRUE(test::close(started.tensors.at(w), from.tensors.at(w), 1e-6, w, 0));
  // Weights for another network: one line naming the file and the tensors that differ.
  const ToolRun other = run(dir_, str_cat("seg_train --data data ", kTiny,
                                          " --base 8 --epochs 1 --init-from run/state.safetensors --out other"));
  EXPECT_EQ(other.code, 1) << other.output;
  EXPECT_NE(other.output.find("run/state.safetensors"), std::string::npos) << other.output;
  EXPECT_NE(other.output.find("tensor(s) of another shape: dec0.bn1.bias is [4], the model's [8]"),
            std::string::npos)
      << other.output;
}

// Without --data, seg_eval scores the built-in dataset the checkpoint was trained on, rebuilt from
// its stored configuration: the split sizes, the training size and the seed of that run.
TEST_F(Tools, EvalRebuildsTheBuiltInDatasetOfARun) {
  const ToolRun train = run(dir_, str_cat("seg_train ", kTiny, " --epochs 1 --synthetic-train 8 --synthetic-val 4 "
                                          "--size 16x32 --out builtin"));
  ASSERT_EQ(train.code, 0) << train.output;
  for (const auto& [split, images] : {std::pair{"val", 4}, std::pair{"train", 8}}) {
    const ToolRun eval =
        run(dir_, str_cat("seg_eval --checkpoint builtin/best.safetensors --split ", split, " --json builtin.json"));
    ASSERT_EQ(eval.code, 0) << eval.output;
    nlohmann::json j;
    std::ifstream(dir_ / "builtin.json") >> j;
    EXPECT_EQ(j["images"], images) << split;
    double total = 0;
    for (const auto& row : j["confusion"])
      for (double v : row) total += v;
    EXPECT_EQ(total, images * 16 * 32) << split;
  }
  // A run on a folder has no built-in dataset to rebuild.
  const ToolRun folder = run(dir_, str_cat("seg_train --data data ", kTiny, " --epochs 1 --out folder"));
  ASSERT_EQ(folder.code, 0) << folder.output;
  const ToolRun no_data = run(dir_, "seg_eval --checkpoint folder/best.safetensors");
  EXPECT_EQ(no_data.code, 1) << no_data.output;
  EXPECT_NE(no_data.output.find("trained on data; give --data"), std::string::npos) << no_data.output;
}

TEST_F(Tools, SweepNamesTheBest) {
  const ToolRun sweep = run(dir_, "seg_sweep --data data --base 4 --depth 3 --size 32 --batch 4 --epochs 1 "
                              "--penalties none,l1,decay --lambdas 1e-4 --folds 2 --out sweep");
  ASSERT_EQ(sweep.code, 0) << sweep.output;
  EXPECT_NE(sweep.output.find("best: "), std::string::npos) << sweep.output;
  nlohmann::json j;
  std::ifstream(dir_ / "sweep/sweep.json") >> j;
  ASSERT_EQ(j["rows"].size(), 3u);
  int best = 0;
  for (const auto& row : j["rows"]) {
    best += row["best"].get<bool>();
    EXPECT_NEAR(row["gap"].get<double>(), row["train_miou"].get<double>() - row["val_miou"].get<double>(), 1e-12);
  }
  EXPECT_EQ(best, 1);
  EXPECT_TRUE(fs::exists(dir_ / "sweep/l1-0.0001/fold1/last.safetensors"));
}

// Killed (SIGKILL, no chance to save anything) in its third trial, once that trial has written its
// first epoch's checkpoint, and run again, a sweep skips the trials it finished, resumes the third
// from its checkpoint and ends with the table of a sweep that was never stopped.
TEST_F(Tools, AKilledSweepRunAgainEndsWithTheSameTable) {
  const std::string sweep = "seg_sweep --data data --base 4 --depth 3 --size 32 --batch 4 --epochs 8 "
                            "--penalties none,l1 --lambdas 1e-4,1e-3 ";
  const ToolRun straight = run(dir_, sweep + "--out straight");
  ASSERT_EQ(straight.code, 0) << straight.output;
  EXPECT_NE(straight.output.find("trial 3/3: l1 λ=0.001"), std::string::npos) << straight.output;
  EXPECT_NE(straight.output.find("best so far: "), std::string::npos) << straight.output;

  // In a shell of its own, so that the sweep alone goes to the background.
  const ToolRun killed = run(dir_, "sh -c \"" + sweep + "--out killed > killed.txt 2>&1 & pid=\\$!; "
                                   "until [ -f killed/l1-0.001/last.safetensors ]; do sleep 0.005; done; "
                                   "kill -KILL \\$pid; wait \\$pid; cat killed.txt\"");
  ASSERT_NE(killed.output.find("trial 3/3"), std::string::npos) << killed.output;
  EXPECT_FALSE(fs::exists(dir_ / "killed/sweep.json")) << "killed before the end";
  EXPECT_TRUE(fs::exists(dir_ / "killed/l1-0.0001/trial.json"));
  EXPECT_FALSE(fs::exists(dir_ / "killed/l1-0.001/trial.json"));

  const ToolRun again = run(dir_, sweep + "--out killed");
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("trial 1/3: none — done before"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("trial 2/3: l1 λ=0.0001 — done before"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("trial 3/3: l1 λ=0.001 (resumed)"), std::string::npos) << again.output;
  nlohmann::json a, b;
  std::ifstream(dir_ / "straight/sweep.json") >> a;
  std::ifstream(dir_ / "killed/sweep.json") >> b;
  EXPECT_EQ(a, b);

  // Other settings in the same folder are refused, before any training.
  const ToolRun other = run(dir_, "seg_sweep --data data --base 4 --depth 3 --size 32 --batch 4 --epochs 3 "
                                  "--penalties none,l1 --lambdas 1e-4,1e-3 --out killed");
  EXPECT_EQ(other.code, 2) << other.output;
  EXPECT_NE(other.output.find("holds a sweep with other settings"), std::string::npos) << other.output;
}

// Successive halving: 7 settings, 9 epochs at rate 3 — all 7 for 3 epochs, the best 2 on to 9:
// 21 + 2·6 = 33 epochs where the grid trains 63; the winner is one that went the whole way. A
// random search draws its strengths within the bounds, the same ones for the same seed.
TEST_F(Tools, SweepSearchesByHalvingAndAtRandom) {
  const ToolRun halving = run(dir_, "seg_sweep --data data --base 4 --depth 3 --size 32 --batch 4 --epochs 9 "
                                    "--penalties none,l1,l2 --lambdas 1e-4,1e-3,1e-2 --halving 3 --out halving");
  ASSERT_EQ(halving.code, 0) << halving.output;
  EXPECT_NE(halving.output.find("rung 1/2: 2 of 7 go on to 9 epochs"), std::string::npos) << halving.output;
  EXPECT_NE(halving.output.find("epochs trained: 33 (every setting to the end: 63)"), std::string::npos)
      << halving.output;
  nlohmann::json j;
  std::ifstream(dir_ / "halving/sweep.json") >> j;
  EXPECT_EQ(j["epochs_trained"].get<int64_t>(), 33);
  ASSERT_EQ(j["rungs"].size(), 1u);
  EXPECT_EQ(j["rungs"][0]["kept"].size(), 2u);
  EXPECT_EQ(j["rungs"][0]["stopped"].size(), 5u);
  int full = 0;
  for (const auto& row : j["rows"]) {
    full += row["epochs"].get<int64_t>() == 9;
    if (row["best"].get<bool>()) {
      EXPECT_EQ(row["epochs"].get<int64_t>(), 9) << row;
    }
  }
  EXPECT_EQ(full, 2);

  const std::string random = "seg_sweep --data data --base 4 --depth 3 --size 32 --batch 4 --epochs 1 --seed 3 "
                             "--penalties none,l1,l2 --lambdas 1e-5,1e-2 --search random --trials 4 ";
  const ToolRun a = run(dir_, random + "--out random_a"), b = run(dir_, random + "--out random_b");
  ASSERT_EQ(a.code, 0) << a.output;
  ASSERT_EQ(b.code, 0) << b.output;
  nlohmann::json ja, jb;
  std::ifstream(dir_ / "random_a/sweep.json") >> ja;
  std::ifstream(dir_ / "random_b/sweep.json") >> jb;
  ASSERT_EQ(ja["rows"].size(), 5u);
  std::set<double> drawn;
  for (size_t i = 0; i < 5; ++i) {
    const double l = ja["rows"][i]["lambda"].get<double>();
    EXPECT_EQ(l, jb["rows"][i]["lambda"].get<double>()) << "the same seed draws the same";
    if (ja["rows"][i]["penalty"] == "none") continue;
    EXPECT_GE(l, 1e-5);
    EXPECT_LE(l, 1e-2);
    drawn.insert(l);
  }
  EXPECT_EQ(drawn.size(), 4u) << "four different strengths";
}

// The report of 3 penalties × 3 strengths × 2 folds (and no penalty) on the built-in data, as
// headless Chromium renders it: every chart present with data, the verdict said, nothing fetched.
// The screenshot stays in the build folder (sweep_report.png), CI's artifact.
TEST_F(Tools, SweepReportRendersInChromium) {
  const ToolRun sweep = run(dir_, "seg_sweep --synthetic-train 16 --synthetic-val 8 --base 4 --depth 3 --size 32 "
                                  "--batch 4 --epochs 2 --penalties none,l1,l2,decay --lambdas 1e-4,1e-3,1e-2 "
                                  "--folds 2 --out report_sweep --report report");
  ASSERT_EQ(sweep.code, 0) << sweep.output;
  EXPECT_NE(sweep.output.find("report: report/report.html (10 charts)"), std::string::npos) << sweep.output;
  const std::string page = "file://" + (dir_ / "report/report.html").string();
  const std::string chromium = "chromium --headless --no-sandbox --disable-gpu --hide-scrollbars ";
  const ToolRun dom = run(dir_, chromium + "--dump-dom '" + page + "' 2>/dev/null");
  ASSERT_EQ(dom.code, 0) << "headless Chromium (Debian's chromium, scripts/deps.sh): " << dom.output;
  const std::string& html = dom.output;
  int charts = 0;
  for (size_t at = html.find("<figure class=\"chart\""); at != std::string::npos;
       at = html.find("<figure class=\"chart\"", at + 1)) {
    ++charts;
    const std::string chart = html.substr(at, html.find("</figure>", at) - at);
    const std::string id = chart.substr(chart.find("id=\"") + 4, chart.find('"', chart.find("id=\"") + 4) - chart.find("id=\"") - 4);
    EXPECT_NE(chart.find("<svg"), std::string::npos) << id;
    // Data: a line with points, or bars.
    const bool line = chart.find("class=\"series\"") != std::string::npos && chart.find("data-points=\"0\"") == std::string::npos;
    EXPECT_TRUE(line || chart.find("class=\"bar\"") != std::string::npos) << id << " has no data";
  }
  EXPECT_EQ(charts, 10);
  for (const char* id : {"miou", "gap", "zeros", "small", "norm", "curve_train_loss", "curve_val_loss", "curve_miou",
                         "class_iou", "weights"})
    EXPECT_NE(html.find(str_cat("id=\"", id, "\"")), std::string::npos) << id;
  EXPECT_NE(html.find("id=\"verdict\""), std::string::npos);
  EXPECT_TRUE(html.find("No penalty beat none") != std::string::npos || html.find("Winner: ") != std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos) << "self-contained: no script";
  EXPECT_EQ(html.find("http"), std::string::npos) << "self-contained: nothing fetched";

  const fs::path shot = fs::path(tools_dir()).parent_path() / "sweep_report.png";
  fs::remove(shot);
  const ToolRun png = run(dir_, chromium + "--window-size=1250,2600 --screenshot='" + shot.string() + "' '" + page + "'");
  ASSERT_EQ(png.code, 0) << png.output;
  ASSERT_TRUE(fs::exists(shot)) << png.output;
  EXPECT_GT(fs::file_size(shot), 50000u) << "a rendered page, not a blank one";
}

// Bad sweep input: one line naming the value, before any training; a trial that diverges is
// recorded as failed with its reason and the sweep goes on.
TEST_F(Tools, SweepBadInputAndFailedTrials) {
  for (const auto& [args, needle] : std::vector<std::pair<std::string, std::string>>{
           {"--lambdas 0", "--lambdas: 0 is not a strength"},
           {"--lambdas 1e-4,nan", "--lambdas"},
           {"--lambdas -1", "--lambdas"},
           {"--penalties ,", "--penalties is empty"},
           {"--penalties l3", "unknown 'l3'"},
           {"--folds 1", "--folds 1"},
           {"--search random --trials 0", "--trials 0"},
           {"--halving 1", "--halving 1"},
           {"--search bayes", "--search"},
           {"--report /proc/no/such", "--report /proc/no/such: cannot write there"}}) {
    const ToolRun r = run(dir_, "seg_sweep --data data --epochs 1 --out bad " + args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.output;
    const std::string first_line = r.output.substr(0, r.output.find('\n'));  // then the tools' "Run with --help"
    EXPECT_NE(first_line.find(needle), std::string::npos) << args << ": " << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "bad")) << args << ": nothing trained, nothing written";
  }
  const ToolRun diverging = run(dir_, "seg_sweep --data data --base 4 --depth 3 --size 32 --batch 4 --epochs 1 "
                                      "--optimizer sgd --schedule constant --lr 1e30 --penalties none,l2 "
                                      "--lambdas 1e-4 --out diverging");
  EXPECT_EQ(diverging.code, 1) << diverging.output;
  EXPECT_NE(diverging.output.find("every trial failed"), std::string::npos) << diverging.output;
  nlohmann::json j;
  std::ifstream(dir_ / "diverging/sweep.json") >> j;
  ASSERT_EQ(j["rows"].size(), 2u) << "the sweep went on after the first failure";
  for (const auto& row : j["rows"]) {
    EXPECT_TRUE(row["failed"].get<bool>());
    EXPECT_NE(row["reason"].get<std::string>().find("at epoch 1, batch"), std::string::npos) << row;
  }
}

TEST_F(Tools, BadInputIsOneLineNamingTheFile) {
  auto expect_error = [&](const fs::path& data, const std::string& needle, const std::string& extra = "") {
    const ToolRun r = run(dir_, str_cat("seg_train --data ", data.filename().string(), " ", kTiny, " --epochs 1 --out bad ", extra));
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("seg_train: error: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << "'" << needle << "' not in: " << r.output;
    return r;
  };
  const std::string first = "000000";
  {  // corrupt image: an error, or with --skip-bad a counted skip
    const fs::path d = copy_data("corrupt");
    std::ofstream(d / "train/images" / (first + ".png")) << "garbage";
    expect_error(d, first + ".png");
    const ToolRun skip = run(dir_, str_cat("seg_train --data corrupt ", kTiny, " --epochs 1 --skip-bad --out skipped"));
    ASSERT_EQ(skip.code, 0) << skip.output;
    EXPECT_EQ(log_of(dir_ / "skipped")[0]["bad_samples"], 1);
  }
  {  // truncated PNG
    const fs::path d = copy_data("truncated");
    const fs::path img = d / "train/images" / (first + ".png");
    fs::resize_file(img, fs::file_size(img) / 2);
    expect_error(d, first + ".png");
  }
  {  // mask of another size
    const fs::path d = copy_data("mask_size");
    write_png((d / "train/masks" / (first + ".png")).string(), Tensor::zeros(Shape{16, 32}, DType::U8));
    expect_error(d, "mask is 32x16");
  }
  {  // a label beyond the classes that is not the ignore label
    const fs::path d = copy_data("label");
    write_png((d / "train/masks" / (first + ".png")).string(), Tensor::full(Shape{32, 32}, 9, DType::U8));
    expect_error(d, "label 9");
  }
  {  // an image without a mask
    const fs::path d = copy_data("unpaired");
    fs::remove(d / "train/masks" / (first + ".png"));
    expect_error(d, "no mask");
  }
  {  // an empty split
    const fs::path d = copy_data("empty");
    fs::remove_all(d / "val/images");
    fs::create_directories(d / "val/images");
    expect_error(d, "no usable image");
  }
  {  // a checkpoint that is not one
    std::ofstream(dir_ / "not_a_checkpoint.safetensors") << "0123456789";
    for (const char* tool : {"seg_predict --checkpoint not_a_checkpoint.safetensors data/val/images",
                             "seg_export --checkpoint not_a_checkpoint.safetensors --onnx m.onnx"}) {
      const ToolRun r = run(dir_, tool);
      EXPECT_EQ(r.code, 1) << tool << r.output;
      EXPECT_NE(r.output.find("not_a_checkpoint.safetensors"), std::string::npos) << r.output;
    }
    EXPECT_FALSE(fs::exists(dir_ / "m.onnx"));
  }
}

TEST_F(Tools, AFullDiskWhileSavingFailsCleanlyAndKeepsThePreviousCheckpoint) {
  const ToolRun first = run(dir_, str_cat("seg_train --data data ", kTiny, " --epochs 1 --out full"));
  ASSERT_EQ(first.code, 0) << first.output;
  const fs::path last = dir_ / "full/last.safetensors";
  const auto size = fs::file_size(last);
  const std::string before = test::read_file(last);
  // Files may grow to a tenth of a checkpoint: the next save hits the limit (EFBIG, as ENOSPC).
  const ToolRun r = run(dir_, str_cat("bash -c \"trap '' XFSZ; ulimit -f ", size / 1024 / 10,
                                  "; exec seg_train --resume --out full --epochs 2 --no-progress\""));
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("last.safetensors"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("write failed"), std::string::npos) << r.output;
  EXPECT_EQ(test::read_file(last), before);
  EXPECT_FALSE(fs::exists(dir_ / "full/last.safetensors.tmp"));
}

TEST_F(Tools, AReadOnlyOutputFolderFailsBeforeTrainingAndKeepsTheCheckpoint) {
  const ToolRun first = run(dir_, str_cat("seg_train --data data ", kTiny, " --epochs 1 --out readonly"));
  ASSERT_EQ(first.code, 0) << first.output;
  const fs::path out = dir_ / "readonly", last = out / "last.safetensors";
  const std::string before = test::read_file(last);
  // Folder permissions do not bind root: run the tool as nobody there.
  std::string as_user;
  if (::geteuid() == 0) {
    if (run(dir_, "command -v setpriv").code != 0) GTEST_SKIP() << "running as root without setpriv";
    as_user = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
    if (run(dir_, as_user + "seg_train --help").code != 0) GTEST_SKIP() << "the tools are out of nobody's reach here";
  }
  fs::permissions(out, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
  const ToolRun resumed = run(dir_, str_cat(as_user, "seg_train --resume --out readonly --epochs 2 --no-progress"));
  const ToolRun fresh = run(dir_, str_cat(as_user, "seg_train --data data ", kTiny, " --out readonly"));
  fs::permissions(out, fs::perms::owner_write, fs::perm_options::add);
  for (const ToolRun& r : {resumed, fresh}) {
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("config.json"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("Permission denied"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("epoch"), std::string::npos) << "failed only after training: " << r.output;
  }
  EXPECT_EQ(test::read_file(last), before);
}

}  // namespace
}  // namespace cuseg
