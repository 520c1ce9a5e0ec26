// The training loop behind seg_train and seg_sweep: data (a folder or the built-in synthetic
// set), the U-Net, the loss, the regularized optimizer and the LR schedule, run for some epochs
// with an evaluation after each.
//
// In `out`: last.safetensors after every epoch (and when stopped), best.safetensors whenever the
// validation mIoU improves, log.jsonl with one JSON line per epoch (every metric, per-class IoU,
// learning rate, loss, penalty, regularized objective, sparsity, weight norm, throughput, data
// wait, time), and config.json (the configuration); both say where the run ran ("world": the
// number of ranks and each rank's host, device and the line saying what computed there).
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

#include "cuseg/data/dataset.h"
#include "cuseg/layers/unet.h"
#include "cuseg/model/metrics.h"
#include "cuseg/train/train_config.h"

namespace cuseg {

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
