// The training loop behind seg_train and seg_sweep: data (a folder or the built-in synthetic
// set), the U-Net, the loss, the regularized optimizer and the LR schedule, run for some epochs
// with an evaluation after each.
//
// In `out`: last.safetensors after every epoch (and when stopped), best.safetensors whenever the
// validation mIoU improves, log.jsonl with one JSON line per epoch (every metric, per-class IoU,
// learning rate, loss, penalty, regularized objective, sparsity, weight norm, throughput, data
// wait, time), and config.json.
//
// Resuming (TrainConfig::resume) restores the model, the optimizer's state and step count, the
// epoch and the batch within it, the best score and the early-stopping count; the data order and
// augmentation are functions of (seed, epoch, batch) and the schedule of the step, so on the CPU a
// resumed run continues bit for bit like an uninterrupted one.
//
// A NaN or infinite loss stops the run (status NonFinite) naming the step and the first layer
// whose output went non-finite; so does a NaN or infinite gradient under a finite loss, naming
// the first layer in backward order with one. The last checkpoint on disk is the last good one.
// With skip_nonfinite the step is skipped and counted instead.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cuseg/data/augment.h"
#include "cuseg/data/dataset.h"
#include "cuseg/layers/unet.h"
#include "cuseg/model/metrics.h"

namespace cuseg {

struct TrainConfig {
  // Data.
  std::string data;               // dataset folder; empty: the built-in synthetic dataset
  int synthetic_train = 480, synthetic_val = 96;  // synthetic split sizes
  int channels = 3;               // input channels: 1, 3, or 4 (keep alpha)
  int height = 64, width = 64;    // training size
  bool augment = false;
  AugmentConfig augmentation;     // its size is set from height/width
  bool skip_bad = false;
  int ignore_index = 255;
  int folds = 0, fold = 0;        // folds ≥ 2: validate on fold `fold` of the train split
  int workers = 2;                // loader threads

  // Model (in_channels and classes come from the data).
  int base = 16, depth = 4;
  bool batch_norm = true;
  std::string upsample = "transposed";  // or "bilinear"
  double dropout = 0;                   // at the bottleneck

  // Optimization.
  int epochs = 3, batch = 8, accumulate = 1;
  std::string optimizer = "adam";
  double lr = 3e-3;
  std::string schedule = "poly";  // constant, step, cosine, poly
  int64_t warmup = 0;
  std::string penalty = "none";   // none, l1, l1-prox, l2, elastic, elastic-prox, smooth-l1
  double l1 = 0, l2 = 0, beta = 1;
  double weight_decay = -1;       // decoupled; < 0: the optimizer's default (adamw: 0.01)
  double max_grad_norm = 0;
  std::string loss = "ce+dice";
  std::string class_weights = "none";  // none, auto (median frequency), or "w1,w2,…"
  double label_smoothing = 0, focal_gamma = 2;
  int patience = 0;               // early stopping on val mIoU; 0: off
  bool skip_nonfinite = false;

  uint64_t seed = 0;
  std::string device = "auto";    // auto, cpu, cuda, cuda:N
  std::string backend = "auto";   // auto, reference, fast, cuda, cudnn: kernels/backend.h
  int threads = 0;                // CPU threads for the ops (process-wide); 0: every core
  std::string precision = "f32";  // of the convolutions: f32 or bf16 (the fast CPU path)
  std::string out = "runs/train";
  std::string tensorboard;        // TensorBoard event files' folder; empty: OUT/tb; "none": none
  std::string init_from;          // start from these PyTorch weights (interop/torch_weights.h)
  bool resume = false;            // continue the run in `out` from last.safetensors
  int64_t stop_after_steps = 0;   // stop (as if interrupted) after this many steps of this call
  bool progress = true;           // a progress bar on a terminal, else a line per epoch
  bool quiet = false;             // nothing on stdout
  double collective_timeout = 300;  // data parallel: seconds a rank waits in a collective
  int sync_bn = -1;  // data parallel: batch norm over every rank's batch: 1, 0, −1 (with batch norm, several ranks)
  std::string collectives = "auto";  // data parallel, GPU ranks: auto, nccl (sums on the GPUs), mpi (through the host)

  void validate() const;
  std::string to_json() const;
  static TrainConfig from_json(const std::string& text);
};

struct EpochReport {
  int64_t epoch = 0, steps = 0;    // 0-based epoch; optimizer steps so far
  double lr = 0;                   // at the epoch's last step
  double train_loss = 0;           // mean over the epoch's batches
  double penalty = 0, objective = 0;  // R(w) and train_loss + R(w)
  double val_loss = 0;
  Metrics val;
  double sparsity = 0, weight_norm = 0;  // over the penalized parameters
  double images_per_second = 0, data_wait_fraction = 0, seconds = 0;
  int64_t skipped_steps = 0, bad_samples = 0;
  bool best = false;
};

enum class TrainStatus { Finished, EarlyStopped, Interrupted, NonFinite };

struct TrainResult {
  TrainStatus status = TrainStatus::Finished;
  std::string message;                 // one line, for the user
  std::vector<EpochReport> epochs;     // of this call
  double best_miou = -1;
  int64_t best_epoch = -1;
};

class Communicator;

// Data parallelism (a Communicator of N ranks, e.g. world() under mpirun): every rank runs the
// same Trainer on its part of each global batch (--batch, split in rank order; it must divide
// evenly; its dropout masks that part of one process's), the gradients are summed over the ranks before each optimizer step and divided by
// N·(batches accumulated), and the loss and the stop decisions are agreed on, so every rank
// takes the same steps with the same weights. Validation is sharded the same way and its
// confusion matrix and loss summed, so the metrics are those of the whole split. Rank 0 alone
// writes checkpoints, logs, TensorBoard files and progress. Batch norm is synchronized
// (sync_bn, dist/sync_batch_norm.h): its statistics are those of the global batch, so N ranks on
// a global batch of B take the steps of one process on B, to float rounding of the sums' order.
// With sync_bn 0 each rank normalizes its own part, and the running statistics saved are rank 0's.
// A GPU rank takes the GPU of its local rank; GPU ranks sum their gradients on the GPUs with
// NCCL where they can (collectives, dist/communicator.h's communicator_for), overlapped with the
// backward. A training step's loss is the global batch's (Loss::synchronize).
class Trainer {
 public:
  explicit Trainer(const TrainConfig& config, std::shared_ptr<Communicator> ranks = nullptr);
  ~Trainer();

  // The configuration stored in `out`'s last checkpoint (to resume with).
  static TrainConfig stored_config(const std::string& out);

  TrainResult run();
  // Called after each epoch with its log.jsonl line (JSON); returning false ends the run there,
  // its checkpoint written, as an interruption (TrainStatus::Interrupted; --resume continues it).
  void on_epoch(std::function<bool(const std::string& log_line)> callback);

  Graph& model();
  Device device() const;
  // Metrics of the current model on a split (no augmentation), and its mean loss.
  Metrics evaluate(bool train_split, double* mean_loss = nullptr);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// The built-in dataset's split ("train" or "val") as a run with this configuration sees it.
std::unique_ptr<SegmentationDataset> synthetic_split(const TrainConfig& config, const std::string& split);

// Asks running trainers to stop after their current step and write a checkpoint: safe to call
// from a signal handler. stop_signal() is the signal given (0: none).
void request_stop(int signal);
int stop_signal();
void clear_stop_request();

const char* to_string(TrainStatus status);

}  // namespace cuseg
