// seg_eval: a checkpoint against a dataset split, at each image's own resolution (padded to the
// network's multiple, or tiled with --tile, then cropped back): per-class IoU, Dice, precision,
// recall and support, their means over the classes present, pixel accuracy and the confusion
// matrix, as a table and, with --json, as JSON (infer/evaluate.h).
#include <cstdio>
#include <fstream>

#include "apps/tool.h"
#include "cuseg/infer/evaluate.h"
#include "cuseg/interop/smp_state.h"

int main(int argc, char** argv) {
  CLI::App app{"seg_eval: evaluate a checkpoint on a dataset split", "seg_eval"};
  std::string checkpoint, json_path, device = "auto";
  cuseg::EvaluationConfig ec;
  app.add_option("--checkpoint", checkpoint, "A checkpoint written by seg_train, or a segmentation_models_pytorch state dict (safetensors)")->required();
  app.add_option("--data", ec.data, "Dataset folder; none: the built-in synthetic set the checkpoint was trained with");
  app.add_option("--split", ec.split, "train or val")->check(CLI::IsMember({"train", "val"}))->capture_default_str();
  app.add_option("--json", json_path, "Also write the results as JSON to this file");
  app.add_option("--tile", ec.predict.tile, "Tile size for large images (0: whole images)")->capture_default_str();
  app.add_option("--overlap", ec.predict.overlap, "Overlap of neighbouring tiles")->capture_default_str();
  app.add_option("--device", device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  cuseg::tool::ComputeOptions compute;
  cuseg::tool::add_compute_options(app, compute);
  app.add_flag("--skip-bad", ec.skip_bad, "Skip and count bad samples instead of stopping");
  return cuseg::tool::run(app, argc, argv, [&] {
    const cuseg::Device dev = cuseg::Device::resolve(device);
    const cuseg::Backend backend = cuseg::tool::apply_compute_options(compute, dev);
    cuseg::ModelInfo info;
    auto model = cuseg::load_any_model(checkpoint, dev, &info);
    model->set_backend(backend);
    const cuseg::Evaluation e = cuseg::evaluate(*model, info, ec, checkpoint);
    const cuseg::Metrics& m = e.metrics;
    const int K = info.config.label_classes();

    std::printf("%s on %s (%s split, %lld images%s)\n\n", checkpoint.c_str(),
                ec.data.empty() ? "the built-in dataset" : ec.data.c_str(), ec.split.c_str(), (long long)e.images,
                e.bad_samples ? cuseg::str_cat(", ", e.bad_samples, " bad skipped").c_str() : "");
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
      for (int c = 0; c < K; ++c) std::printf(" %10.0f", e.confusion[size_t(r * K + c)]);
      std::printf("\n");
    }
    if (!json_path.empty()) {
      std::ofstream out(json_path);
      out << cuseg::evaluation_json(e, info, ec, checkpoint) << "\n";
      CUSEG_CHECK(out.good(), json_path, ": cannot write");
    }
    return 0;
  });
}
