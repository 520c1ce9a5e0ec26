#include "cuseg/train/train_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cuseg/core/error.h"
#include "cuseg/kernels/compute.h"
#include "cuseg/layers/model_config.h"
#include "cuseg/optim/optimizer.h"

namespace cuseg {

using json = nlohmann::json;
namespace fs = std::filesystem;

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(AugmentConfig, flips, rotations, scale_min, scale_max, brightness,
                                                contrast)

namespace {

// A row's field: its name in config.json and the member it is.
#define FIELD(name) .key = #name, .field = &TrainConfig::name

std::string size_text(const TrainConfig& c) {
  return c.height == c.width ? std::to_string(c.height) : str_cat(c.width, "x", c.height);
}
void set_size(TrainConfig& c, const std::string& text) { parse_image_size(text, c.height, c.width); }

// "a, b or c" (or "a, b and c")
std::string listed(const std::vector<std::string>& values, const char* last = " or ") {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i)
    out += (i == 0 ? "" : i + 1 == values.size() ? last : ", ") + values[i];
  return out;
}

std::vector<std::string> may_change(const std::vector<TrainOption>& rows) {
  std::vector<std::string> flags;
  for (const TrainOption& o : rows)
    if (o.on_resume == OnResume::MayChange) flags.push_back(o.flag);
  return flags;
}

std::string resume_help_of(const std::vector<TrainOption>& rows) {
  return str_cat("Continue the run in --out from last.safetensors with its stored configuration: ",
                 listed(may_change(rows), " and "),
                 " may change; other flags may repeat the stored values (the first command with --resume appended)");
}

std::vector<TrainOption> make_table() {
  using R = OnResume;
  std::vector<TrainOption> rows = {
      {.flag = "--data", FIELD(data),
       .help = "Dataset folder: DIR/{train,val}/{images,masks}; none: the built-in synthetic set",
       .placeholder = "DIR"},
      {.flag = "--model", FIELD(model),
       .help = "Network: unet-s (cuseg's U-Net), or unet, fpn or deeplabv3plus (segmentation_models_pytorch's Unet, "
               "FPN or DeepLabV3Plus on --encoder)",
       .allowed = architecture_names()},
      {.flag = "--encoder", FIELD(encoder), .help = "The model zoo network's encoder", .allowed = encoder_names()},
      {.flag = "--encoder-depth", FIELD(encoder_depth), .help = "The model zoo network's encoder stages (3 to 5)"},
      {.flag = "--encoder-output-stride", FIELD(encoder_output_stride),
       .help = "deeplabv3plus: the encoder's output stride, 8 or 16; its stages past it dilate instead of striding"},
      {.flag = "--decoder-atrous-rates", FIELD(decoder_atrous_rates),
       .help = "deeplabv3plus: the dilation rates of the ASPP's three separable convolutions", .placeholder = "LIST"},
      {.flag = "--decoder-channels", FIELD(decoder_channels),
       .help = "The model zoo network's decoder widths: unet one per stage (default: SMP's, 256,128,64,32,16), "
               "deeplabv3plus one (default 256)",
       .placeholder = "LIST"},
      {.flag = "--decoder-pyramid-channels", FIELD(decoder_pyramid_channels),
       .help = "fpn: the feature pyramid's width"},
      {.flag = "--decoder-segmentation-channels", FIELD(decoder_segmentation_channels),
       .help = "fpn: the segmentation blocks' width (a multiple of 32, GroupNorm's groups)"},
      {.flag = "--decoder-merge-policy", FIELD(decoder_merge_policy),
       .help = "fpn: the four levels summed (add) or concatenated (cat)", .allowed = {"add", "cat"}},
      {.flag = "--decoder-dropout", FIELD(decoder_dropout),
       .help = "fpn: channel dropout before the head; deeplabv3plus: the ASPP's dropout (default: the "
               "architecture's, fpn 0.2, deeplabv3plus 0.5)",
       .placeholder = "P"},
      {.flag = "--decoder-attention", FIELD(decoder_attention),
       .help = "unet: scSE attention in each decoder block (SMP's decoder_attention_type)", .allowed = {"none", "scse"}},
      {.flag = "--drop-path-rate", FIELD(drop_path_rate),
       .help = "efficientnet: drop connect (stochastic depth) of block i of n at this rate times i/n (SMP's 0.2)"},
      {.flag = "--base", FIELD(base), .help = "unet-s: width of the first level"},
      {.flag = "--depth", FIELD(depth), .help = "unet-s: levels"},
      {.flag = "--bn", FIELD(batch_norm), .help = "unet-s: batch normalization (1/0)"},
      {.flag = "--upsample", FIELD(upsample), .help = "unet-s: transposed or bilinear",
       .allowed = {"transposed", "bilinear"}},
      {.flag = "--dropout", FIELD(dropout), .help = "unet-s: dropout probability at the bottleneck"},
      {.flag = "--binary", FIELD(binary),
       .help = "Two-class data (background, foreground) through one output channel, a sigmoid head as "
               "segmentation_models_pytorch's classes=1; bce is then binary cross-entropy",
       .switch_value = "1"},
      {.flag = "--epochs", FIELD(epochs), .help = "Epochs", .on_resume = R::MayChange},
      {.flag = "--batch", FIELD(batch), .help = "Images per batch"},
      {.flag = "--accumulate", FIELD(accumulate), .help = "Batches per optimizer step (gradient accumulation)"},
      {.flag = "--size",
       .help = "Training size: N or WxH (multiples of the network's output stride: unet-s 2^(depth-1), the model "
               "zoo's 2^encoder-depth, deeplabv3plus's the smaller of that and --encoder-output-stride)",
       .get_text = size_text,
       .set_text = set_size, .sets = {"height", "width"}},
      {FIELD(height)},
      {FIELD(width)},
      {.flag = "--lr", FIELD(lr), .help = "Learning rate"},
      {.flag = "--schedule", FIELD(schedule), .help = "constant, step, cosine or poly",
       .allowed = {"constant", "step", "cosine", "poly"}},
      {.flag = "--warmup", FIELD(warmup), .help = "Warm-up steps (cosine, poly)"},
      {.flag = "--optimizer", FIELD(optimizer), .help = "sgd, momentum, nesterov, adagrad, rmsprop, adam or adamw",
       .allowed = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}},
      {.flag = "--penalty", FIELD(penalty), .help = "none, l1, l1-prox, l2, elastic, elastic-prox or smooth-l1",
       .allowed = {"none", "l1", "l1-prox", "l2", "elastic", "elastic-prox", "smooth-l1"}},
      {.flag = "--l1", FIELD(l1), .help = "L1 strength (also smooth-l1's)"},
      {.flag = "--l2", FIELD(l2), .help = "L2 strength (λ/2·‖w‖²)"},
      {.flag = "--beta", FIELD(beta), .help = "smooth-l1's β"},
      {.flag = "--weight-decay", FIELD(weight_decay),
       .help = "Decoupled weight decay (default: the optimizer's; adamw 0.01)",
       .placeholder = "λ"},
      {.flag = "--max-grad-norm", FIELD(max_grad_norm), .help = "Global gradient-norm clipping; 0 off"},
      {.flag = "--loss", FIELD(loss), .help = "ce, dice, ce+dice, focal, bce, or a weighted sum such as 0.5*ce+dice"},
      {.flag = "--class-weights", FIELD(class_weights), .help = "none, auto (median frequency) or w1,w2,..."},
      {.flag = "--label-smoothing", FIELD(label_smoothing), .help = "Cross-entropy label smoothing"},
      {.flag = "--focal-gamma", FIELD(focal_gamma), .help = "Focal loss γ"},
      {.flag = "--ignore-index", FIELD(ignore_index), .help = "Mask value that is not a class"},
      {.flag = "--augment", FIELD(augment),
       .help = "Random crop, scale, flips, 90° rotations, brightness and contrast",
       .switch_value = "1"},
      {FIELD(augmentation)},
      {.flag = "--channels", FIELD(channels), .help = "Input channels: 1 (gray) or 3 (RGB)", .allowed = {"1", "3"}},
      // After --channels: CLI11 applies the flags in this order, and --keep-alpha wins.
      {.flag = "--keep-alpha", .help = "Keep an image's alpha as a fourth input channel", .switch_value = "4",
       .sets = {"channels"}},
      {.flag = "--skip-bad", FIELD(skip_bad), .help = "Skip and count bad samples instead of stopping",
       .switch_value = "1"},
      {.flag = "--skip-nonfinite", FIELD(skip_nonfinite),
       .help = "Skip steps whose loss or gradients are NaN or infinite instead of stopping", .switch_value = "1"},
      {.flag = "--cuda-graph", FIELD(cuda_graph),
       .help = "GPU, one process: each training step captured once and replayed as one CUDA graph launch, with no "
               "allocation and no wait for the GPU; the loss, label and non-finite checks are read every 64 steps "
               "and at the epoch's end",
       .on_resume = R::MayChange, .switch_value = "1"},
      {.flag = "--patience", FIELD(patience),
       .help = "Early stopping after this many epochs without a better val mIoU; 0 off",
       .on_resume = R::MayChange},
      {.flag = "--device", FIELD(device), .help = "auto, cpu, cuda or cuda:N", .on_resume = R::MayChange},
      {.flag = "--workers", FIELD(workers), .help = "Data loader threads", .on_resume = R::MayChange},
      {.flag = "--backend", FIELD(backend),
       .help = "auto (the fast CPU path where built, cuseg's CUDA kernels on a GPU), reference, fast, cuda or cudnn",
       .on_resume = R::MayChange},
      {.flag = "--threads", FIELD(threads), .help = "CPU threads for the ops (default: every core)",
       .on_resume = R::MayChange, .placeholder = "N", .check = OptionCheck::ThreadCount},
      {.flag = "--precision", FIELD(precision),
       .help = "Convolution arithmetic: f32; tf32 (GPU tensor cores); or bf16 (GPU tensor cores, or the fast CPU "
               "path on AVX512-BF16/AMX). Weights, optimizer state, batch-norm statistics and losses stay f32",
       .on_resume = R::MayChange},
      {.flag = "--seed", FIELD(seed), .help = "Seed of initialization, data order, augmentation and dropout"},
      {.flag = "--synthetic-train", FIELD(synthetic_train), .help = "Built-in dataset: training images"},
      {.flag = "--synthetic-val", FIELD(synthetic_val), .help = "Built-in dataset: validation images"},
      {.flag = "--synthetic-label-noise", FIELD(synthetic_label_noise),
       .help = "Built-in dataset: the share of the training images' shapes labelled as another shape class (a "
               "split a network can overfit); validation stays true",
       .placeholder = "P"},
      {FIELD(folds)},  // seg_sweep's --folds
      {FIELD(fold)},
      {.flag = "--out", FIELD(out), .help = "Output folder (checkpoints, log.jsonl, config.json)"},
      {.flag = "--init-from", FIELD(init_from),
       .help = "Start from these weights: a PyTorch state dict of python/cuseg_torch_unet.py's UNet "
               "(seg_export --torch writes one) for the same configuration",
       .placeholder = "FILE", .check = OptionCheck::ExistingFile},
      {.flag = "--encoder-weights", FIELD(encoder_weights),
       .help = "Start the model zoo network's encoder from these ImageNet weights: torchvision's state dict of the "
               "classification network (safetensors; the classifier is ignored); other input channels than 3 as "
               "segmentation_models_pytorch adapts them",
       .placeholder = "FILE", .check = OptionCheck::ExistingFile},
      {.flag = "--tensorboard", FIELD(tensorboard),
       .help = "TensorBoard event files' folder (per-step loss, every per-epoch metric, validation images); default "
               "OUT/tb, 'none' for none",
       .on_resume = R::MayChange, .placeholder = "DIR"},
      {.flag = "--no-progress", FIELD(progress), .help = "No progress bar, even on a terminal",
       .on_resume = R::CommandOnly, .switch_value = "0"},
      {FIELD(quiet), .on_resume = R::CommandOnly},
      {.flag = "--sync-bn", FIELD(sync_bn),
       .help = "Under mpirun: batch-norm statistics over every rank's batch (1/0; default -1: on where there is batch "
               "norm)",
       .allowed = {"-1", "0", "1"}},
      {.flag = "--collectives", FIELD(collectives),
       .help = "Under mpirun, GPU ranks: gradients summed on the GPUs by NCCL (nccl), through the host over MPI (mpi), "
               "or NCCL where the build has it and each rank has its own GPU (auto)",
       .on_resume = R::MayChange, .allowed = {"auto", "nccl", "mpi"}},
      {.flag = "--collective-timeout", FIELD(collective_timeout),
       .help = "Under mpirun: seconds a rank waits for the others in a collective before it ends the job naming the "
               "collective",
       .on_resume = R::MayChange, .check = OptionCheck::Positive},
      {.flag = "--resume", FIELD(resume), .on_resume = R::CommandOnly, .switch_value = "1",
       .sweep = false},
      {.flag = "--stop-after-steps", FIELD(stop_after_steps),
       .help = "Stop (as if interrupted) after this many optimizer steps", .on_resume = R::CommandOnly,
       .placeholder = "N", .sweep = false},
      {.flag = "--stop-after-epochs", FIELD(stop_after_epochs),
       .help = "Stop (as if interrupted) once the run has done this many epochs: the learning-rate schedule stays "
               "that of --epochs (seg_sweep's successive halving trains its rungs so)",
       .on_resume = R::CommandOnly, .placeholder = "N", .sweep = false},
  };
  for (TrainOption& o : rows)
    if (o.flag == "--resume") o.help = resume_help_of(rows);
  return rows;
}

