// A trained model scored on a dataset split at each image's own resolution (padded to the
// network's multiple, or tiled, then cropped back): the confusion matrix and the metrics of
// model/metrics.h. What seg_eval prints and the Python module's cuseg.evaluate returns.
#pragma once

#include <string>
#include <vector>

#include "cuseg/infer/predict.h"
#include "cuseg/model/metrics.h"

namespace cuseg {

struct EvaluationConfig {
  std::string data;  // a dataset folder; empty: the built-in synthetic set the model was trained on
  std::string split = "val";
  PredictConfig predict;
  bool skip_bad = false;  // skip and count bad samples instead of stopping
};

struct Evaluation {
  int64_t images = 0, bad_samples = 0;
  Metrics metrics;
  std::vector<double> confusion;  // [K·K], rows the truth, columns the prediction
};

// `source` names the checkpoint in errors.
Evaluation evaluate(Graph& model, const ModelInfo& info, const EvaluationConfig& config,
                    const std::string& source);

// As JSON (seg_eval --json): checkpoint, data, split, images, bad_samples, pixel_accuracy, miou,
// mdice, mprecision, mrecall, classes (name, present, iou, dice, precision, recall, support),
// confusion.
std::string evaluation_json(const Evaluation& e, const ModelInfo& info,
                            const EvaluationConfig& config, const std::string& checkpoint);

}  // namespace cuseg
