#include "cuseg/train/trainer.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cuseg/core/atomic_file.h"
#include "cuseg/core/number_list.h"
#include "cuseg/core/safetensors.h"
#include "cuseg/data/folder_dataset.h"
#include "cuseg/dist/communicator.h"
#include "cuseg/dist/gradient_sum.h"
#include "cuseg/data/loader.h"
#include "cuseg/data/synthetic.h"
#include "cuseg/layers/layers.h"
#include "cuseg/losses/loss.h"
#include "cuseg/interop/torch_weights.h"
#include "cuseg/optim/optimizer.h"
#include "cuseg/train/checkpoint.h"
#include "cuseg/infer/predict.h"
#include "cuseg/train/progress.h"
#include "cuseg/train/tensorboard_log.h"
#include "cuseg/kernels/compute.h"

namespace cuseg {

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::atomic<int> g_stop_signal{0};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

std::unique_ptr<SegmentationDataset> synthetic_split(const TrainConfig& c, const std::string& split) {
  CUSEG_CHECK(split == "train" || split == "val", "synthetic dataset: no split '", split, "'");
  SyntheticConfig sc;
  sc.height = c.height;
  sc.width = c.width;
  sc.channels = c.channels;
  sc.seed = c.seed;
  return split == "train" ? std::make_unique<SyntheticDataset>(sc, 0, c.synthetic_train)
                          : std::make_unique<SyntheticDataset>(sc, kSyntheticValFirst, c.synthetic_val);
}

void request_stop(int signal) { g_stop_signal.store(signal == 0 ? -1 : signal); }
int stop_signal() { return g_stop_signal.load(); }
void clear_stop_request() { g_stop_signal.store(0); }

const char* to_string(TrainStatus status) {
  switch (status) {
    case TrainStatus::Finished: return "finished";
    case TrainStatus::EarlyStopped: return "early-stopped";
    case TrainStatus::Interrupted: return "interrupted";
    case TrainStatus::NonFinite: return "non-finite";
  }
  return "?";
}

// ---- the trainer's state ---------------------------------------------------------------------

struct Trainer::State {
  TrainConfig config;
  std::shared_ptr<Communicator> ranks;
  bool writer = true;  // rank 0: checkpoints, logs, TensorBoard, progress
  Device device;
  std::function<bool(const std::string&)> on_epoch;  // Trainer::on_epoch's callback
  bool stopped_by_callback = false;
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

  // Training state, saved in every checkpoint.
  int64_t epoch = 0, batch = 0;  // the next batch to train on
  double best_miou = -1;
  int64_t best_epoch = -1, epochs_without_gain = 0, skipped_steps = 0;
  double epoch_loss_sum = 0;
  int64_t epoch_loss_batches = 0;