const std::vector<TrainOption>& table() {
  static const std::vector<TrainOption> rows = make_table();
  return rows;
}

#undef FIELD

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};

const TrainOption& row_of_key(const std::string& key) {
  for (const TrainOption& o : table())
    if (o.key == key) return o;
  throw_error(str_cat("training configuration: no field '", key, "'"));
}

json field_json(const TrainConfig& c, const TrainOption& o) {
  return std::visit(Overloaded{[](std::monostate) { return json(); }, [&](auto m) { return json(c.*m); }}, o.field);
}

void set_field_json(TrainConfig& c, const TrainOption& o, const json& value) {
  std::visit(Overloaded{[](std::monostate) {}, [&](auto m) { value.get_to(c.*m); }}, o.field);
}

void copy_field(TrainConfig& to, const TrainConfig& from, const std::string& key) {
  std::visit(Overloaded{[](std::monostate) {}, [&](auto m) { to.*m = from.*m; }}, row_of_key(key).field);
}

bool stored(const TrainOption& o) { return !o.key.empty() && o.on_resume != OnResume::CommandOnly; }

// The values a field may hold: its flag's, and those of the bare flags that set it (--keep-alpha:
// channels 4). Empty: any.
std::vector<std::string> allowed_values(const TrainOption& field_row) {
  std::vector<std::string> allowed = field_row.allowed;
  if (allowed.empty()) return allowed;
  for (const TrainOption& o : table())
    for (const std::string& key : o.sets)
      if (key == field_row.key && !o.switch_value.empty()) allowed.push_back(o.switch_value);
  return allowed;
}

}  // namespace

