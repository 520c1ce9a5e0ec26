// The batch loader: its order is a permutation that depends only on (seed, epoch); batches are the
// same whatever the number of worker threads and wherever an epoch is started, so a resumed run
// sees exactly the data an uninterrupted one would; bad samples are replaced and counted, and a
// worker's error reaches the caller naming the file. Also the dataset statistics behind
// normalization and median-frequency class weights.
#include "cuseg/data/loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "cuseg/data/folder_dataset.h"
#include "cuseg/data/image_io.h"
#include "cuseg/data/synthetic.h"
#include "error_matchers.h"
#include "test_util.h"

namespace cuseg {
namespace {

namespace fs = std::filesystem;

SyntheticConfig small_synthetic() {
  SyntheticConfig c;
  c.height = c.width = 16;
  c.seed = 5;
  return c;
}

LoaderConfig loader_config(int workers) {
  LoaderConfig c;
  c.batch = 3;
  c.height = c.width = 16;
  c.shuffle = true;
  c.augment = true;
  c.workers = workers;
  c.seed = 11;
  return c;
}

std::vector<Batch> epoch_batches(BatchLoader& loader, int64_t epoch, int64_t first = 0) {
  std::vector<Batch> out;
  loader.start_epoch(epoch, first);
  Batch b;
  while (loader.next(b)) out.push_back(b);
  return out;
}

TEST(Loader, OrderIsAPermutationThatChangesWithTheEpoch) {
  SyntheticDataset data(small_synthetic(), 0, 20);
  BatchLoader loader(data, loader_config(1));
  const std::vector<size_t> a = loader.order(0), b = loader.order(1), a_again = loader.order(0);
  EXPECT_EQ(a, a_again);
  EXPECT_NE(a, b);
  std::vector<size_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ(sorted[i], i);
}

TEST(Loader, BatchesDoNotDependOnThreadsOrOnWhereTheEpochStarts) {
  SyntheticDataset data(small_synthetic(), 0, 20);
  BatchLoader one(data, loader_config(1)), four(data, loader_config(4));
  const std::vector<Batch> ref = epoch_batches(one, 2);
  ASSERT_EQ(ref.size(), 7u);  // 20 samples in batches of 3, the last one of 2
  EXPECT_EQ(ref.back().images.dim(0), 2);
  const std::vector<Batch> threaded = epoch_batches(four, 2);
  ASSERT_EQ(threaded.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_TRUE(test::identical(threaded[i].images, ref[i].images, "images", i));
    EXPECT_TRUE(test::identical(threaded[i].labels, ref[i].labels, "labels", i));
    EXPECT_EQ(threaded[i].names, ref[i].names);
  }
  // An epoch started at batch 4 — as a resumed run does — gives batches 4, 5, 6 of the full one,
  // even after the loader was in the middle of another epoch.
  four.start_epoch(0);
  Batch b;
  ASSERT_TRUE(four.next(b));
  const std::vector<Batch> tail = epoch_batches(four, 2, 4);
  ASSERT_EQ(tail.size(), 3u);
  for (size_t i = 0; i < tail.size(); ++i) {
    EXPECT_EQ(tail[i].index, int64_t(4 + i));
    EXPECT_TRUE(test::identical(tail[i].images, ref[4 + i].images, "resumed images", i));
  }
}

// Data parallelism: the shards' parts of each batch, in shard order, are the unsharded batch,
// augmentation draws included; a last batch of 2 rows over 3 shards gives one shard none.
TEST(Loader, TheShardsPartsOfABatchAreTogetherTheWholeBatch) {
  SyntheticDataset data(small_synthetic(), 0, 20);
  BatchLoader whole(data, loader_config(2));
  const std::vector<Batch> ref = epoch_batches(whole, 1);
  for (int shards : {2, 3}) {
    std::vector<std::vector<Batch>> parts;
    for (int shard = 0; shard < shards; ++shard) {
      LoaderConfig c = loader_config(2);
      c.shard = shard;
      c.shards = shards;
      BatchLoader loader(data, c);
      parts.push_back(epoch_batches(loader, 1));
      ASSERT_EQ(parts.back().size(), ref.size());
    }
    for (size_t b = 0; b < ref.size(); ++b) {
      std::vector<std::string> names;
      int64_t row = 0;
      for (int shard = 0; shard < shards; ++shard) {
        const Batch& part = parts[size_t(shard)][b];
        const int64_t rows = part.images.dim(0);
        EXPECT_EQ(rows, ref[b].images.dim(0) * (shard + 1) / shards - ref[b].images.dim(0) * shard / shards);
        names.insert(names.end(), part.names.begin(), part.names.end());
        if (rows == 0) continue;
        const Shape image{rows, 16, 16, 3};
        EXPECT_TRUE(test::identical(part.images, ref[b].images.view(image, row * 16 * 16 * 3), "part images", b));
        row += rows;
      }
      EXPECT_EQ(names, ref[b].names) << shards << " shards, batch " << b;
    }
  }
}

TEST(Loader, WithoutAugmentationBatchesHoldTheNormalizedSamplesInOrder) {
  SyntheticDataset data(small_synthetic(), 0, 5);
  LoaderConfig c = loader_config(2);
  c.shuffle = c.augment = false;
  c.drop_last = true;
  c.batch = 2;
  c.normalization.mean = {0.5, 0.25, 0.0};
  c.normalization.std = {2.0, 1.0, 0.5};
  BatchLoader loader(data, c);
  EXPECT_EQ(loader.batches(), 2);  // the fifth sample is dropped
  const std::vector<Batch> batches = epoch_batches(loader, 0);
  ASSERT_EQ(batches.size(), 2u);
  for (int64_t s = 0; s < 4; ++s) {
    const Sample expected = *data.load(size_t(s));
    const Batch& b = batches[size_t(s / 2)];
    const std::vector<float> got = b.images.to_vector<float>(), raw = expected.image.to_vector<float>();
    const size_t n = raw.size(), offset = size_t(s % 2) * n;
    for (size_t i = 0; i < n; i += 37) {
      const size_t k = i % 3;
      EXPECT_FLOAT_EQ(got[offset + i], float((raw[i] - c.normalization.mean[k]) / c.normalization.std[k])) << "sample " << s;
    }
    EXPECT_EQ(b.names[size_t(s % 2)], expected.name);
  }
}

class LoaderFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fresh_test_dir("cuseg_loader");
    for (const char* d : {"train/images", "train/masks"}) fs::create_directories(dir_ / d);
    for (int i = 0; i < 6; ++i) {
      const std::string name = str_cat("s", i, ".png");
      write_png((dir_ / "train/images" / name).string(), Tensor::full(Shape{8, 8, 3}, 10 * i, DType::U8));
      write_png((dir_ / "train/masks" / name).string(), Tensor::full(Shape{8, 8}, i % 2, DType::U8));
    }
    std::ofstream(dir_ / "train/images/s3.png") << "not a png";  // sample 3 is corrupt
  }
  void TearDown() override { fs::remove_all(dir_); }

