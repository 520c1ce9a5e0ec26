// Checkpoints: the training state saved with the model and the optimizer (where in which epoch,
// the best score, the early-stopping count, the epoch's running loss, the dropout offsets), so
// that a resumed run continues where this one stopped; last.safetensors after every epoch and on
// a stop, best.safetensors a whole copy of it at each better val mIoU.
#include "cuseg/core/safetensors.h"
#include "cuseg/layers/layers.h"
#include "cuseg/train/trainer_state.h"

namespace cuseg {

using json = nlohmann::json;
namespace fs = std::filesystem;

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

void Trainer::State::finish_epoch(const EpochReport& r) {
  batch = 0;
  epoch_loss_sum = 0;
  epoch_loss_batches = 0;
  if (r.best) {
    best_miou = r.val.mean_iou;
    best_epoch = epoch;
    epochs_without_gain = 0;
  } else {
    ++epochs_without_gain;
  }
  ++epoch;
  save("last.safetensors");
  if (r.best && writer) {  // a copy, then a rename: best.safetensors is always whole
    fs::copy_file(path("last.safetensors"), path("best.safetensors.tmp"), fs::copy_options::overwrite_existing);
    fs::rename(path("best.safetensors.tmp"), path("best.safetensors"));
  }
}

// last.safetensors already holds the state stopped in.
std::string Trainer::State::stopped_message(const std::string& where) const {
  return str_cat("stopped ", where, "; checkpoint ", path("last.safetensors"), "; continue with: seg_train --resume --out ",
                 config.out);
}

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

}  // namespace cuseg