const std::vector<TrainOption>& train_options() { return table(); }

const TrainOption& train_option(const std::string& flag) {
  for (const TrainOption& o : table())
    if (o.flag == flag) return o;
  throw_error(str_cat("no training option ", flag));
}

std::vector<std::string> option_fields(const TrainOption& o) {
  if (!o.key.empty()) return {o.key};
  return o.sets;
}

std::string option_text(const TrainConfig& c, const TrainOption& o) {
  if (o.get_text) return o.get_text(c);
  return std::visit(Overloaded{[](std::monostate) { return std::string(); },
                               [&](bool TrainConfig::*m) { return std::string(c.*m ? "1" : "0"); },
                               [&](std::string TrainConfig::*m) { return c.*m; },
                               [&](double TrainConfig::*m) { return json(c.*m).dump(); },
                               [&](AugmentConfig TrainConfig::*m) { return json(c.*m).dump(); },
                               [&](auto m) { return std::to_string(c.*m); }},
                    o.field);
}

void set_option_text(TrainConfig& c, const TrainOption& o, const std::string& text) {
  if (o.set_text) return o.set_text(c, text);
  if (o.key.empty()) {
    for (const std::string& key : o.sets) set_option_text(c, row_of_key(key), text);
    return;
  }
  const std::string what = o.flag.empty() ? o.key : o.flag;
  const auto number = [&](auto parse) {
    size_t used = 0;
    try {
      const auto value = parse(text, &used);
      if (used == text.size()) return value;
    } catch (const std::logic_error&) {
    }
    throw_error(str_cat(what, ": '", text, "' is not a number"));
  };
  std::visit(Overloaded{[](std::monostate) {},
                        [&](bool TrainConfig::*m) {
                          CUSEG_CHECK(text == "1" || text == "0", what, ": '", text, "': expected 1 or 0");
                          c.*m = text == "1";
                        },
                        [&](int TrainConfig::*m) {
                          c.*m = number([](const std::string& s, size_t* n) { return std::stoi(s, n); });
                        },
                        [&](int64_t TrainConfig::*m) {
                          c.*m = number([](const std::string& s, size_t* n) { return int64_t(std::stoll(s, n)); });
                        },
                        [&](uint64_t TrainConfig::*m) {
                          c.*m = number([](const std::string& s, size_t* n) { return uint64_t(std::stoull(s, n)); });
                        },
                        [&](double TrainConfig::*m) {
                          c.*m = number([](const std::string& s, size_t* n) { return std::stod(s, n); });
                        },
                        [&](std::string TrainConfig::*m) { c.*m = text; },
                        [&](AugmentConfig TrainConfig::*m) { c.*m = json::parse(text).get<AugmentConfig>(); }},
             o.field);
}

