// Running out of memory is an OutOfMemory error that says how much was asked for, what was free
// and what to lower — and, inside a network, which layer and tensor — never a bare CUDA code.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cuseg/core/memory.h"
#include "cuseg/layers/unet.h"
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

TEST(OutOfMemory, AnImpossibleHostAllocationSaysWhatToLower) {
  try {
    Tensor::empty(Shape{int64_t(1) << 46});  // 256 TiB of floats
    ADD_FAILURE() << "no error";
  } catch (const OutOfMemory& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("out of host memory"), std::string::npos) << msg;
    EXPECT_NE(msg.find("MiB"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--batch"), std::string::npos) << msg;
  }
}

// A batch too large for the device must fail as OutOfMemory naming the layer, its output and the
// sizes. A batch too large for any device cannot show it: a 2³²-element activation is refused
// as too many elements (a plain Error) before anything is allocated. So the device is filled
// first: a ballast of nearly all free memory (1 GiB pieces, as cudaMemGetInfo counts it), then
// 4 MiB pieces until one is refused (that also trims what the pool kept). A modest batch then
// fails at its first layer (a 16 MiB output), before any kernel of the forward runs; in the
// emulated build the ballast is host memory of the emulated capacity.
TEST(OutOfMemoryGpu, ABatchThatDoesNotFitNamesTheLayerAndTheFreeMemory) {
  CUSEG_REQUIRE_GPU();
  const Device gpu = Device::cuda(0);
  auto net = build_unet(ModelConfig::unet_s(3, 4, 64));
  net->to(gpu);
  const Tensor images = Tensor::zeros(Shape{4, 128, 128, 3}, DType::F32, gpu);
  synchronize(gpu);

  const CudaMemoryInfo before = cuda_memory_info(gpu);
  ASSERT_GT(before.total, 0u);
  ASSERT_LE(before.free, before.total);
  constexpr size_t kMiB = size_t(1) << 20, kGiB = size_t(1) << 30;
  std::vector<Tensor> ballast;
  const size_t pieces = before.free > 64 * kMiB ? (before.free - 64 * kMiB) / kGiB : 0;
  for (size_t i = 0; i < pieces; ++i)
    ballast.push_back(Tensor::empty(Shape{int64_t(kGiB / 4)}, DType::F32, gpu));
  int refused = 0;
  for (int i = 0; i < 1 << 16 && !refused; ++i) {  // 256 GiB at most, should free never drop
    try {
      ballast.push_back(Tensor::empty(Shape{int64_t(4 * kMiB / 4)}, DType::F32, gpu));
    } catch (const OutOfMemory&) {
      ++refused;
    }
  }
  ASSERT_EQ(refused, 1) << "the device never refused a 4 MiB piece";
  EXPECT_LT(cuda_memory_info(gpu).free, before.free) << "cudaMemGetInfo does not see the ballast";

  try {
    net->forward({{"image", images}});
    ADD_FAILURE() << "no error";
  } catch (const OutOfMemory& e) {
    const std::string msg = e.what();
    for (const char* part :
         {"forward of ", "'enc0.conv1'", "[4,128,128,64]", "out of GPU memory on cuda:0",
          "asked for 16", "MiB", "free of", "--batch"})
      EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
  }
}

}  // namespace
}  // namespace cuseg
