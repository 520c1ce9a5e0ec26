// Under mpirun -np N, each rank on its local rank's GPU: the gradient sum of a communicator
// (`--collectives`: nccl or mpi) over tensors of rank-dependent small integers, whose sums are
// exact in float32, two steps: the gradients made ready in backward order, then in the reverse
// order (buckets must still be summed in one order on every rank). Prints the gradient sum's
// description, then "sums exact" or the first wrong element, and exits 0 only when exact.
//   gradient_sum_probe COLLECTIVES [hang]
// With "hang", rank 1 never joins: rank 0 must end the job after its 3-second timeout.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "cuseg/dist/communicator.h"
#include "cuseg/dist/gradient_sum.h"

using namespace cuseg;

namespace {

// Sizes that straddle the buckets the test asks for (CUSEG_GRADIENT_BUCKET_KB=64: 16384 floats),
// and one larger than the emulated NCCL moves at a time (1 MiB).
const std::vector<int64_t> kSizes = {1000, 70000, 3, 30000, 17, 16384, 5, 300000};

float value(int rank, size_t tensor, int64_t i) {
  return float((rank + 1) * int64_t((tensor + 3) * (i % 11 + 1)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  try {
    std::shared_ptr<Communicator> ranks = world();
    ranks->set_timeout(3);
    const Device gpu = Device::cuda(ranks->local_rank());
    std::shared_ptr<Communicator> comm = communicator_for(ranks, gpu, argv[1]);
    const bool hang = argc > 2 && std::strcmp(argv[2], "hang") == 0;
    std::vector<Tensor> grads;
    std::vector<Tensor*> pointers;
    for (size_t t = 0; t < kSizes.size(); ++t)
      grads.push_back(Tensor::empty(Shape{kSizes[t]}, DType::F32, gpu));
    for (Tensor& g : grads) pointers.push_back(&g);
    std::unique_ptr<GradientSum> sum = comm->gradient_sum(pointers);
    if (comm->rank() == 0)
      std::printf("%s: %s\n", comm->description().c_str(), sum->description().c_str());
    if (hang && comm->rank() == 1) {
      sleep(60);
      return 0;
    }
    const int n = comm->size();
    for (int step = 0; step < 2; ++step) {
      for (size_t t = 0; t < grads.size(); ++t) {
        std::vector<float> v(size_t(kSizes[t]));
        for (int64_t i = 0; i < kSizes[t]; ++i) v[size_t(i)] = value(comm->rank(), t, i);
        grads[t].copy_from(Tensor::from_vector(v, Shape{kSizes[t]}));
      }
      sum->begin();
      for (size_t k = 0; k < grads.size(); ++k) sum->ready(step == 0 ? k : grads.size() - 1 - k);
      sum->finish("the probe's sum");
      for (size_t t = 0; t < grads.size(); ++t) {
        const std::vector<float> got = grads[t].to(Device::cpu()).to_vector<float>();
        for (int64_t i = 0; i < kSizes[t]; ++i) {
          float want = 0;
          for (int r = 0; r < n; ++r) want += value(r, t, i);
          if (got[size_t(i)] != want) {
            std::printf("rank %d, step %d: tensor %zu [%lld] = %g, not %g\n", comm->rank(), step, t,
                        (long long)i, double(got[size_t(i)]), double(want));
            return 1;
          }
        }
      }
    }
    if (comm->rank() == 0) std::printf("sums exact\n");
    return 0;
  } catch (const std::exception& e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
}
