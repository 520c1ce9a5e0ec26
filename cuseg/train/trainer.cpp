// The Trainer: what runs where (the ranks, each rank's device and cores), and run(), the loop over
// epochs and batches. The parts it calls are in the files trainer_state.h lists.
#include "cuseg/train/trainer.h"

#include <algorithm>
#include <atomic>

#include "cuseg/kernels/compute.h"
#include "cuseg/train/progress.h"
#include "cuseg/train/trainer_state.h"

namespace cuseg {

namespace fs = std::filesystem;

namespace {

std::atomic<int> g_stop_signal{0};

// "cuda" (or "auto" finding a GPU) on several ranks of a machine: each its own GPU.
Device rank_device(const std::string& choice, const Communicator& ranks) {
  const Device d = Device::resolve(choice);
  if (!d.is_cuda() || ranks.local_size() == 1 || choice.starts_with("cuda:")) return d;
  CUSEG_CHECK(ranks.local_size() <= cuda_device_count(), "rank ", ranks.rank(), ": ", ranks.local_size(),
              " ranks on this machine but ", cuda_device_count(), " GPU(s): one GPU per rank");
  return Device::cuda(ranks.local_rank());
}

}  // namespace

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

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

Trainer::Trainer(const TrainConfig& config, std::shared_ptr<Communicator> ranks) : s_(std::make_unique<State>()) {
  config.validate();
  State& s = *s_;
  s.config = config;
  s.ranks = ranks ? std::move(ranks) : single_process();
  Communicator& world = *s.ranks;
  world.set_timeout(config.collective_timeout);
  s.writer = world.rank() == 0;
  CUSEG_CHECK(config.batch % world.size() == 0, "--batch ", config.batch, " does not split evenly over ",
              world.size(), " ranks");
  // Everything below that reads a file or the data depends on it being the same on every rank.
  check_same_on_every_rank(world, "training configuration", config.to_json());
  s.device = rank_device(config.device, world);
  // GPU ranks sum on their GPUs where NCCL can (every collective after this goes through it).
  s.ranks = communicator_for(s.ranks, s.device, config.collectives);
  // Ranks on one machine share its cores.
  set_cpu_threads(config.threads == 0 && world.local_size() > 1 && s.device.is_cpu()
                      ? std::max(1, cpu_cores() / world.local_size())
                      : config.threads);
  // Refuses what cannot run.
  const ComputeInfo compute =
      compute_info(s.device, parse_backend(config.backend), parse_precision(config.precision));
  s.world = s.gather_world(compute);
  if (s.writer) fs::create_directories(config.out);
  const std::string resume_from = config.resume ? s.path("last.safetensors") : "";
  CUSEG_CHECK(resume_from.empty() || fs::exists(resume_from), resume_from, ": nothing to resume (no checkpoint)");
  s.open_data();
  check_same_on_every_rank(world, "dataset", s.train_base->listing() + "\n" + (s.val_base ? s.val_base->listing() : ""));
  CUSEG_CHECK(world.size() == 1 || s.train->size() >= size_t(config.batch), "the training split's ", s.train->size(),
              " samples make no full batch of ", config.batch, " to split over ", world.size(), " ranks");
  s.build(resume_from);
  s.start_outputs(compute.line);
}

Trainer::~Trainer() = default;

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
  int64_t steps_this_call = 0;
  const auto epochs_done = [&] { return c.stop_after_epochs > 0 && s.epoch >= c.stop_after_epochs; };
  const auto stop_requested = [&] {
    return stop_signal() != 0 || s.stopped_by_callback ||
           (c.stop_after_steps > 0 && steps_this_call >= c.stop_after_steps) || epochs_done();
  };
  const auto finish = [&](TrainStatus status, std::string message) {
    bar.finish();
    result.status = status;
    result.message = std::move(message);
    result.best_miou = s.best_miou;
    result.best_epoch = s.best_epoch;
    return result;
  };
  s.model->set_training(true);
  s.model->zero_grad();

  while (s.epoch < c.epochs) {
    if (epochs_done())  // resumed at or past the epochs asked for: nothing to train
      return finish(TrainStatus::Interrupted, s.stopped_message(str_cat("after epoch ", s.epoch)));
    const Clock::time_point start = Clock::now();
    s.train_loader->start_epoch(s.epoch, s.batch);
    if (s.graph_steps) s.reset_graph_steps();
    bar.start(str_cat("epoch ", s.epoch + 1, "/", c.epochs), batches);
    int64_t images = 0;
    State::Step step;
    Batch b;
    while (s.train_loader->next(b, s.graph_steps != nullptr)) {
      images += b.images.dim(0);
      const State::BatchDone done = s.graph_steps ? s.train_batch_in_graph(b) : s.train_batch(b, step);
      if (!done.nonfinite.empty()) return finish(TrainStatus::NonFinite, done.nonfinite);
      if (!done.step_ended) continue;
      ++steps_this_call;
      bar.update(s.batch, double(images) / seconds_since(start), s.epoch_mean_loss());
      if (s.agreed(stop_requested()) && s.batch < batches) {  // every rank stops after the same step
        if (s.graph_steps)
          if (std::string why = s.read_graph_steps(); !why.empty()) return finish(TrainStatus::NonFinite, why);
        s.save("last.safetensors");
        return finish(TrainStatus::Interrupted,
                      s.stopped_message(str_cat("at epoch ", s.epoch + 1, ", batch ", s.batch, "/", batches)));
      }
    }
    const double train_seconds = seconds_since(start);
    bar.finish();

    const EpochReport r = s.report_epoch(start, train_seconds, images);  // evaluated on the val split
    s.finish_epoch(r);                                                  // last.safetensors, best
    s.log_epoch(r);
    result.epochs.push_back(r);
    s.print_epoch(r);
    if (c.patience > 0 && s.epochs_without_gain >= c.patience)
      return finish(TrainStatus::EarlyStopped, str_cat("early stop after epoch ", s.epoch, ": no better val mIoU in ",
                                                       c.patience, " epochs; best ", s.best_miou, " at epoch ",
                                                       s.best_epoch + 1));
    if (s.agreed(stop_requested()) && s.epoch < c.epochs)
      return finish(TrainStatus::Interrupted, s.stopped_message(str_cat("after epoch ", s.epoch)));
  }
  return finish(TrainStatus::Finished, str_cat("finished ", c.epochs, " epochs; best val mIoU ", s.best_miou,
                                               " at epoch ", s.best_epoch + 1, "; checkpoints in ", c.out));
}

}  // namespace cuseg