void parse_image_size(const std::string& text, int& height, int& width) {
  const size_t x = text.find('x');
  try {
    size_t used = 0;
    if (x == std::string::npos) {
      height = width = std::stoi(text, &used);
      if (used != text.size()) throw std::invalid_argument(text);
    } else {
      width = std::stoi(text.substr(0, x), &used);
      if (used != x) throw std::invalid_argument(text);
      height = std::stoi(text.substr(x + 1), &used);
      if (used != text.size() - x - 1) throw std::invalid_argument(text);
    }
  } catch (const std::logic_error&) {
    throw_error(str_cat("--size '", text, "': expected N or WxH"));
  }
  CUSEG_CHECK(height >= 1 && width >= 1, "--size '", text, "': must be positive");
}

void TrainConfig::validate() const {
  // What the table says of each field: its allowed values, and its checks.
  for (const TrainOption& o : table()) {
    if (o.key.empty()) continue;
    const std::string what = o.flag.empty() ? o.key : o.flag;
    const std::vector<std::string> allowed = allowed_values(o);
    const std::string value = option_text(*this, o);
    if (!allowed.empty())
      CUSEG_CHECK(std::find(allowed.begin(), allowed.end(), value) != allowed.end(), what, " must be ",
                  listed(allowed), ", not '", value, "'");
    if (o.check == OptionCheck::Positive) {
      const double v = field_json(*this, o).get<double>();
      CUSEG_CHECK(v > 0, what, " must be positive, not ", value);
    }
    if (o.check == OptionCheck::ThreadCount) {
      const int64_t n = field_json(*this, o).get<int64_t>();
      CUSEG_CHECK(n >= 0 && n <= cpu_cores(), what, " ", n, ": must be between 1 and the ", cpu_cores(),
                  " cores this process may use (0: all of them)");
    }
  }
  // What no single field's value decides.
  auto positive = [](int64_t v, const char* what) { CUSEG_CHECK(v >= 1, what, " must be at least 1, not ", v); };
  positive(epochs, "--epochs");
  positive(batch, "--batch");
  positive(accumulate, "--accumulate");
  positive(height, "--size (height)");
  positive(width, "--size (width)");
  positive(workers, "--workers");
  CUSEG_CHECK(lr > 0 && std::isfinite(lr), "--lr must be positive, not ", lr);
  CUSEG_CHECK(encoder_weights.empty() || model != "unet-s", "--encoder-weights: unet-s has no encoder of its own; "
              "--model unet has");
  CUSEG_CHECK(encoder_weights.empty() || init_from.empty(),
              "--encoder-weights and --init-from: the second holds the whole model, the encoder included; give one");
  CUSEG_CHECK(folds == 0 || (folds >= 2 && fold >= 0 && fold < folds), "--folds ", folds, " --fold ", fold,
              ": need folds ≥ 2 and 0 ≤ fold < folds");
  CUSEG_CHECK(patience >= 0, "--patience must not be negative");
  CUSEG_CHECK(synthetic_label_noise >= 0 && synthetic_label_noise <= 1, "--synthetic-label-noise ",
              synthetic_label_noise, ": a share, in [0, 1]");
  CUSEG_CHECK(!cuda_graph || accumulate == 1, "--cuda-graph needs --accumulate 1 (a graph is one whole step)");
  CUSEG_CHECK(ignore_index >= 0 && ignore_index <= 255, "--ignore-index must be in [0, 255]");
  CUSEG_CHECK(data.empty() || fs::is_directory(data), "--data ", data, ": no such folder");
  CUSEG_CHECK(!data.empty() || channels != 4, "the built-in dataset has 1 or 3 channels, not 4");
  CUSEG_CHECK(synthetic_train >= 1 && synthetic_val >= 1, "synthetic split sizes must be positive");
  Penalty::parse(penalty, l1, l2, beta).validate();
  OptimizerConfig::named(optimizer);
  parse_backend(backend);
  parse_precision(precision);
  CUSEG_CHECK(sync_bn != 1 || batch_norm || model != "unet-s", "--sync-bn 1: the network has no batch norm (--bn 0)");
}

