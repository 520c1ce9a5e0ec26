#include "cuseg/core/tensor.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace cuseg {
namespace {

TEST(Shape, RankNumelAndText) {
  const Shape s{2, 3, 4, 5};
  EXPECT_EQ(s.rank(), 4);
  EXPECT_EQ(s.numel(), 120);
  EXPECT_EQ(s.str(), "[2,3,4,5]");
  EXPECT_EQ(Shape{}.numel(), 1);
  EXPECT_THROW((Shape{1, 2, 3, 4, 5}), Error);
  EXPECT_THROW((Shape{2, -1}), Error);
}

TEST(Tensor, FromVectorRoundTripsEveryDtype) {
  EXPECT_EQ(Tensor::from_vector(std::vector<float>{1.5f, -2}, Shape{2}).to_vector<float>(),
            (std::vector<float>{1.5f, -2}));
  EXPECT_EQ(Tensor::from_vector(std::vector<double>{1e300}, Shape{1}).to_vector<double>()[0],
            1e300);
  EXPECT_EQ(Tensor::from_vector(std::vector<int32_t>{-7, 9}, Shape{1, 2}).to_vector<int32_t>(),
            (std::vector<int32_t>{-7, 9}));
  EXPECT_EQ(Tensor::from_vector(std::vector<uint8_t>{0, 255}, Shape{2}).to_vector<uint8_t>(),
            (std::vector<uint8_t>{0, 255}));
  EXPECT_THROW(Tensor::from_vector(std::vector<float>{1, 2, 3}, Shape{2}), Error);
  EXPECT_THROW(Tensor::from_vector(std::vector<float>{1}, Shape{1}).to_vector<double>(), Error);
}

TEST(Tensor, CopiesShareStorageAndCloneDoesNot) {
  Tensor a = Tensor::zeros(Shape{3});
  Tensor shared = a;
  Tensor copy = a.clone();
  a.fill(4);
  EXPECT_EQ(shared.to_vector<float>(), (std::vector<float>{4, 4, 4}));
  EXPECT_EQ(copy.to_vector<float>(), (std::vector<float>{0, 0, 0}));
}

TEST(Tensor, ViewsAliasAnOffsetAndStayInBounds) {
  Tensor a = Tensor::from_vector(std::vector<float>{0, 1, 2, 3, 4, 5}, Shape{2, 3});
  Tensor row1 = a.view(Shape{3}, 3);
  EXPECT_EQ(row1.to_vector<float>(), (std::vector<float>{3, 4, 5}));
  row1.fill(-1);
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{0, 1, 2, -1, -1, -1}));
  EXPECT_THROW(a.view(Shape{4}, 3), Error);
  EXPECT_THROW(a.view(Shape{1}, -1), Error);
}

TEST(Tensor, DtypeConversionRoundsBf16ToNearestEven) {
  // 1 + 2^-8 is halfway between two bf16 values (1 and 1 + 2^-7): ties go to even (1).
  Tensor t = Tensor::from_vector(std::vector<float>{1.0f + 1.0f / 256, 1.0f + 3.0f / 256, -2.5f},
                                 Shape{3});
  std::vector<float> back = t.to(DType::Bf16).to(DType::F32).to_vector<float>();
  EXPECT_EQ(back, (std::vector<float>{1.0f, 1.0f + 4.0f / 256, -2.5f}));
  EXPECT_EQ(Tensor::from_vector(std::vector<double>{3.9, -1.2}, Shape{2})
                .to(DType::I32)
                .to_vector<int32_t>(),
            (std::vector<int32_t>{3, -1}));
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
}

TEST(Tensor, FillUniformStaysInRangeAndDependsOnSeed) {
  Tensor a = test::random(Shape{1000}, 1, -2, 3);
  Tensor b = test::random(Shape{1000}, 2, -2, 3);
  double mean = 0;
  for (double v : a.to_vector<double>()) {
    ASSERT_GE(v, -2);
    ASSERT_LT(v, 3);
    mean += v / 1000;
  }
  EXPECT_NEAR(mean, 0.5, 0.15);
  EXPECT_GT(compare(a, b).max_abs, 0.5);
  EXPECT_EQ(compare(a, test::random(Shape{1000}, 1, -2, 3)).max_abs, 0);
}