  FolderDatasetConfig dataset(bool skip_bad) const {
    FolderDatasetConfig fc;
    fc.root = dir_.string();
    fc.classes = 2;
    fc.skip_bad = skip_bad;
    return fc;
  }
  // The samples in order, two by two, at their own size.
  static LoaderConfig in_order(int workers) {
    LoaderConfig c = loader_config(workers);
    c.height = c.width = 8;
    c.batch = 2;
    c.shuffle = c.augment = false;
    return c;
  }
  fs::path dir_;
};

TEST_F(LoaderFiles, ABadSampleStopsTheRunNamingTheFile) {
  FolderDataset data(dataset(false));
  BatchLoader loader(data, in_order(2));
  loader.start_epoch(0);
  Batch b;
  EXPECT_TRUE(loader.next(b));  // samples 0, 1
  test::expect_error([&] { while (loader.next(b)) {} }, {"s3.png", "not a"});
}

TEST_F(LoaderFiles, WithSkipBadABadSampleIsReplacedAndCountedOnce) {
  FolderDataset data(dataset(true));
  BatchLoader loader(data, in_order(3));
  for (int epoch = 0; epoch < 2; ++epoch) {
    const std::vector<Batch> batches = epoch_batches(loader, epoch);
    ASSERT_EQ(batches.size(), 3u);
    for (const Batch& b : batches) EXPECT_EQ(b.images.dim(0), 2);
    EXPECT_EQ(batches[1].names, (std::vector<std::string>{"s2", "s4"}));  // s3 replaced by the next good one
  }
  EXPECT_EQ(data.bad_samples(), 1);
  EXPECT_NE(data.last_problem().find("s3.png"), std::string::npos) << data.last_problem();
}

TEST(DatasetStatistics, MeanStdAndClassPixelsMatchADirectCount) {
  SyntheticDataset data(small_synthetic(), 0, 9);
  const DatasetStatistics one = compute_statistics(data, 255, 1), three = compute_statistics(data, 255, 3);
  EXPECT_EQ(one.normalization.mean, three.normalization.mean);  // bit for bit, whatever the threads
  EXPECT_EQ(one.normalization.std, three.normalization.std);
  EXPECT_EQ(one.class_pixels, three.class_pixels);
  std::vector<double> sum(3, 0), sq(3, 0), pixels(4, 0);
  double n = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    const Sample s = *data.load(i);
    const std::vector<float> x = s.image.to_vector<float>();
    for (size_t j = 0; j < x.size(); ++j) {
      sum[j % 3] += x[j];
      sq[j % 3] += double(x[j]) * x[j];
    }
    n += double(x.size()) / 3;
    for (uint8_t l : s.labels.to_vector<uint8_t>()) pixels[l] += 1;
  }
  for (int k = 0; k < 3; ++k) {
    const double mean = sum[size_t(k)] / n;
    EXPECT_NEAR(one.normalization.mean[size_t(k)], mean, 1e-12);
    EXPECT_NEAR(one.normalization.std[size_t(k)], std::sqrt(sq[size_t(k)] / n - mean * mean), 1e-9);
  }
  EXPECT_EQ(one.class_pixels, pixels);
  EXPECT_EQ(one.samples, 9);
}

TEST(DatasetStatistics, MedianFrequencyWeightsFavourRareClasses) {
  DatasetStatistics st;
  // freq = class/presence: 0.8, 0.1, 0.2; class 3 never seen. Median 0.2.
  st.class_pixels = {800, 50, 100, 0};
  st.presence_pixels = {1000, 500, 500, 0};
  const std::vector<double> w = median_frequency_weights(st);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_DOUBLE_EQ(w[0], 0.2 / 0.8);
  EXPECT_DOUBLE_EQ(w[1], 0.2 / 0.1);
  EXPECT_DOUBLE_EQ(w[2], 1.0);
  EXPECT_DOUBLE_EQ(w[3], 1.0);
}

}  // namespace
}  // namespace cuseg
