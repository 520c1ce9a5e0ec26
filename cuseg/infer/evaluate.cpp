#include "cuseg/infer/evaluate.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "cuseg/data/folder_dataset.h"
#include "cuseg/data/synthetic.h"

namespace cuseg {

namespace {

// The built-in dataset's split a run trained on, rebuilt from the training configuration stored
// in its checkpoint (TrainConfig's JSON, which holds every field): its size, channels, seed and
// split sizes.
std::unique_ptr<SegmentationDataset> trained_synthetic_split(const std::string& train_config,
                                                             const std::string& split, const std::string& source) {
  std::string data;
  SyntheticConfig sc;
  int64_t train_size = 0, val_size = 0;
  try {
    const nlohmann::json j = nlohmann::json::parse(train_config);
    j.at("data").get_to(data);
    j.at("height").get_to(sc.height);
    j.at("width").get_to(sc.width);
    j.at("channels").get_to(sc.channels);
    j.at("seed").get_to(sc.seed);
    j.at("synthetic_train").get_to(train_size);
    j.at("synthetic_val").get_to(val_size);
    sc.label_noise = j.value("synthetic_label_noise", 0.0);  // absent before it existed
  } catch (const nlohmann::json::exception& e) {
    throw_error(str_cat("training configuration: ", e.what()));
  }
  CUSEG_CHECK(data.empty(), source, ": trained on ", data, "; give --data");
  return synthetic_split(sc, train_size, val_size, split);
}

}  // namespace

Evaluation evaluate(Graph& model, const ModelInfo& info, const EvaluationConfig& c,
                    const std::string& source) {
  std::unique_ptr<SegmentationDataset> dataset;
  if (c.data.empty()) {
    auto it = info.metadata.find("train_config");
    CUSEG_CHECK(it != info.metadata.end(), source,
                ": no training configuration stored; give --data");
    dataset = trained_synthetic_split(it->second, c.split, source);
  } else {
    FolderDatasetConfig fc;
    fc.root = c.data;
    fc.split = c.split;
    fc.channels = info.config.in_channels;
    fc.classes = info.config.label_classes();
    fc.ignore_index = info.ignore_index;
    fc.skip_bad = c.skip_bad;
    dataset = std::make_unique<FolderDataset>(fc);
  }
  CUSEG_CHECK(dataset->classes() == info.config.label_classes(), "the dataset has ", dataset->classes(),
              " classes, the model ", info.config.label_classes());
  ConfusionMatrix cm(info.config.label_classes(), info.ignore_index);
  Evaluation e;
  for (size_t i = 0; i < dataset->size(); ++i) {
    std::optional<Sample> s = dataset->load(i);
    if (!s) continue;
    const int64_t h = s->image.dim(0), w = s->image.dim(1);
    const Tensor probs = predict_probabilities(model, info, s->image, c.predict);
    cm.update(probs.view(Shape{1, h, w, info.config.label_classes()}), s->labels.view(Shape{1, h, w}));
    ++e.images;
  }
  e.bad_samples = int64_t(dataset->bad_samples());
  e.metrics = cm.metrics();
  e.confusion = cm.counts().to(Device::cpu()).to_vector<double>();
  return e;
}

std::string evaluation_json(const Evaluation& e, const ModelInfo& info,
                            const EvaluationConfig& config, const std::string& checkpoint) {
  const int K = info.config.label_classes();
  const Metrics& m = e.metrics;
  nlohmann::json classes = nlohmann::json::array();
  for (int k = 0; k < K; ++k) {
    const ClassMetrics& c = m.per_class[size_t(k)];
    classes.push_back({{"name", info.class_names[size_t(k)]},
                       {"present", c.present},
                       {"iou", c.iou},
                       {"dice", c.dice},
                       {"precision", c.precision},
                       {"recall", c.recall},
                       {"support", c.support}});
  }
  nlohmann::json confusion = nlohmann::json::array();
  for (int r = 0; r < K; ++r)
    confusion.push_back(
        std::vector<double>(e.confusion.begin() + r * K, e.confusion.begin() + (r + 1) * K));
  const nlohmann::json j{{"checkpoint", checkpoint},
                         {"data", config.data},
                         {"split", config.split},
                         {"images", e.images},
                         {"bad_samples", e.bad_samples},
                         {"pixel_accuracy", m.pixel_accuracy},
                         {"miou", m.mean_iou},
                         {"mdice", m.mean_dice},
                         {"mprecision", m.mean_precision},
                         {"mrecall", m.mean_recall},
                         {"classes", classes},
                         {"confusion", confusion}};
  return j.dump(2);
}

}  // namespace cuseg