  std::string path(const char* file) const { return (fs::path(config.out) / file).string(); }
  void open_data();
  void build(const std::string& resume_from);
  json train_state() const;
  void restore_train_state(const json& state);
  void save(const char* file);
  std::unique_ptr<BatchLoader> eval_loader(SegmentationDataset& dataset, bool sharded = true) const;
  bool agreed(bool local);  // whether any rank's `local` is true
  double mean_over_ranks(double value, const std::string& what);
  void make_gradient_sum();
  Metrics evaluate(SegmentationDataset& dataset, double* mean_loss);
  void log_epoch(const EpochReport& r);
  void log_val_images(int64_t step);
};

void Trainer::State::open_data() {
  const TrainConfig& c = config;
  if (c.data.empty()) {
    train_base = synthetic_split(c, "train");
    val_base = synthetic_split(c, "val");
  } else {
    FolderDatasetConfig fc;
    fc.root = c.data;
    fc.channels = c.channels;
    fc.ignore_index = c.ignore_index;
    fc.skip_bad = c.skip_bad;
    fc.split = "train";
    auto t = std::make_unique<FolderDataset>(fc);
    fc.classes = t->classes();
    if (c.folds < 2) {
      fc.split = "val";
      val_base = std::make_unique<FolderDataset>(fc);
    }
    train_base = std::move(t);
  }
  train = train_base.get();
  val = val_base.get();
  if (c.folds >= 2) {
    train_fold = std::make_unique<SubsetDataset>(*train_base, fold_indices(train_base->size(), c.folds, c.fold, false));
    val_fold = std::make_unique<SubsetDataset>(*train_base, fold_indices(train_base->size(), c.folds, c.fold, true));
    train = train_fold.get();
    val = val_fold.get();
  }
}

void Trainer::State::build(const std::string& resume_from) {
  const TrainConfig& c = config;
  info.config.in_channels = train->channels();
  info.config.classes = train->classes();
  info.config.base = c.base;
  info.config.depth = c.depth;
  info.config.batch_norm = c.batch_norm;
  info.config.upsample = c.upsample == "bilinear" ? UNetUpsample::Bilinear : UNetUpsample::TransposedConv;
  info.config.bottleneck_dropout = c.dropout;
  info.config.seed = c.seed;
  info.config.validate();
  const int multiple = 1 << (c.depth - 1);
  CUSEG_CHECK(c.height % multiple == 0 && c.width % multiple == 0, "--size ", c.height, "x", c.width,
              ": a depth-", c.depth, " U-Net needs multiples of ", multiple);
  info.class_names = train->class_names();
  info.palette = train->palette();
  info.height = c.height;
  info.width = c.width;
  info.ignore_index = c.ignore_index;

  json stored_state;
  if (!resume_from.empty()) {
    // The header alone: load_checkpoint below reads the tensors, once, into the model built here.
    const ModelInfo stored = ModelInfo::from_metadata(resume_from, load_safetensors_metadata(resume_from));
    info.normalization = stored.normalization;
    class_weights = json::parse(stored.metadata.at("class_weights")).get<std::vector<double>>();
    stored_state = json::parse(stored.metadata.at("train_state"));
  } else {
    const bool need_weights = c.class_weights == "auto";
    const DatasetStatistics stats = compute_statistics(*train, c.ignore_index, c.workers);
    info.normalization = stats.normalization;
    if (need_weights) class_weights = median_frequency_weights(stats);
    else if (c.class_weights != "none") {
      class_weights = parse_non_negative_list(c.class_weights, "class weights");
      CUSEG_CHECK(int(class_weights.size()) == info.config.classes, "class weights: ", class_weights.size(),
                  " given for ", info.config.classes, " classes");
    }
  }

  model = build_unet(info.config);
  for (Layer* l : model->layers()) {
    if (auto* bn = dynamic_cast<BatchNorm2d*>(l); bn && ranks->size() > 1 && c.sync_bn != 0) bn->synchronize(ranks);
    if (auto* d = dynamic_cast<Dropout*>(l)) d->set_part(ranks->rank(), ranks->size());
  }
  // Weights trained elsewhere; a resumed run has its own, from the checkpoint.
  if (!c.init_from.empty() && resume_from.empty()) load_torch_state_dict(*model, c.init_from);
  model->to(device);
  std::vector<ParamRef> params;
  for (Parameter* p : model->parameters()) params.push_back({p->name, p->value, p->grad, p->no_decay});
  OptimizerConfig oc = OptimizerConfig::named(c.optimizer);
  oc.penalty = Penalty::parse(c.penalty, c.l1, c.l2, c.beta);
  if (c.weight_decay >= 0) oc.weight_decay = c.weight_decay;
  oc.max_grad_norm = c.max_grad_norm;
  optimizer = std::make_unique<Optimizer>(oc, params);
  optimizer->set_backend(parse_backend(c.backend));

  LossOptions lo;
  lo.backend = parse_backend(c.backend);
  lo.ignore_index = c.ignore_index;
  lo.label_smoothing = c.label_smoothing;
  lo.focal_gamma = c.focal_gamma;
  if (!class_weights.empty()) {
    std::vector<float> w(class_weights.begin(), class_weights.end());
    lo.class_weights = Tensor::from_vector(w, Shape{int64_t(w.size())}).to(device);
  }
  loss = make_loss(c.loss, lo);
  if (ranks->size() > 1) loss->synchronize(ranks);  // a step's loss is the global batch's

  LoaderConfig lc;
  lc.batch = c.batch;
  lc.height = c.height;
  lc.width = c.width;
  lc.shuffle = true;
  lc.drop_last = train->size() >= size_t(c.batch);  // batch norm needs more than one sample
  lc.augment = c.augment;
  lc.augmentation = c.augmentation;
  lc.augmentation.ignore_index = c.ignore_index;
  lc.normalization = info.normalization;
  lc.workers = c.workers;
  lc.seed = c.seed;
  lc.device = device;
  lc.shard = ranks->rank();
  lc.shards = ranks->size();
  train_loader = std::make_unique<BatchLoader>(*train, lc);
  steps_per_epoch = (train_loader->batches() + c.accumulate - 1) / c.accumulate;
  schedule = LrSchedule::parse(c.schedule, c.lr, int64_t(c.epochs) * steps_per_epoch);
  schedule.warmup = c.warmup;
  schedule.validate();

  if (!resume_from.empty()) {
    load_checkpoint(resume_from, *model, info.config, optimizer.get());
    restore_train_state(stored_state);
  }
}

json Trainer::State::train_state() const {
  json dropout = json::object();
  for (Layer* l : model->layers())
    if (auto* d = dynamic_cast<Dropout*>(l)) dropout[d->name()] = d->offset();
  return json{{"epoch", epoch},
              {"batch", batch},
              {"steps", optimizer->steps()},
              {"best_miou", best_miou},
              {"best_epoch", best_epoch},
              {"epochs_without_gain", epochs_without_gain},
              {"skipped_steps", skipped_steps},
              // The epoch's running loss, so a run resumed mid-epoch logs the same mean.
              {"epoch_loss_sum", epoch_loss_sum},
              {"epoch_loss_batches", epoch_loss_batches},
              {"dropout_offsets", dropout}};
}

void Trainer::State::restore_train_state(const json& s) {
  epoch = s.at("epoch").get<int64_t>();
  batch = s.at("batch").get<int64_t>();
  best_miou = s.at("best_miou").get<double>();
  best_epoch = s.at("best_epoch").get<int64_t>();
  epochs_without_gain = s.at("epochs_without_gain").get<int64_t>();
  skipped_steps = s.at("skipped_steps").get<int64_t>();
  epoch_loss_sum = s.at("epoch_loss_sum").get<double>();
  epoch_loss_batches = s.at("epoch_loss_batches").get<int64_t>();
  for (auto& [name, offset] : s.at("dropout_offsets").items())
    dynamic_cast<Dropout&>(model->layer(name)).set_offset(offset.get<uint64_t>());
  CUSEG_CHECK(batch >= 0 && batch <= train_loader->batches(), "checkpoint: batch ", batch, " of an epoch of ",
              train_loader->batches(), " (the data changed since?)");
}

void Trainer::State::save(const char* file) {
  if (!writer) return;
  std::map<std::string, std::string> meta = info.to_metadata();
  meta["train_state"] = train_state().dump();
  meta["train_config"] = config.to_json();
  meta["class_weights"] = json(class_weights).dump();
  save_checkpoint(path(file), *model, info.config, optimizer.get(), meta);
}

bool Trainer::State::agreed(bool local) {
  if (ranks->size() == 1) return local;
  double any = local ? 1 : 0;
  ranks->allreduce_sum(&any, 1, "the agreement to stop");
  return any > 0;
}

double Trainer::State::mean_over_ranks(double value, const std::string& what) {
  ranks->allreduce_sum(&value, 1, what);
  return value / double(ranks->size());
}

// The gradients in the order the backward finishes them (the last layer's first), so that the sum
// over the ranks can start on each bucket as soon as the backward has completed it.
void Trainer::State::make_gradient_sum() {
  model->compile({{"image", Shape{1, config.height, config.width, info.config.in_channels}}});
  std::map<const Layer*, Layer*> layers;
  for (Layer* l : model->layers()) layers[l] = l;
  const std::vector<Graph::NodeRef> order = model->execution_order();
  std::vector<Tensor*> gradients;
  for (auto node = order.rbegin(); node != order.rend(); ++node)
    for (Parameter* p : layers.at(&node->layer)->parameters()) {
      gradients_of[&node->layer].push_back(gradients.size());
      gradients.push_back(&p->grad);
    }
  gradient_sum = ranks->gradient_sum(std::move(gradients));
}

std::unique_ptr<BatchLoader> Trainer::State::eval_loader(SegmentationDataset& dataset, bool sharded) const {
  LoaderConfig lc;
  lc.batch = config.batch;
  lc.height = config.height;
  lc.width = config.width;
  lc.normalization = info.normalization;
  lc.workers = config.workers;
  lc.seed = config.seed;
  lc.device = device;
  if (sharded) {
    lc.shard = ranks->rank();
    lc.shards = ranks->size();
  }
  return std::make_unique<BatchLoader>(dataset, lc);
}

Metrics Trainer::State::evaluate(SegmentationDataset& dataset, double* mean_loss) {
  auto loader = eval_loader(dataset);
  model->set_training(false);
  ConfusionMatrix cm(info.config.classes, config.ignore_index, device);
  Tensor loss_value = Tensor::empty(Shape{1}, DType::F32, device), no_grad;
  double loss_sum = 0, rows = 0;
  loader->start_epoch(0);
  Batch b;
  while (loader->next(b)) {
    if (b.images.dim(0) == 0) continue;  // a last batch too small to reach this rank
    model->forward({{"image", b.images}});
    const Tensor& logits = model->get("logits");
    cm.update(logits, b.labels);
    loss->compute(logits, b.labels, loss_value, no_grad);
    loss_sum += double(loss_value.to_vector<float>()[0]) * double(b.images.dim(0));
    rows += double(b.images.dim(0));
  }
  model->set_training(true);
  // The whole split's: counts summed exactly (integers in f64), the loss weighted by rows.
  Tensor counts = cm.counts().clone(), sums = Tensor::from_vector(std::vector<double>{loss_sum, rows}, Shape{2});
  allreduce_sum(*ranks, {&counts, &sums}, "the validation sums");
  const std::vector<double> total = sums.to_vector<double>();
  if (mean_loss) *mean_loss = total[0] / total[1];
  return compute_metrics(counts);
}

void Trainer::State::log_epoch(const EpochReport& r) {
  if (!writer) return;
  json iou = json::object(), dice = json::object();
  for (size_t k = 0; k < r.val.per_class.size(); ++k) {
    const ClassMetrics& m = r.val.per_class[k];
    iou[info.class_names[k]] = m.present ? json(m.iou) : json(nullptr);
    dice[info.class_names[k]] = m.present ? json(m.dice) : json(nullptr);
  }
  const json line{{"epoch", r.epoch + 1},
                  {"steps", r.steps},
                  {"lr", r.lr},
                  {"train_loss", r.train_loss},
                  {"penalty", r.penalty},
                  {"objective", r.objective},
                  {"val_loss", r.val_loss},
                  {"pixel_accuracy", r.val.pixel_accuracy},
                  {"miou", r.val.mean_iou},
                  {"mdice", r.val.mean_dice},
                  {"mprecision", r.val.mean_precision},
                  {"mrecall", r.val.mean_recall},
                  {"iou", iou},
                  {"dice", dice},
                  {"sparsity", r.sparsity},
                  {"weight_norm", r.weight_norm},
                  {"images_per_s", r.images_per_second},
                  {"data_wait", r.data_wait_fraction},
                  {"seconds", r.seconds},
                  {"skipped_steps", r.skipped_steps},
                  {"bad_samples", r.bad_samples},
                  {"best", r.best}};
  std::ofstream out(path("log.jsonl"), std::ios::app);
  CUSEG_CHECK(out.is_open(), path("log.jsonl"), ": cannot open: ", std::strerror(errno));
  out << line.dump() << "\n";
  out.flush();
  CUSEG_CHECK(out.good(), path("log.jsonl"), ": write failed");
  if (on_epoch && !on_epoch(line.dump())) stopped_by_callback = true;
  if (tensorboard) {
    tensorboard->epoch(r.steps, line);
    log_val_images(r.steps);
    tensorboard->flush();
  }
}

void Trainer::State::log_val_images(int64_t step) {
  auto loader = eval_loader(*val, false);
  loader->start_epoch(0);
  Batch b;
  if (!loader->next(b)) return;
  model->set_training(false);
  model->forward({{"image", b.images}});
  const Tensor predicted = argmax_classes(model->get("logits").to(Device::cpu()));
  model->set_training(true);
  Tensor images = b.images.to(Device::cpu());
  if (!info.normalization.empty()) {  // back to [0, 1]: x · std + mean
    const int64_t C = images.dim(3);
    float* x = images.data<float>();
    for (int64_t i = 0; i < images.numel(); ++i)
      x[i] = float(x[i] * info.normalization.std[size_t(i % C)] + info.normalization.mean[size_t(i % C)]);
  }
  tensorboard->val_images(step, images, b.labels.to(Device::cpu()), predicted, b.names, class_colours(info));
}

// ---- Trainer ---------------------------------------------------------------------------------

namespace {

// "cuda" (or "auto" finding a GPU) on several ranks of a machine: each its own GPU.
Device rank_device(const std::string& choice, const Communicator& ranks) {
  const Device d = Device::resolve(choice);
  if (!d.is_cuda() || ranks.local_size() == 1 || choice.starts_with("cuda:")) return d;
  CUSEG_CHECK(ranks.local_size() <= cuda_device_count(), "rank ", ranks.rank(), ": ", ranks.local_size(),
              " ranks on this machine but ", cuda_device_count(), " GPU(s): one GPU per rank");
  return Device::cuda(ranks.local_rank());
}

}  // namespace

Trainer::Trainer(const TrainConfig& config, std::shared_ptr<Communicator> ranks) : s_(std::make_unique<State>()) {
  config.validate();
  s_->config = config;
  s_->ranks = ranks ? std::move(ranks) : single_process();
  Communicator& comm = *s_->ranks;
  comm.set_timeout(config.collective_timeout);
  s_->writer = comm.rank() == 0;
  CUSEG_CHECK(config.batch % comm.size() == 0, "--batch ", config.batch, " does not split evenly over ",
              comm.size(), " ranks");
  // Everything below that reads a file or the data depends on it being the same on every rank.
  check_same_on_every_rank(comm, "training configuration", config.to_json());
  s_->device = rank_device(config.device, comm);
  // GPU ranks sum on their GPUs where NCCL can (every collective after this goes through it).
  s_->ranks = communicator_for(s_->ranks, s_->device, config.collectives);
  const Backend backend = parse_backend(config.backend);
  const Precision precision = parse_precision(config.precision);
  // Ranks on one machine share its cores.
  set_cpu_threads(config.threads == 0 && comm.local_size() > 1 && s_->device.is_cpu()
                      ? std::max(1, cpu_cores() / comm.local_size())
                      : config.threads);
  const std::string compute = compute_description(s_->device, backend, precision);  // refuses what cannot run
  if (s_->writer) fs::create_directories(config.out);
  std::string resume_from;
  if (config.resume) {
    resume_from = s_->path("last.safetensors");
    CUSEG_CHECK(fs::exists(resume_from), resume_from, ": nothing to resume (no checkpoint)");
  }
  s_->open_data();
  check_same_on_every_rank(comm, "dataset",
                           s_->train_base->listing() + "\n" + (s_->val_base ? s_->val_base->listing() : ""));
  CUSEG_CHECK(comm.size() == 1 || s_->train->size() >= size_t(config.batch), "the training split's ",
              s_->train->size(), " samples make no full batch of ", config.batch, " to split over ", comm.size(),
              " ranks");
  s_->build(resume_from);
  s_->model->set_backend(backend);
  s_->model->set_precision(precision);
  s_->make_gradient_sum();
  if (!s_->writer) return;
  if (!config.quiet) {
    std::printf("%s\n", compute.c_str());
    if (s_->ranks->size() > 1 || config.collectives == "nccl")
      std::printf("data parallel: %s, %d images per rank and batch, %s%s\n", s_->ranks->description().c_str(),
                  config.batch / comm.size(), s_->gradient_sum->description().c_str(),
                  !config.batch_norm       ? ""
                  : config.sync_bn != 0 ? ", batch norm synchronized"
                                          : ", batch norm per rank");
  }
  if (!config.resume) {
    std::error_code ignored;
    fs::remove(s_->path("log.jsonl"), ignored);  // a fresh run starts a fresh log
  }
  // The configuration this run trains with; writing it now also finds a folder that cannot be
  // written before any time is spent training.
  write_text_file_atomically(s_->path("config.json"), config.to_json() + "\n");
  if (config.tensorboard != "none")
    s_->tensorboard = std::make_unique<TensorBoardLog>(config.tensorboard.empty() ? s_->path("tb") : config.tensorboard);
}

Trainer::~Trainer() = default;

TrainConfig Trainer::stored_config(const std::string& out) {
  const std::string path = (fs::path(out) / "last.safetensors").string();
  CUSEG_CHECK(fs::exists(path), path, ": nothing to resume (no checkpoint)");
  const ModelInfo info = ModelInfo::from_metadata(path, load_safetensors_metadata(path));
  auto it = info.metadata.find("train_config");
  CUSEG_CHECK(it != info.metadata.end(), path, ": no training configuration stored (not written by seg_train)");
  TrainConfig c = TrainConfig::from_json(it->second);
  c.out = out;
  return c;
}

void Trainer::on_epoch(std::function<bool(const std::string& log_line)> callback) {
  s_->on_epoch = std::move(callback);
}

Graph& Trainer::model() { return *s_->model; }
Device Trainer::device() const { return s_->device; }

Metrics Trainer::evaluate(bool train_split, double* mean_loss) {
  return s_->evaluate(train_split ? *s_->train : *s_->val, mean_loss);
}

TrainResult Trainer::run() {
  State& s = *s_;
  const TrainConfig& c = s.config;
  TrainResult result;
  ProgressBar bar(stderr, c.progress && !c.quiet && s.writer);
  const int64_t batches = s.train_loader->batches();
  const int world = s.ranks->size();
  // The last backward before a step tells the gradient sum which gradients are final.
  const auto announce = [&s](Layer& layer) {
    for (size_t i : s.gradients_of[&layer]) s.gradient_sum->ready(i);
  };
  int64_t steps_this_call = 0;
  Tensor loss_value = Tensor::empty(Shape{1}, DType::F32, s.device);
  s.model->set_training(true);
  s.model->zero_grad();

  auto finish = [&](TrainStatus status, std::string message) {
    bar.finish();
    result.status = status;
    result.message = std::move(message);
    result.best_miou = s.best_miou;
    result.best_epoch = s.best_epoch;
    return result;
  };
  auto stop_requested = [&] {
    return stop_signal() != 0 || s.stopped_by_callback ||
           (c.stop_after_steps > 0 && steps_this_call >= c.stop_after_steps);
  };
  auto nonfinite_message = [&](const std::string& what, int64_t batch, const std::string& where) {
    const std::string last = s.path("last.safetensors");
    return str_cat(what, " at epoch ", s.epoch + 1, ", batch ", batch + 1, "; ", where, ". ",
                   fs::exists(last) ? str_cat("The last good checkpoint is ", last)
                                    : std::string("No checkpoint was written before it"),
                   " (lower --lr, or --skip-nonfinite to skip such steps)");
  };
  auto interrupted = [&](const std::string& where) {  // last.safetensors already holds this state
    return finish(TrainStatus::Interrupted, str_cat("stopped ", where, "; checkpoint ", s.path("last.safetensors"),
                                                    "; continue with: seg_train --resume --out ", c.out));
  };

  while (s.epoch < c.epochs) {
    const auto epoch_start = std::chrono::steady_clock::now();
    s.train_loader->start_epoch(s.epoch, s.batch);
    bar.start(str_cat("epoch ", s.epoch + 1, "/", c.epochs), batches);
    int64_t images = 0, in_group = 0, good_in_group = 0;
    double group_loss = 0;  // the sum over the optimizer step's finite batches
    Batch b;
    while (s.train_loader->next(b)) {
      s.model->forward({{"image", b.images}});
      const Tensor& logits = s.model->get("logits");
      Tensor dlogits = Tensor::empty(logits.shape(), DType::F32, s.device);
      s.loss->compute(logits, b.labels, loss_value, dlogits);
      double value = loss_value.to_vector<float>()[0];
      // Every rank takes the same branch below: a non-finite loss anywhere is one everywhere.
      if (world > 1) value = s.mean_over_ranks(value, str_cat("the loss of step ", s.optimizer->steps() + 1));
      images += b.images.dim(0);
      ++in_group;
      const bool last_of_step = in_group == c.accumulate || b.index == batches - 1;
      if (std::isfinite(value)) {
        if (last_of_step) {
          s.gradient_sum->begin();
          s.model->backward({{"logits", dlogits}}, announce);
        } else {
          s.model->backward({{"logits", dlogits}});
        }
        s.epoch_loss_sum += value;
        ++s.epoch_loss_batches;
        ++good_in_group;
        group_loss += value;
      } else if (c.skip_nonfinite) {
        ++s.skipped_steps;
      } else {
        const std::string layer = s.model->first_nonfinite_output();
        return finish(TrainStatus::NonFinite,
                      nonfinite_message(str_cat("the loss is ", value), b.index,
                                        layer.empty() ? std::string("every layer output is finite (the loss itself overflowed)")
                                                      : str_cat("first non-finite output: layer '", layer, "'")));
      }
      if (last_of_step) {
        if (good_in_group > 0)
          s.gradient_sum->finish(str_cat("the gradient sum of step ", s.optimizer->steps() + 1));
        // A finite loss can still have a non-finite gradient (an overflow in backward): check the
        // gradients before they reach the weights.
        const std::string bad = good_in_group > 0 ? s.model->first_nonfinite_gradient() : std::string();
        if (!bad.empty()) {
          if (!c.skip_nonfinite)
            return finish(TrainStatus::NonFinite,
                          nonfinite_message("a gradient is non-finite", b.index,
                                            str_cat("first in backward order: layer '", bad, "'")));
          ++s.skipped_steps;
        } else if (good_in_group > 0) {
          s.optimizer->step(s.schedule, 1.0 / double(good_in_group * world));
          if (s.tensorboard) s.tensorboard->step_loss(s.optimizer->steps(), group_loss / double(good_in_group));
        }
        s.model->zero_grad();
        in_group = good_in_group = 0;
        group_loss = 0;
        s.batch = b.index + 1;
        ++steps_this_call;
        const double elapsed = seconds_since(epoch_start);
        bar.update(s.batch, double(images) / elapsed, s.epoch_loss_sum / double(std::max<int64_t>(1, s.epoch_loss_batches)));
        if (s.agreed(stop_requested()) && s.batch < batches) {
          s.save("last.safetensors");
          return interrupted(str_cat("at epoch ", s.epoch + 1, ", batch ", s.batch, "/", batches));
        }
      }
    }
    const double train_seconds = seconds_since(epoch_start);
    bar.finish();

    EpochReport r;
    r.epoch = s.epoch;
    r.steps = s.optimizer->steps();
    r.lr = s.schedule.at(std::max<int64_t>(0, r.steps - 1));
    r.train_loss = s.epoch_loss_sum / double(std::max<int64_t>(1, s.epoch_loss_batches));
    r.penalty = s.optimizer->penalty_value();
    r.objective = r.train_loss + r.penalty;
    r.val = s.evaluate(*s.val, &r.val_loss);
    double zeros = 0, numel = 0, sq = 0;
    for (const ParamStats& p : s.optimizer->stats())
      if (p.group == "decay") {
        zeros += double(p.zeros);
        numel += double(p.numel);
        sq += p.l2 * p.l2;
      }
    r.sparsity = numel > 0 ? zeros / numel : 0;
    r.weight_norm = std::sqrt(sq);
    r.images_per_second = double(images) * world / train_seconds;
    r.data_wait_fraction = s.train_loader->wait_seconds() / train_seconds;
    r.seconds = seconds_since(epoch_start);
    r.skipped_steps = s.skipped_steps;
    double bad = double(s.train->bad_samples() + s.val->bad_samples());
    s.ranks->allreduce_sum(&bad, 1, "the bad-sample count");
    r.bad_samples = int64_t(bad);
    r.best = r.val.mean_iou > s.best_miou;

    // The epoch is done: the state saved from here on resumes at the next one.
    s.batch = 0;
    s.epoch_loss_sum = 0;
    s.epoch_loss_batches = 0;
    if (r.best) {
      s.best_miou = r.val.mean_iou;
      s.best_epoch = s.epoch;
      s.epochs_without_gain = 0;
    } else {
      ++s.epochs_without_gain;
    }
    ++s.epoch;
    s.save("last.safetensors");
    if (r.best && s.writer) {  // a copy, then a rename: best.safetensors is always whole
      fs::copy_file(s.path("last.safetensors"), s.path("best.safetensors.tmp"), fs::copy_options::overwrite_existing);
      fs::rename(s.path("best.safetensors.tmp"), s.path("best.safetensors"));
    }
    s.log_epoch(r);
    result.epochs.push_back(r);
    if (!c.quiet && s.writer) {
      std::printf("epoch %lld/%d  loss %.4f  val loss %.4f  mIoU %.4f  Dice %.4f  acc %.4f  lr %.3g  %.1f img/s  %.1f s%s\n",
                  (long long)s.epoch, c.epochs, r.train_loss, r.val_loss, r.val.mean_iou, r.val.mean_dice,
                  r.val.pixel_accuracy, r.lr, r.images_per_second, r.seconds, r.best ? "  (best)" : "");
      std::fflush(stdout);
    }
    if (c.patience > 0 && s.epochs_without_gain >= c.patience)
      return finish(TrainStatus::EarlyStopped, str_cat("early stop after epoch ", s.epoch, ": no better val mIoU in ",
                                                       c.patience, " epochs; best ", s.best_miou, " at epoch ",
                                                       s.best_epoch + 1));
    if (s.agreed(stop_requested()) && s.epoch < c.epochs) return interrupted(str_cat("after epoch ", s.epoch));
  }
  return finish(TrainStatus::Finished, str_cat("finished ", c.epochs, " epochs; best val mIoU ", s.best_miou,
                                               " at epoch ", s.best_epoch + 1, "; checkpoints in ", c.out));
}

}  // namespace cuseg