TEST(Tensor, FillNormalHasTheRequestedMoments) {
  Tensor t = Tensor::empty(Shape{20000}, DType::F64);
  t.fill_normal(7, 1.5, 2.0);
  double mean = 0, var = 0;
  const std::vector<double> v = t.to_vector<double>();
  for (double e : v) mean += e / double(v.size());
  for (double e : v) var += (e - mean) * (e - mean) / double(v.size());
  EXPECT_NEAR(mean, 1.5, 0.05);
  EXPECT_NEAR(std::sqrt(var), 2.0, 0.05);
}

TEST(Tensor, PinnedHostTensorsWorkLikeOthers) {
  Tensor p = Tensor::empty_pinned(Shape{4});
  p.fill(2);
  EXPECT_EQ(p.device(), Device::cpu());
  EXPECT_EQ(p.to_vector<float>(), (std::vector<float>{2, 2, 2, 2}));
}

TEST(Tensor, UndefinedTensorsRefuseUse) {
  Tensor t;
  EXPECT_FALSE(t.defined());
  EXPECT_THROW(t.raw_data(), Error);
  EXPECT_THROW(t.fill(0), Error);
  EXPECT_EQ(t.str(), "undefined");
}

TEST(Device, ParsesNames) {
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("cuda"), Device::cuda(0));
  EXPECT_EQ(Device::parse("cuda:3"), Device::cuda(3));
  EXPECT_EQ(Device::cuda(1).str(), "cuda:1");
  EXPECT_THROW(Device::parse("gpu"), Error);
  EXPECT_THROW(Device::parse("cuda:x"), Error);
  EXPECT_THROW(Device::parse("cuda:-1"), Error);
}

TEST(Device, CudaAbsenceIsAnErrorOnlyWhenUsed) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is present: " << cuda_status();
  EXPECT_EQ(cuda_device_count(), 0);
  EXPECT_FALSE(cuda_status().empty());
  EXPECT_THROW(Tensor::empty(Shape{4}, DType::F32, Device::cuda(0)), Error);
}

TEST(TensorGpu, CopiesBetweenHostAndDeviceAndFillsOnDevice) {
  CUSEG_REQUIRE_GPU();
  Tensor host = test::random(Shape{3, 5, 7, 2}, 11, -1, 1, DType::F32);
  Tensor dev = host.to(Device::cuda(0));
  EXPECT_EQ(dev.device(), Device::cuda(0));
  EXPECT_TRUE(test::identical(dev.to(Device::cpu()), host, "host→device→host", 11));
  Tensor pinned = Tensor::empty_pinned(host.shape());
  pinned.copy_from(dev);
  EXPECT_TRUE(pinned.is_pinned());
  EXPECT_TRUE(test::identical(pinned, host, "device→pinned", 11));
  for (DType t : {DType::F32, DType::F64, DType::Bf16, DType::I32, DType::U8}) {
    Tensor d = Tensor::full(Shape{1000}, 3.0, t, Device::cuda(0));
    EXPECT_TRUE(test::identical(d, Tensor::full(Shape{1000}, 3.0, t), dtype_name(t), 0));
  }
}

TEST(TensorGpu, UniformDrawsAreBitIdenticalToTheHost) {
  CUSEG_REQUIRE_GPU();
  for (DType t : {DType::F32, DType::F64, DType::Bf16, DType::I32}) {
    Tensor host = test::random(Shape{4097}, 99, -3, 5, t);
    Tensor dev = test::random(Shape{4097}, 99, -3, 5, t, Device::cuda(0));
    EXPECT_TRUE(test::identical(dev, host, std::string("fill_uniform ") + dtype_name(t), 99));
  }
}

}  // namespace
}  // namespace cuseg

namespace cuseg {
namespace {

TEST(Tensor, IntegerConversionSaturates) {
  Tensor t =
      Tensor::from_vector(std::vector<double>{-100, 300, 1e12, -1e12, std::nan(""), 7.9}, Shape{6});
  EXPECT_EQ(t.to(DType::U8).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 255, 255, 0, 0, 7}));
  EXPECT_EQ(t.to(DType::I32).to_vector<int32_t>(),
            (std::vector<int32_t>{-100, 300, INT32_MAX, INT32_MIN, 0, 7}));
  Tensor u = Tensor::full(Shape{2}, -3.0, DType::U8);
  EXPECT_EQ(u.to_vector<uint8_t>(), (std::vector<uint8_t>{0, 0}));
}

}  // namespace
}  // namespace cuseg
