#include "apps/train_options.h"

#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "apps/tool.h"

namespace cuseg::tool {

void add_train_options(CLI::App& app, TrainOptions& o) {
  TrainConfig& c = o.config;
  // As in most tools, a flag given twice takes its last value (scripts append overrides).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option(
      "--data", c.data,
      "Dataset folder: DIR/{train,val}/{images,masks}; none: the built-in synthetic set");
  app.add_option("--model", o.model, "Network")
      ->check(CLI::IsMember({"unet-s"}))
      ->capture_default_str();
  app.add_option("--base", c.base, "Width of the first level")->capture_default_str();
  app.add_option("--depth", c.depth, "Levels")->capture_default_str();
  app.add_option("--bn", c.batch_norm, "Batch normalization (1/0)")->capture_default_str();
  app.add_option("--upsample", c.upsample, "transposed or bilinear")
      ->check(CLI::IsMember({"transposed", "bilinear"}))
      ->capture_default_str();
  app.add_option("--dropout", c.dropout, "Dropout probability at the bottleneck")
      ->capture_default_str();
  app.add_option("--epochs", c.epochs, "Epochs")->capture_default_str();
  app.add_option("--batch", c.batch, "Images per batch")->capture_default_str();
  app.add_option("--accumulate", c.accumulate, "Batches per optimizer step (gradient accumulation)")
      ->capture_default_str();
  app.add_option("--size", o.size, "Training size: N or WxH (multiples of 2^(depth-1))")
      ->capture_default_str();
  app.add_option("--lr", c.lr, "Learning rate")->capture_default_str();
  app.add_option("--schedule", c.schedule, "constant, step, cosine or poly")
      ->check(CLI::IsMember({"constant", "step", "cosine", "poly"}))
      ->capture_default_str();
  app.add_option("--warmup", c.warmup, "Warm-up steps (cosine, poly)")->capture_default_str();
  app.add_option("--optimizer", c.optimizer,
                 "sgd, momentum, nesterov, adagrad, rmsprop, adam or adamw")
      ->check(CLI::IsMember({"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}))
      ->capture_default_str();
  app.add_option("--penalty", c.penalty,
                 "none, l1, l1-prox, l2, elastic, elastic-prox or smooth-l1")
      ->check(
          CLI::IsMember({"none", "l1", "l1-prox", "l2", "elastic", "elastic-prox", "smooth-l1"}))
      ->capture_default_str();
  app.add_option("--l1", c.l1, "L1 strength (also smooth-l1's)")->capture_default_str();
  app.add_option("--l2", c.l2, "L2 strength (λ/2·‖w‖²)")->capture_default_str();
  app.add_option("--beta", c.beta, "smooth-l1's β")->capture_default_str();
  app.add_option("--weight-decay", c.weight_decay,
                 "Decoupled weight decay (default: the optimizer's; adamw 0.01)");
  app.add_option("--max-grad-norm", c.max_grad_norm, "Global gradient-norm clipping; 0 off")
      ->capture_default_str();
  app.add_option("--loss", c.loss,
                 "ce, dice, ce+dice, focal, bce, or a weighted sum such as 0.5*ce+dice")
      ->capture_default_str();
  app.add_option("--class-weights", c.class_weights, "none, auto (median frequency) or w1,w2,...")
      ->capture_default_str();
  app.add_option("--label-smoothing", c.label_smoothing, "Cross-entropy label smoothing")
      ->capture_default_str();
  app.add_option("--focal-gamma", c.focal_gamma, "Focal loss γ")->capture_default_str();
  app.add_option("--ignore-index", c.ignore_index, "Mask value that is not a class")
      ->capture_default_str();
  app.add_flag("--augment", c.augment,
               "Random crop, scale, flips, 90° rotations, brightness and contrast");
  app.add_flag("--keep-alpha", o.keep_alpha, "Keep an image's alpha as a fourth input channel");
  app.add_option("--channels", c.channels, "Input channels: 1 (gray) or 3 (RGB)")
      ->check(CLI::IsMember({1, 3}))
      ->capture_default_str();
  app.add_flag("--skip-bad", c.skip_bad, "Skip and count bad samples instead of stopping");
  app.add_flag("--skip-nonfinite", c.skip_nonfinite,
               "Skip steps whose loss or gradients are NaN or infinite instead of stopping");
  app.add_option("--patience", c.patience,
                 "Early stopping after this many epochs without a better val mIoU; 0 off")
      ->capture_default_str();
  app.add_option("--device", c.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--workers", c.workers, "Data loader threads")->capture_default_str();
  app.add_option("--backend", c.backend,
                 "auto (the fast CPU path where built, cuseg's CUDA kernels on a GPU), reference, "
                 "fast, cuda or cudnn")
      ->capture_default_str();
  app.add_option("--threads", c.threads, "CPU threads for the ops (default: every core)")
      ->check(thread_count_check);
  app.add_option("--precision", c.precision,
                 "Convolution arithmetic: f32, or bf16 (fast CPU path on AVX512-BF16/AMX; weights, "
                 "optimizer "
                 "state, batch-norm statistics and losses stay f32)")
      ->capture_default_str();
  app.add_option("--seed", c.seed, "Seed of initialization, data order, augmentation and dropout")
      ->capture_default_str();
  app.add_option("--synthetic-train", c.synthetic_train, "Built-in dataset: training images")
      ->capture_default_str();
  app.add_option("--synthetic-val", c.synthetic_val, "Built-in dataset: validation images")
      ->capture_default_str();
  app.add_option("--out", c.out, "Output folder (checkpoints, log.jsonl, config.json)")
      ->capture_default_str();
  app.add_option(
         "--init-from", c.init_from,
         "Start from these weights: a PyTorch state dict of python/cuseg_torch_unet.py's UNet "
         "(seg_export --torch writes one) for the same configuration")
      ->check(CLI::ExistingFile);
  app.add_option(
      "--tensorboard", c.tensorboard,
      "TensorBoard event files' folder (per-step loss, every per-epoch metric, validation images); "
      "default OUT/tb, 'none' for none");
  app.add_flag("--no-progress", o.no_progress, "No progress bar, even on a terminal");
  app.add_option("--sync-bn", c.sync_bn,
                 "Under mpirun: batch-norm statistics over every rank's batch (1/0; default -1: on "
                 "where there is batch norm)")
      ->check(CLI::IsMember({-1, 0, 1}))
      ->capture_default_str();
  app.add_option("--collectives", c.collectives,
                 "Under mpirun, GPU ranks: gradients summed on the GPUs by NCCL (nccl), through the "
                 "host over MPI (mpi), or NCCL where the build has it and each rank has its own GPU "
                 "(auto)")
      ->check(CLI::IsMember({"auto", "nccl", "mpi"}))
      ->capture_default_str();
  app.add_option("--collective-timeout", c.collective_timeout,
                 "Under mpirun: seconds a rank waits for the others in a collective before it "
                 "ends the job naming the collective")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

void finish_train_options(TrainOptions& o) {
  parse_size(o.size, o.config.height, o.config.width);
  if (o.keep_alpha) o.config.channels = 4;
  o.config.progress = !o.no_progress;
  try {
    o.config.validate();
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

std::vector<std::string> train_config_fields(const std::string& flag) {
  if (flag == "--size") return {"height", "width"};
  if (flag == "--keep-alpha") return {"channels"};
  if (flag == "--bn") return {"batch_norm"};
  std::string key = flag.substr(2);
  for (char& ch : key)
    if (ch == '-') ch = '_';
  return {key};
}

TrainConfig resolve_train_config(const CLI::App& app, TrainOptions& o, bool resume) {
  finish_train_options(o);
  if (!resume) return o.config;
  static const std::set<std::string> may_change = {
      "--resume",      "--out",        "--epochs",    "--patience", "--device",
      "--backend",     "--threads",    "--precision", "--workers",  "--stop-after-steps",
      "--no-progress", "--tensorboard", "--collective-timeout", "--collectives"};
  TrainConfig config = Trainer::stored_config(o.config.out);
  const nlohmann::json given = nlohmann::json::parse(o.config.to_json());
  const nlohmann::json stored = nlohmann::json::parse(config.to_json());
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->count() == 0 || may_change.count(opt->get_name())) continue;
    for (const std::string& key : train_config_fields(opt->get_name())) {
      if (!given.contains(key))
        throw UsageError(opt->get_name() +
                         " cannot change on --resume (the stored configuration is used)");
      if (given[key] != stored[key])
        throw UsageError(opt->get_name() + ": " + given[key].dump() + " differs from the stored " +
                         stored[key].dump() +
                         " (--resume continues with the stored configuration)");
    }
  }
  if (app.count("--epochs")) config.epochs = o.config.epochs;
  if (app.count("--patience")) config.patience = o.config.patience;
  if (app.count("--device")) config.device = o.config.device;
  if (app.count("--workers")) config.workers = o.config.workers;
  if (app.count("--backend")) config.backend = o.config.backend;
  if (app.count("--threads")) config.threads = o.config.threads;
  if (app.count("--precision")) config.precision = o.config.precision;
  if (app.count("--tensorboard")) config.tensorboard = o.config.tensorboard;
  if (app.count("--collective-timeout")) config.collective_timeout = o.config.collective_timeout;
  if (app.count("--collectives")) config.collectives = o.config.collectives;
  config.progress = !o.no_progress;
  config.resume = true;
  return config;
}

}  // namespace cuseg::tool
