// seg_train: trains a U-Net on a folder of images and masks, or on the built-in synthetic set
// when no --data is given. Checkpoints, log.jsonl and config.json go to --out.
//
// SIGINT/SIGTERM finish the current step, write last.safetensors and exit 130/143 with the
// command that resumes; a second signal ends the process at once.
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "apps/tool.h"
#include "apps/train_options.h"

namespace {

extern "C" void on_stop_signal(int signal) {
  cuseg::request_stop(signal);
  std::signal(signal, SIG_DFL);  // a second one ends the process
}

// The TrainConfig fields a seg_train flag sets: --max-grad-norm → max_grad_norm, --size → height
// and width, --keep-alpha → channels.
std::vector<std::string> config_fields(const std::string& flag) {
  if (flag == "--size") return {"height", "width"};
  if (flag == "--keep-alpha") return {"channels"};
  std::string key = flag.substr(2);
  for (char& ch : key)
    if (ch == '-') ch = '_';
  return {key};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seg_train: train a segmentation U-Net (unet-s) on a folder dataset or the built-in synthetic one",
               "seg_train"};
  cuseg::tool::TrainOptions options;
  cuseg::tool::add_train_options(app, options);
  bool resume = false;
  int64_t stop_after = 0;
  app.add_flag("--resume", resume,
               "Continue the run in --out from last.safetensors with its stored configuration: --epochs, "
               "--patience, --device, --backend, --threads, --precision, --workers, --tensorboard may "
               "change; other flags may repeat the stored values (the first command with --resume appended)");
  app.add_option("--stop-after-steps", stop_after, "Stop (as if interrupted) after this many optimizer steps");
  return cuseg::tool::run(app, argc, argv, [&] {
    using cuseg::tool::UsageError;
    cuseg::TrainConfig config;
    if (resume) {
      static const std::set<std::string> allowed = {"--resume",  "--out",     "--epochs",
                                                    "--patience", "--device", "--backend",
                                                    "--threads", "--precision", "--workers", "--stop-after-steps",
                                                    "--no-progress", "--tensorboard"};
      config = cuseg::Trainer::stored_config(options.config.out);
      // The first command again with --resume appended is fine: a flag may repeat the stored
      // value; a different one is refused, naming the flag and both values.
      cuseg::tool::finish_train_options(options);
      const nlohmann::json given = nlohmann::json::parse(options.config.to_json());
      const nlohmann::json stored = nlohmann::json::parse(config.to_json());
      for (const CLI::Option* opt : app.get_options()) {
        if (opt->count() == 0 || allowed.count(opt->get_name())) continue;
        for (const std::string& key : config_fields(opt->get_name())) {
          if (!given.contains(key))
            throw UsageError(opt->get_name() + " cannot change on --resume (the stored configuration is used)");
          if (given[key] != stored[key])
            throw UsageError(opt->get_name() + ": " + given[key].dump() + " differs from the stored " +
                             stored[key].dump() + " (--resume continues with the stored configuration)");
        }
      }
      if (app.count("--epochs")) config.epochs = options.config.epochs;
      if (app.count("--patience")) config.patience = options.config.patience;
      if (app.count("--device")) config.device = options.config.device;
      if (app.count("--workers")) config.workers = options.config.workers;
      if (app.count("--backend")) config.backend = options.config.backend;
      if (app.count("--threads")) config.threads = options.config.threads;
      if (app.count("--precision")) config.precision = options.config.precision;
      if (app.count("--tensorboard")) config.tensorboard = options.config.tensorboard;
      config.progress = !options.no_progress;
      config.resume = true;
    } else {
      cuseg::tool::finish_train_options(options);
      config = options.config;
    }
    config.stop_after_steps = stop_after;
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    cuseg::Trainer trainer(config);
    const cuseg::TrainResult result = trainer.run();
    // A diverged run is an error like any other: one line on stderr, exit 1.
    if (result.status == cuseg::TrainStatus::NonFinite) throw cuseg::Error(result.message);
    std::printf("%s\n", result.message.c_str());
    if (result.status == cuseg::TrainStatus::Interrupted && cuseg::stop_signal() > 0) return 128 + cuseg::stop_signal();
    return cuseg::tool::kOk;
  });
}
