// Evaluation and reporting: the validation metrics after each epoch (sharded over the ranks, the
// sums of the whole split), the epoch's report, its log.jsonl line (and the callback, and
// TensorBoard), the printed line; and the outputs a run starts with.
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "cuseg/core/atomic_file.h"
#include "cuseg/infer/predict.h"
#include "cuseg/kernels/compute.h"
#include "cuseg/train/trainer_state.h"

namespace cuseg {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::unique_ptr<BatchLoader> Trainer::State::eval_loader(SegmentationDataset& dataset, bool sharded) const {
  return std::make_unique<BatchLoader>(dataset, loader_config(sharded));
}

Metrics Trainer::State::evaluate(SegmentationDataset& dataset, double* mean_loss) {
  auto loader = eval_loader(dataset);
  model->set_training(false);
  ConfusionMatrix cm(info.config.label_classes(), config.ignore_index, device);
  Tensor value = Tensor::empty(Shape{1}, DType::F32, device), no_grad;
  double loss_sum = 0, rows = 0;
  loader->start_epoch(0);
  Batch b;
  while (loader->next(b)) {
    if (b.images.dim(0) == 0) continue;  // a last batch too small to reach this rank
    model->forward({{"image", b.images}});
    const Tensor& logits = model->get("logits");
    cm.update(logits, b.labels);
    loss->compute(logits, b.labels, value, no_grad);
    loss_sum += double(value.to_vector<float>()[0]) * double(b.images.dim(0));
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

EpochReport Trainer::State::report_epoch(Clock::time_point start, double train_seconds, int64_t images) {
  EpochReport r;
  r.epoch = epoch;
  r.steps = optimizer->steps();
  // What the last step applied; the schedule's value there when no step of this process has run.
  r.lr = optimizer->last_lr().value_or(schedule.at(std::max<int64_t>(0, r.steps - 1)));
  r.train_loss = epoch_mean_loss();
  r.penalty = optimizer->penalty_value();
  r.objective = r.train_loss + r.penalty;
  r.val = evaluate(*val, &r.val_loss);
  double zeros = 0, numel = 0, sq = 0;
  for (const ParamStats& p : optimizer->stats())
    if (p.group == "decay") {
      zeros += double(p.zeros);
      numel += double(p.numel);
      sq += p.l2 * p.l2;
    }
  r.sparsity = numel > 0 ? zeros / numel : 0;
  r.weight_norm = std::sqrt(sq);
  r.images_per_second = double(images) * ranks->size() / train_seconds;
  r.data_wait_fraction = train_loader->wait_seconds() / train_seconds;
  r.seconds = seconds_since(start);
  r.skipped_steps = skipped_steps;
  double bad = double(train->bad_samples() + val->bad_samples());
  ranks->allreduce_sum(&bad, 1, "the bad-sample count");
  r.bad_samples = int64_t(bad);
  r.best = r.val.mean_iou > best_miou;
  return r;
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
                  {"best", r.best},
                  {"world", world}};
  std::ofstream out(path("log.jsonl"), std::ios::app);
  CUSEG_CHECK(out.is_open(), path("log.jsonl"), ": cannot open: ", std::strerror(errno));
  out << line.dump() << "\n";
  out.flush();
  CUSEG_CHECK(out.good(), path("log.jsonl"), ": write failed");
  if (on_epoch && !on_epoch(line.dump())) stopped_by_callback = true;
  if (tensorboard) {
    tensorboard->epoch(r.steps, line);  // every number of the line (epoch/world/size too)
    log_val_images(r.steps);
    tensorboard->flush();
  }
}

void Trainer::State::print_epoch(const EpochReport& r) const {
  if (config.quiet || !writer) return;
  std::printf("epoch %lld/%d  loss %.4f  val loss %.4f  mIoU %.4f  Dice %.4f  acc %.4f  lr %.3g  %.1f img/s  %.1f s%s\n",
              (long long)(r.epoch + 1), config.epochs, r.train_loss, r.val_loss, r.val.mean_iou, r.val.mean_dice,
              r.val.pixel_accuracy, r.lr, r.images_per_second, r.seconds, r.best ? "  (best)" : "");
  std::fflush(stdout);
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

json Trainer::State::gather_world(const ComputeInfo& compute) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const json mine{{"rank", ranks->rank()},
                  {"host", host},
                  {"device", device.str()},
                  {"implementation", compute.implementation},
                  {"isa", compute.isa},
                  {"compute", compute.line}};
  json all = json::array();
  for (const std::string& rank : allgather_strings(*ranks, mine.dump(), "the description of each rank's device"))
    all.push_back(json::parse(rank));
  return json{{"size", ranks->size()}, {"ranks", all}};
}

void Trainer::State::start_outputs(const std::string& compute) {
  if (!writer) return;
  if (!config.quiet) {
    std::printf("%s\n", compute.c_str());
    if (ranks->size() > 1 || config.collectives == "nccl")
      std::printf("data parallel: %s, %d images per rank and batch, %s%s\n", ranks->description().c_str(),
                  config.batch / ranks->size(), gradient_sum->description().c_str(),
                  !config.batch_norm      ? ""
                  : config.sync_bn != 0 ? ", batch norm synchronized"
                                        : ", batch norm per rank");
  }
  if (!config.resume) {
    std::error_code ignored;
    fs::remove(path("log.jsonl"), ignored);  // a fresh run starts a fresh log
  }
  // The configuration this run trains with; writing it now also finds a folder that cannot be
  // written before any time is spent training.
  json stored = json::parse(config.to_json());
  stored["world"] = world;
  write_text_file_atomically(path("config.json"), stored.dump(2) + "\n");
  if (config.tensorboard != "none")
    tensorboard = std::make_unique<TensorBoardLog>(config.tensorboard.empty() ? path("tb") : config.tensorboard);
}

}  // namespace cuseg
