// What seg_train shows in TensorBoard (--tensorboard DIR, default OUT/tb): per optimizer step the
// training loss ("step/loss"); per epoch every number of its log.jsonl line ("epoch/<field>",
// per-class values as "epoch/iou/<class>"), at the step count the epoch ended on; and a few fixed
// validation images ("val/<name>": the image, its true mask and the predicted one, side by side).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "cuseg/core/tensor.h"
#include "cuseg/data/dataset.h"
#include "cuseg/train/event_file.h"

namespace cuseg {

class TensorBoardLog {
 public:
  // At most this many validation images are shown, the first ones of the validation split.
  static constexpr int kImages = 3;

  explicit TensorBoardLog(const std::string& dir) : file_(dir) {}

  void step_loss(int64_t step, double loss);
  // `line`: the epoch's log.jsonl object. Numbers become scalars; nested objects of numbers
  // (iou, dice) one scalar per key; null (a class absent from the split) and booleans none.
  void epoch(int64_t step, const nlohmann::json& line);
  // images [N, H, W, C] f32 in [0, 1], truth and predicted [N, H, W] u8 class maps, all on the
  // host; the first kImages are shown, masks coloured with `colours` (white: ignored pixels).
  void val_images(int64_t step, const Tensor& images, const Tensor& truth, const Tensor& predicted,
                  const std::vector<std::string>& names, const Palette& colours);
  // Makes everything written so far durable: once per epoch.
  void flush() { file_.flush(); }
  const std::string& path() const { return file_.path(); }

 private:
  EventFile file_;
};

}  // namespace cuseg
