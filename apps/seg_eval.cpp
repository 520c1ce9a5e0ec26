// seg_eval: a checkpoint against a dataset split, at each image's own resolution (padded to the
// network's multiple, or tiled with --tile, then cropped back): per-class IoU, Dice, precision,
// recall and support, their means over the classes present, pixel accuracy and the confusion
// matrix, as a table and, with --json, as JSON.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "apps/tool.h"
#include "cuseg/core/safetensors.h"
#include "cuseg/data/folder_dataset.h"
#include "cuseg/infer/predict.h"
#include "cuseg/train/metrics.h"
#include "cuseg/train/trainer.h"

int main(int argc, char** argv) {
  CLI::App app{"seg_eval: evaluate a checkpoint on a dataset split", "seg_eval"};
  std::string checkpoint, data, split = "val", json_path, device = "auto";
  cuseg::PredictConfig pc;
  bool skip_bad = false;
  app.add_option("--checkpoint", checkpoint, "A checkpoint written by seg_train")->required();
  app.add_option("--data", data, "Dataset folder; none: the built-in synthetic set the checkpoint was trained with");
  app.add_option("--split", split, "train or val")->check(CLI::IsMember({"train", "val"}))->capture_default_str();
  app.add_option("--json", json_path, "Also write the results as JSON to this file");
  app.add_option("--tile", pc.tile, "Tile size for large images (0: whole images)")->capture_default_str();
  app.add_option("--overlap", pc.overlap, "Overlap of neighbouring tiles")->capture_default_str();
  app.add_option("--device", device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cuseg::tool::ComputeOptions compute;
  cuseg::tool::add_compute_options(app, compute);
  app.add_flag("--skip-bad", skip_bad, "Skip and count bad samples instead of stopping");
  return cuseg::tool::run(app, argc, argv, [&] {
    const cuseg::Device dev = cuseg::Device::resolve(device);
    const cuseg::Backend backend = cuseg::tool::apply_compute_options(compute, dev);
    cuseg::ModelInfo info;
    auto model = cuseg::load_model(checkpoint, dev, &info);
    model->set_backend(backend);
    std::unique_ptr<cuseg::SegmentationDataset> dataset;
    if (data.empty()) {
      auto it = info.metadata.find("train_config");
      CUSEG_CHECK(it != info.metadata.end(), checkpoint, ": no training configuration stored; give --data");
      const cuseg::TrainConfig tc = cuseg::TrainConfig::from_json(it->second);
      CUSEG_CHECK(tc.data.empty(), checkpoint, ": trained on ", tc.data, "; give --data");
      dataset = cuseg::synthetic_split(tc, split);
    } else {
      cuseg::FolderDatasetConfig fc;
      fc.root = data;
      fc.split = split;
      fc.channels = info.config.in_channels;
      fc.classes = info.config.classes;
      fc.ignore_index = info.ignore_index;
      fc.skip_bad = skip_bad;
      dataset = std::make_unique<cuseg::FolderDataset>(fc);
    }
    CUSEG_CHECK(dataset->classes() == info.config.classes, "the dataset has ", dataset->classes(),
                " classes, the model ", info.config.classes);

    cuseg::ConfusionMatrix cm(info.config.classes, info.ignore_index);
    int64_t images = 0;
    for (size_t i = 0; i < dataset->size(); ++i) {
      std::optional<cuseg::Sample> s = dataset->load(i);
      if (!s) continue;
      const int64_t h = s->image.dim(0), w = s->image.dim(1);
      const cuseg::Tensor probs = cuseg::predict_probabilities(*model, info, s->image, pc);
      cm.update(probs.view(cuseg::Shape{1, h, w, info.config.classes}), s->labels.view(cuseg::Shape{1, h, w}));
      ++images;
    }
    const cuseg::Metrics m = cm.metrics();
    const std::vector<double> counts = cm.counts().to(cuseg::Device::cpu()).to_vector<double>();
    const int K = info.config.classes;

    std::printf("%s on %s (%s split, %lld images%s)\n\n", checkpoint.c_str(), data.empty() ? "the built-in dataset" : data.c_str(),
                split.c_str(), (long long)images,
                dataset->bad_samples() ? cuseg::str_cat(", ", dataset->bad_samples(), " bad skipped").c_str() : "");
    std::printf("%-16s %8s %8s %10s %8s %12s\n", "class", "IoU", "Dice", "precision", "recall", "support");
    for (int k = 0; k < K; ++k) {
      const cuseg::ClassMetrics& c = m.per_class[size_t(k)];
      if (c.present)
        std::printf("%-16s %8.4f %8.4f %10.4f %8.4f %12.0f\n", info.class_names[size_t(k)].c_str(), c.iou, c.dice,
                    c.precision, c.recall, c.support);
      else
        std::printf("%-16s %8s %8s %10s %8s %12.0f\n", info.class_names[size_t(k)].c_str(), "-", "-", "-", "-", c.support);
    }
    std::printf("%-16s %8.4f %8.4f %10.4f %8.4f %12.0f\n", "mean", m.mean_iou, m.mean_dice, m.mean_precision,
                m.mean_recall, m.pixels);
    std::printf("\npixel accuracy %.4f\n\nconfusion matrix (rows: truth, columns: prediction)\n", m.pixel_accuracy);
    for (int r = 0; r < K; ++r) {
      std::printf("%-16s", info.class_names[size_t(r)].c_str());
      for (int c = 0; c < K; ++c) std::printf(" %10.0f", counts[size_t(r * K + c)]);
      std::printf("\n");
    }

    if (!json_path.empty()) {
      nlohmann::json classes = nlohmann::json::array();
      for (int k = 0; k < K; ++k) {
        const cuseg::ClassMetrics& c = m.per_class[size_t(k)];
        classes.push_back({{"name", info.class_names[size_t(k)]}, {"present", c.present}, {"iou", c.iou},
                           {"dice", c.dice}, {"precision", c.precision}, {"recall", c.recall}, {"support", c.support}});
      }
      nlohmann::json confusion = nlohmann::json::array();
      for (int r = 0; r < K; ++r)
        confusion.push_back(std::vector<double>(counts.begin() + r * K, counts.begin() + (r + 1) * K));
      const nlohmann::json j{{"checkpoint", checkpoint}, {"data", data}, {"split", split}, {"images", images},
                             {"bad_samples", dataset->bad_samples()}, {"pixel_accuracy", m.pixel_accuracy},
                             {"miou", m.mean_iou}, {"mdice", m.mean_dice}, {"mprecision", m.mean_precision},
                             {"mrecall", m.mean_recall}, {"classes", classes}, {"confusion", confusion}};
      std::ofstream out(json_path);
      out << j.dump(2) << "\n";
      CUSEG_CHECK(out.good(), json_path, ": cannot write");
    }
    return 0;
  });
}
