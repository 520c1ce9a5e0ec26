#include "cuseg/data/statistics.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

namespace cuseg {

void Normalization::validate(int channels) const {
  if (empty()) return;
  CUSEG_CHECK(int(mean.size()) == channels && int(std.size()) == channels, "normalization: ", mean.size(),
              " means and ", std.size(), " standard deviations for ", channels, " channels");
  for (double s : std) CUSEG_CHECK(s > 0 && std::isfinite(s), "normalization: standard deviation ", s, " is not positive");
  for (double m : mean) CUSEG_CHECK(std::isfinite(m), "normalization: mean ", m, " is not finite");
}

void Normalization::apply(Tensor& image) const {
  if (empty()) return;
  CUSEG_CHECK(image.device().is_cpu() && image.dtype() == DType::F32, "normalization: ", image.str(),
              " is not an f32 host tensor");
  const int64_t c = image.dim(image.rank() - 1);
  validate(int(c));
  std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) {
    scale[size_t(k)] = float(1.0 / std[size_t(k)]);
    shift[size_t(k)] = float(-mean[size_t(k)] / std[size_t(k)]);
  }
  float* x = image.data<float>();
  const int64_t n = image.numel();
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] * scale[size_t(i % c)] + shift[size_t(i % c)];
}

namespace {

struct SampleSums {
  bool ok = false;
  double pixels = 0;
  std::vector<double> sum, sum_sq, class_pixels;
};

SampleSums sums_of(const Sample& s, int classes, int ignore_index) {
  SampleSums r;
  r.ok = true;
  const int64_t c = s.image.dim(2), pixels = s.image.dim(0) * s.image.dim(1);
  r.pixels = double(pixels);
  r.sum.assign(size_t(c), 0);
  r.sum_sq.assign(size_t(c), 0);
  r.class_pixels.assign(size_t(classes), 0);
  const float* x = s.image.data<float>();
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t k = 0; k < c; ++k) {
      const double v = x[p * c + k];
      r.sum[size_t(k)] += v;
      r.sum_sq[size_t(k)] += v * v;
    }
  const uint8_t* l = s.labels.data<uint8_t>();
  for (int64_t p = 0; p < pixels; ++p)
    if (int(l[p]) != ignore_index && int(l[p]) < classes) r.class_pixels[l[p]] += 1;
  return r;
}

}  // namespace

DatasetStatistics compute_statistics(SegmentationDataset& dataset, int ignore_index, int threads) {
  const size_t n = dataset.size();
  const int classes = dataset.classes(), channels = dataset.channels();
  std::vector<SampleSums> per_sample(n);
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    try {
      for (size_t i = next++; i < n; i = next++) {
        std::optional<Sample> s = dataset.load(i);
        if (s) per_sample[i] = sums_of(*s, classes, ignore_index);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = n;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, threads); ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);

  DatasetStatistics st;
  std::vector<double> sum(size_t(channels), 0), sum_sq(size_t(channels), 0);
  st.class_pixels.assign(size_t(classes), 0);
  st.presence_pixels.assign(size_t(classes), 0);
  double pixels = 0;
  for (const SampleSums& s : per_sample) {
    if (!s.ok) continue;
    ++st.samples;
    pixels += s.pixels;
    for (int k = 0; k < channels; ++k) {
      sum[size_t(k)] += s.sum[size_t(k)];
      sum_sq[size_t(k)] += s.sum_sq[size_t(k)];
    }
    for (int k = 0; k < classes; ++k) {
      st.class_pixels[size_t(k)] += s.class_pixels[size_t(k)];
      if (s.class_pixels[size_t(k)] > 0) st.presence_pixels[size_t(k)] += s.pixels;
    }
  }
  CUSEG_CHECK(st.samples > 0, "dataset statistics: no readable sample among ", n);
  for (int k = 0; k < channels; ++k) {
    const double mean = sum[size_t(k)] / pixels;
    const double var = std::max(0.0, sum_sq[size_t(k)] / pixels - mean * mean);
    st.normalization.mean.push_back(mean);
    // A constant channel would divide by zero: keep it as it is, only centred.
    st.normalization.std.push_back(var > 1e-12 ? std::sqrt(var) : 1.0);
  }
  return st;
}

std::vector<double> median_frequency_weights(const DatasetStatistics& stats) {
  std::vector<double> freq;
  for (size_t k = 0; k < stats.class_pixels.size(); ++k)
    if (stats.class_pixels[k] > 0) freq.push_back(stats.class_pixels[k] / stats.presence_pixels[k]);
  CUSEG_CHECK(!freq.empty(), "class weights: no labelled pixel in the training split");
  std::vector<double> sorted = freq;
  std::sort(sorted.begin(), sorted.end());
  const size_t m = sorted.size();
  const double median = m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
  std::vector<double> w;
  for (size_t k = 0; k < stats.class_pixels.size(); ++k)
    w.push_back(stats.class_pixels[k] > 0 ? median / (stats.class_pixels[k] / stats.presence_pixels[k]) : 1.0);
  return w;
}

}  // namespace cuseg
