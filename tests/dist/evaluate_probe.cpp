// Evaluates the run in a folder (its last.safetensors, its stored configuration) on the
// validation split, data-parallel on the ranks it was launched with (world()), and prints on
// rank 0 one JSON line: every metric, then the mean validation loss. data_parallel_test.cpp
// compares what one process and several ranks print.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cuseg/dist/communicator.h"
#include "cuseg/train/trainer.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: evaluate_probe RUN_DIR\n");
    return 2;
  }
  try {
    cuseg::TrainConfig c = cuseg::Trainer::stored_config(argv[1]);
    c.resume = true;
    c.quiet = true;
    c.progress = false;
    c.tensorboard = "none";
    cuseg::Trainer trainer(c, cuseg::world());
    double loss = 0;
    const cuseg::Metrics m = trainer.evaluate(false, &loss);
    nlohmann::json metrics{{"pixels", m.pixels},       {"pixel_accuracy", m.pixel_accuracy},
                           {"miou", m.mean_iou},       {"mdice", m.mean_dice},
                           {"mprecision", m.mean_precision}, {"mrecall", m.mean_recall}};
    for (const cuseg::ClassMetrics& k : m.per_class)
      metrics["per_class"].push_back({k.iou, k.dice, k.precision, k.recall, k.support});
    if (cuseg::world()->rank() == 0) std::printf("%s\n", nlohmann::json{{"metrics", metrics}, {"loss", loss}}.dump().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "evaluate_probe: %s\n", e.what());
    return 1;
  }
}
