#include "cuseg/kernels/fast/bias.h"

#include <vector>

#include "cuseg/kernels/fast/parallel.h"

namespace cuseg::fast {

namespace {

CUSEG_ISA_CLONES void add_rows(float* y, const float* b, int64_t rows, int channels) {
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) y[r * channels + c] += b[c];
}

CUSEG_ISA_CLONES void sum_rows(const float* dy, int64_t rows, int channels, double* sum) {
  for (int c = 0; c < channels; ++c) sum[c] = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < channels; ++c) sum[c] += double(dy[r * channels + c]);
}

}  // namespace

void conv2d_bias_forward(float* y, const float* b, int64_t rows, int channels) {
  for_chunks(rows, row_chunk(channels), [&](int64_t, int64_t s, int64_t e) {
    add_rows(y + s * channels, b, e - s, channels);
  });
}

void conv2d_bias_backward(const float* dy, float* db, int64_t rows, int channels) {
  const size_t C = size_t(channels);
  const int64_t chunk = row_chunk(channels);
  std::vector<double> sums(size_t(chunk_count(rows, chunk)) * C);
  for_chunks(rows, chunk, [&](int64_t k, int64_t s, int64_t e) {
    sum_rows(dy + s * channels, e - s, channels, sums.data() + size_t(k) * C);
  });
  for (size_t c = 0; c < C; ++c) {
    double total = 0;
    for (size_t k = 0; k < sums.size() / C; ++k) total += sums[k * C + c];
    db[c] += float(total);
  }
}

}  // namespace cuseg::fast