std::string TrainConfig::to_json() const {
  json j = json::object();
  for (const TrainOption& o : table())
    if (stored(o)) j[o.key] = field_json(*this, o);
  return j.dump(2);
}

TrainConfig TrainConfig::from_json(const std::string& text) {
  try {
    const json j = json::parse(text);
    CUSEG_CHECK(j.is_object(), "training configuration: not a JSON object");
    TrainConfig c;
    for (const TrainOption& o : table())
      if (stored(o) && j.contains(o.key)) set_field_json(c, o, j.at(o.key));
    return c;
  } catch (const json::exception& e) {
    throw_error(str_cat("training configuration: ", e.what()));
  }
}

TrainConfig resumed_config(const TrainConfig& stored_config, const TrainConfig& given,
                           const std::function<bool(const std::string& flag)>& given_flag) {
  TrainConfig c = stored_config;
  for (const TrainOption& o : table()) {
    const bool on_command_line = !o.flag.empty() && given_flag(o.flag);
    if (o.on_resume == OnResume::CommandOnly || (o.on_resume == OnResume::MayChange && on_command_line)) {
      for (const std::string& key : option_fields(o)) copy_field(c, given, key);
    } else if (o.on_resume == OnResume::MustMatch && on_command_line) {
      for (const std::string& key : option_fields(o)) {
        const json a = field_json(given, row_of_key(key)), b = field_json(stored_config, row_of_key(key));
        CUSEG_CHECK(a == b, o.flag, ": ", a.dump(), " differs from the stored ", b.dump(),
                    " (--resume continues with the stored configuration)");
      }
    }
  }
  return c;
}

std::vector<std::string> flags_that_may_change_on_resume() { return may_change(table()); }

std::string resume_help() { return resume_help_of(table()); }

}  // namespace cuseg
