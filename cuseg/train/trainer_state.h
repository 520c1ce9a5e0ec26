// Internal to the trainer: its state, and the parts of a run, each in the file a reader looks for
//   trainer.cpp             Trainer: construction (what runs where) and run(), the loop
//   train_config.cpp        the configuration: the options' table, validation, JSON
//   trainer_setup.cpp       data, model, optimizer, loss, loader, and what a resumed run restores
//   trainer_step.cpp        one batch: forward, loss, backward, the NaN policy, the optimizer step
//   trainer_graph.cpp       the same as one CUDA graph launch (--cuda-graph)
//   trainer_report.cpp      evaluation, the epoch's report, log.jsonl, TensorBoard, the printed line
//   trainer_checkpoint.cpp  the training state in a checkpoint; last and best
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cuseg/data/loader.h"
#include "cuseg/dist/communicator.h"
#include "cuseg/dist/gradient_sum.h"
#include "cuseg/kernels/compute.h"
#include "cuseg/losses/loss.h"
#include "cuseg/optim/optimizer.h"
#include "cuseg/model/checkpoint.h"
#include "cuseg/train/tensorboard_log.h"
#include "cuseg/train/trainer.h"

namespace cuseg {

using Clock = std::chrono::steady_clock;

struct Trainer::State {
  using json = nlohmann::json;
  State();
  ~State();  // both where GraphSteps is complete (trainer_graph.cpp)

  // ---- what runs where (trainer.cpp)
  TrainConfig config;
  std::shared_ptr<Communicator> ranks;
  bool writer = true;  // rank 0: checkpoints, logs, TensorBoard, progress
  Device device;
  // Where the run runs, for config.json and every log.jsonl line: {"size": N, "ranks": [{"rank",
  // "host", "device", "implementation", "isa", "compute": compute_description's line}, ...]}.
  json world;
  std::function<bool(const std::string&)> on_epoch;  // Trainer::on_epoch's callback
  bool stopped_by_callback = false;

  // ---- setup (trainer_setup.cpp)
  std::unique_ptr<SegmentationDataset> train_base, val_base;
  std::unique_ptr<SubsetDataset> train_fold, val_fold;
  SegmentationDataset* train = nullptr;
  SegmentationDataset* val = nullptr;
  ModelInfo info;
  std::vector<double> class_weights;  // empty: none
  std::unique_ptr<Graph> model;
  std::unique_ptr<GradientSum> gradient_sum;  // over the ranks, before each step
  std::map<const Layer*, std::vector<size_t>> gradients_of;  // a layer's, as gradient_sum numbers them
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<Loss> loss;
  LrSchedule schedule;
  std::unique_ptr<BatchLoader> train_loader;
  int64_t steps_per_epoch = 0;
  std::unique_ptr<TensorBoardLog> tensorboard;  // null with --tensorboard none

  void open_data();
  // The model and everything that trains it; with `resume_from` (a checkpoint), its state.
  void build(const std::string& resume_from);
  void describe_model();                      // info: the network, classes, size
  json read_resumed_inputs(const std::string& checkpoint);  // normalization, class weights; the train state
  void measure_inputs();                      // the same from the training split
  void build_model(bool from_init_weights);
  void build_optimizer();
  void build_loss();
  void build_train_loader();
  LoaderConfig loader_config(bool sharded) const;  // the batch, size, normalization, …; this rank's part
  void make_gradient_sum();

  // ---- one batch (trainer_step.cpp)
  // Training state, saved in every checkpoint.
  int64_t epoch = 0, batch = 0;  // the next batch to train on
  double best_miou = -1;
  int64_t best_epoch = -1, epochs_without_gain = 0, skipped_steps = 0;
  double epoch_loss_sum = 0;
  int64_t epoch_loss_batches = 0;
  Tensor loss_value;  // [1] on the device

  // The optimizer step in progress: its batches so far, those with a finite loss, their losses.
  struct Step {
    int64_t batches = 0, finite = 0;
    double loss_sum = 0;
  };
  struct BatchDone {
    bool step_ended = false;  // this batch ended an optimizer step (taken, or skipped as non-finite)
    std::string nonfinite{};  // not empty: why the run stops here
  };
  // Forward, loss and backward of `b` (gradients accumulate); after a step's last batch, the
  // gradient sum over the ranks and the optimizer step. A NaN or infinite loss or gradient skips
  // the step with skip_nonfinite, else stops the run, naming the first layer that went non-finite.
  BatchDone train_batch(const Batch& b, Step& step);
  double forward_and_loss(const Batch& b, Tensor& dlogits);  // the loss: the mean over the ranks
  void backward(const Tensor& dlogits, bool last_of_step);
  std::string take_step(const Step& step, int64_t batch_index);  // empty, or why the run stops
  std::string nonfinite_message(const std::string& what, int64_t batch_index, const std::string& where) const;
  double epoch_mean_loss() const { return epoch_loss_sum / double(std::max<int64_t>(1, epoch_loss_batches)); }
  bool agreed(bool local);  // whether any rank's `local` is true
  double mean_over_ranks(double value, const std::string& what);

  // ---- a step as one CUDA graph launch, --cuda-graph (trainer_graph.cpp)
  struct GraphSteps;
  std::unique_ptr<GraphSteps> graph_steps;  // null: eager steps
  void start_graph_steps();                 // refuses what a replayed step cannot do
  void reset_graph_steps();                 // at the epoch's start: the device's counters from the host's
  BatchDone train_batch_in_graph(const Batch& b);
  // The device's counters folded into the host's (a copy that waits for the GPU); throws a label
  // check's error; returns why the run stops (a non-finite step), or "".
  std::string read_graph_steps();

  // ---- evaluation and reporting (trainer_report.cpp)
  std::unique_ptr<BatchLoader> eval_loader(SegmentationDataset& dataset, bool sharded = true) const;
  Metrics evaluate(SegmentationDataset& dataset, double* mean_loss);
  // The epoch just trained (from `start`, `train_seconds` of it training on `images`), evaluated.
  EpochReport report_epoch(Clock::time_point start, double train_seconds, int64_t images);
  void log_epoch(const EpochReport& r);  // log.jsonl, the callback, TensorBoard
  void print_epoch(const EpochReport& r) const;
  void log_val_images(int64_t step);
  json gather_world(const ComputeInfo& compute);  // from every rank (a collective)
  void start_outputs(const std::string& compute);  // the first lines printed, a fresh log, config.json, TensorBoard

  // ---- checkpoints (trainer_checkpoint.cpp)
  std::string path(const char* file) const { return (std::filesystem::path(config.out) / file).string(); }
  json train_state() const;
  void restore_train_state(const json& state);
  void save(const char* file);
  // The epoch of `r` done: the state saved from here resumes at the next one, in last.safetensors
  // and, at a better val mIoU, best.safetensors.
  void finish_epoch(const EpochReport& r);
  std::string stopped_message(const std::string& where) const;  // where to resume from
};

double seconds_since(Clock::time_point t);

}  // namespace cuseg
