// Helper of the kill-during-write test: saves a checkpoint-sized safetensors file to PATH over
// and over, each version filled with its own number, until it is killed.
#include <cstdio>
#include <string>

#include "cuseg/core/safetensors.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: checkpoint_writer PATH\n");
    return 2;
  }
  using namespace cuseg;
  Tensor a = Tensor::empty(Shape{512, 1024}), b = Tensor::empty(Shape{3, 1000}, DType::F64);
  for (int version = 1;; ++version) {
    a.fill(version);
    b.fill(version);
    save_safetensors(argv[1], {{"model.a", a}, {"model.b", b}}, {{"version", std::to_string(version)}});
    std::printf("%d\n", version);
    std::fflush(stdout);
  }
}
