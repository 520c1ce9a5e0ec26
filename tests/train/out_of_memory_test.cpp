// Running out of memory is an OutOfMemory error that says how much was asked for, what was free
// and what to lower — and, inside a network, which layer and tensor — never a bare CUDA code.
#include <gtest/gtest.h>

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

TEST(OutOfMemoryGpu, ATooLargeBatchNamesTheLayerAndTheFreeMemory) {
  CUSEG_REQUIRE_GPU();
  auto net = build_unet(UNetConfig::unet_s(3, 4, 64));
  net->to(Device::cuda(0));
  // 64 × 1024 × 1024 × 3 floats fit (768 MiB); the first layer's 64-channel output (16 GiB) and
  // what follows do not fit any current GPU many times over.
  Tensor images = Tensor::zeros(Shape{64, 1024, 1024, 3}, DType::f32, Device::cuda(0));
  try {
    for (int i = 0; i < 8; ++i) net->forward({{"image", images}});
    ADD_FAILURE() << "no error";
  } catch (const OutOfMemory& e) {
    const std::string msg = e.what();
    for (const char* part : {"forward of ", "'enc", "out of GPU memory on cuda:0", "free of", "--batch"})
      EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
  }
}

}  // namespace
}  // namespace cuseg
