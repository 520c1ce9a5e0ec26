// A training run's configuration (TrainConfig) and the one table that describes its options
// (train_options()): for every option its flag, the configuration field(s) it sets, its help, the
// values it takes and what --resume does with it. Everything else is made from that table or
// checked against it: seg_train's and seg_sweep's CLI11 options (apps/train_options.h),
// cuseg.train's keyword arguments (python/cuseg_python.cpp), config.json and the checkpoint's
// stored configuration (to_json / from_json), the resume policy (resumed_config) and --resume's
// help text; the README's flag table and its resume sentence are compared with it by the tests
// (tests/apps/tools_test.cpp), defaults included.
//
// The library knows nothing of CLI11: the table is plain data, which apps/ turns into options.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "cuseg/data/augment.h"

namespace cuseg {

// Defaults are the members' initializers; the table reads them from TrainConfig{}.
struct TrainConfig {
  // Data.
  std::string data;               // dataset folder; empty: the built-in synthetic dataset
  int synthetic_train = 480, synthetic_val = 96;  // synthetic split sizes
  double synthetic_label_noise = 0;  // the share of the training split's shapes mislabelled
  int channels = 3;               // input channels: 1, 3, or 4 (keep alpha)
  int height = 64, width = 64;    // training size
  bool augment = false;
  AugmentConfig augmentation;     // its size is set from height/width
  bool skip_bad = false;
  int ignore_index = 255;
  int folds = 0, fold = 0;        // folds ≥ 2: validate on fold `fold` of the train split
  int workers = 2;                // loader threads

  // Model (in_channels and classes come from the data): unet-s, or a model zoo network
  // (layers/model_config.h).
  std::string model = "unet-s";
  std::string encoder = "resnet34";  // the model zoo's
  int encoder_depth = 5;
  int encoder_output_stride = 16;                 // deeplabv3plus: 8 or 16
  std::string decoder_atrous_rates = "12,24,36";  // deeplabv3plus: the ASPP's three
  std::string decoder_channels;   // "256,128,64,32,16"; empty: the architecture's default
  int decoder_pyramid_channels = 256;        // fpn
  int decoder_segmentation_channels = 128;   // fpn: a multiple of 32 (GroupNorm's groups)
  std::string decoder_merge_policy = "add";  // fpn: add or cat
  double decoder_dropout = -1;    // fpn's Dropout2d, deeplabv3plus's ASPP dropout; < 0: the architecture's
  std::string decoder_attention = "none";  // unet: none or scse
  double drop_path_rate = 0.2;    // efficientnet's drop connect (SMP's 0.2)
  int base = 16, depth = 4;       // unet-s's
  bool batch_norm = true;
  std::string upsample = "transposed";
  double dropout = 0;             // at the bottleneck
  bool binary = false;            // one output channel for two-class data (a sigmoid head)

  // Optimization.
  int epochs = 3, batch = 8, accumulate = 1;
  std::string optimizer = "adam";
  double lr = 3e-3;
  std::string schedule = "poly";
  int64_t warmup = 0;
  std::string penalty = "none";
  double l1 = 0, l2 = 0, beta = 1;
  double weight_decay = -1;       // decoupled; < 0: the optimizer's default (adamw: 0.01)
  double max_grad_norm = 0;
  std::string loss = "ce+dice";
  std::string class_weights = "none";  // none, auto (median frequency), or "w1,w2,…"
  double label_smoothing = 0, focal_gamma = 2;
  int patience = 0;               // early stopping on val mIoU; 0: off
  bool skip_nonfinite = false;
  bool cuda_graph = false;        // each step one CUDA graph launch (trainer_graph.cpp)

  uint64_t seed = 0;
  std::string device = "auto";    // auto, cpu, cuda, cuda:N
  std::string backend = "auto";   // auto, reference, fast, cuda, cudnn: kernels/backend.h
  int threads = 0;                // CPU threads for the ops (process-wide); 0: every core
  std::string precision = "f32";  // of the convolutions: f32 or bf16 (the fast CPU path)
  std::string out = "runs/train";
  std::string tensorboard;        // TensorBoard event files' folder; empty: OUT/tb; "none": none
  std::string init_from;          // start from these PyTorch weights (interop/torch_weights.h)
  std::string encoder_weights;    // start the encoder from these ImageNet weights (torchvision's)
  bool resume = false;            // continue the run in `out` from last.safetensors
  int64_t stop_after_steps = 0;   // stop (as if interrupted) after this many steps of this call
  int64_t stop_after_epochs = 0;  // stop (as if interrupted) once this many epochs are done (of the run)
  bool progress = true;           // a progress bar on a terminal, else a line per epoch
  bool quiet = false;             // nothing on stdout
  double collective_timeout = 300;  // data parallel: seconds a rank waits in a collective
  int sync_bn = -1;               // data parallel: batch norm over every rank's batch (1, 0; −1: with batch norm)
  std::string collectives = "auto";  // data parallel, GPU ranks: how gradients are summed

