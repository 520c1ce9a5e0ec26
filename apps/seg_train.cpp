// seg_train: trains a U-Net on a folder of images and masks, or on the built-in synthetic set
// when no --data is given. Checkpoints, log.jsonl and config.json go to --out.
//
// SIGINT/SIGTERM finish the current step, write last.safetensors and exit 130/143 with the
// command that resumes; a second signal ends the process at once.
//
// Under `mpirun -np N` (a build with MPI) the N processes train one model data-parallel, each on
// its part of every batch (train/trainer.h); rank 0 writes the outputs.
#include <cstdio>

#include "apps/tool.h"
#include "apps/train_options.h"
#include "cuseg/dist/communicator.h"

int main(int argc, char** argv) {
  CLI::App app{"seg_train: train a segmentation U-Net (unet-s) on a folder dataset or the built-in synthetic one",
               "seg_train"};
  cuseg::TrainConfig given;
  cuseg::tool::add_train_options(app, given);
  return cuseg::tool::run(app, argc, argv, [&] {
    const cuseg::TrainConfig config = cuseg::tool::resolve_train_config(app, given);
    cuseg::tool::stop_training_on_signals();
    const std::shared_ptr<cuseg::Communicator> ranks = cuseg::world();
    cuseg::Trainer trainer(config, ranks);
    const cuseg::TrainResult result = trainer.run();
    // A diverged run is an error like any other: one line on stderr, exit 1.
    if (result.status == cuseg::TrainStatus::NonFinite) throw cuseg::Error(result.message);
    if (ranks->rank() == 0) std::printf("%s\n", result.message.c_str());
    if (result.status == cuseg::TrainStatus::Interrupted && cuseg::stop_signal() > 0) return 128 + cuseg::stop_signal();
    return cuseg::tool::kOk;
  });
}