  // Throws a one-line error naming the flag for a value the table does not allow, and for the
  // checks no single value can make (fold within folds, the data folder, …).
  void validate() const;
  // The stored fields (the table's, less those of the command alone), as config.json holds them.
  std::string to_json() const;
  // Fields missing from `text` keep their defaults.
  static TrainConfig from_json(const std::string& text);
};

// What --resume does with an option.
enum class OnResume {
  MustMatch,    // part of what the run is: the stored value is used, and a given one must equal it
  MayChange,    // how the run is carried on (epochs, device, timeouts, …): a given value replaces it
  CommandOnly,  // never stored (--resume, --no-progress, --stop-after-steps): always the command's
};

// A TrainConfig member, as the table names it.
using TrainField = std::variant<std::monostate, bool TrainConfig::*, int TrainConfig::*, int64_t TrainConfig::*,
                                uint64_t TrainConfig::*, double TrainConfig::*, std::string TrainConfig::*,
                                AugmentConfig TrainConfig::*>;

// Checks on a flag's value beyond its type and its allowed values.
enum class OptionCheck {
  None,
  Positive,     // > 0
  ThreadCount,  // 1 to the cores this process may use on the command line; 0 (every core) in a TrainConfig
  ExistingFile, // a file that exists when the flag is given (not in validate(): a resumed run reads it no more)
};

// One row of the table: a flag and the field it sets, a flag that is no single field (--size,
// --model: `text` and `sets`), or a field that no flag sets (folds, augmentation).
struct TrainOption {
  std::string flag{};                // "--lr"; empty: no flag
  std::string key{};                 // the field's name in config.json ("lr"); empty: no field of its own
  TrainField field{};                // the member `key` names
  std::string help{};
  OnResume on_resume = OnResume::MustMatch;
  std::vector<std::string> allowed{};  // the values the flag takes, as text; empty: any of its type
  // The name of a value whose default means "none" or "automatic" and is not shown ("DIR", "N");
  // empty: the default is shown, in --help and in the README's table.
  std::string placeholder{};
  // A bare flag (no value): what it sets its field to ("1"; --no-progress "0", --keep-alpha "4").
  // Empty: the flag takes a value.
  std::string switch_value{};
  OptionCheck check = OptionCheck::None;
  bool sweep = true;  // seg_sweep takes it too (not --resume and --stop-after-steps: one run's)
  // A flag that is no single field: its value as text, and how text sets the fields in `sets`.
  std::string (*get_text)(const TrainConfig&) = nullptr;
  void (*set_text)(TrainConfig&, const std::string&) = nullptr;  // throws cuseg::Error for bad text
  std::vector<std::string> sets{};
};

// Every option, in the order --help lists them.
const std::vector<TrainOption>& train_options();
// The row of `flag` ("--lr"); throws for a flag the table does not have.
const TrainOption& train_option(const std::string& flag);
// The config.json fields `option` sets: its key, or `sets` (--size: height and width).
std::vector<std::string> option_fields(const TrainOption& option);
// `option`'s value in `config` as text: "0.003", "poly", "1" for true, "64" or "320x240" for --size.
std::string option_text(const TrainConfig& config, const TrainOption& option);
// Sets `option`'s field(s) from text (a switch's `switch_value`, a flag's value); throws cuseg::Error.
void set_option_text(TrainConfig& config, const TrainOption& option, const std::string& text);

// The configuration a run resumed with `given` continues with: `stored` (the checkpoint's), with
// the fields of MayChange flags the command gave (`given_flag`) and every CommandOnly field
// taken from `given`. A MustMatch flag given with another value than the stored one throws
// cuseg::Error naming the flag and both values.
TrainConfig resumed_config(const TrainConfig& stored, const TrainConfig& given,
                           const std::function<bool(const std::string& flag)>& given_flag);
// The flags that may change on --resume ("--epochs", …), in the table's order.
std::vector<std::string> flags_that_may_change_on_resume();
// --resume's help: what it does and the flags above.
std::string resume_help();

// "256" or "320x240" (width x height) → height, width; throws cuseg::Error for anything else.
void parse_image_size(const std::string& text, int& height, int& width);

}  // namespace cuseg
