#include "cuseg/kernels/fast/group_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cuseg/kernels/fast/channel_sums.h"
#include "cuseg/kernels/fast/parallel.h"

namespace cuseg::fast {

namespace {

// The chunks of rows of every sample: chunk k is rows [begin, end) of sample k / per_sample.
struct SampleChunks {
  int64_t rows_per_sample, chunk, per_sample, count;
  SampleChunks(const GroupGeometry& g)
      : rows_per_sample(g.HW),
        chunk(row_chunk(g.C)),
        per_sample(chunk_count(g.HW, chunk)),
        count(int64_t(g.N) * per_sample) {}
  int64_t sample(int64_t k) const { return k / per_sample; }
  int64_t begin(int64_t k) const { return sample(k) * rows_per_sample + (k % per_sample) * chunk; }
  int64_t end(int64_t k) const {
    return sample(k) * rows_per_sample + std::min(rows_per_sample, (k % per_sample + 1) * chunk);
  }

  // f(k, first row, rows) for every chunk, in parallel; fixed by the shapes, not the threads.
  template <class F>
  void run(F&& f) const {
#pragma omp parallel for schedule(static) if (count > 1)
    for (int64_t k = 0; k < count; ++k) f(k, begin(k), end(k) - begin(k));
  }
};

}  // namespace

void group_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                        float* save_mean, float* save_invstd, const GroupGeometry& g, double eps,
                        bool relu) {
  const size_t C = size_t(g.C);
  const int cg = g.group_channels();
  const SampleChunks chunks(g);
  std::vector<double> moments(size_t(chunks.count) * 2 * C);  // per chunk: mean[C], m2[C]
  chunks.run([&](int64_t k, int64_t row, int64_t rows) {
    double* m = moments.data() + size_t(k) * 2 * C;
    chunk_moments(x + row * g.C, rows, g.C, m, m + C);
  });
  // Per sample and channel: the group's mean, and a = invstd·γ (normalize's arguments).
  std::vector<float> mean(size_t(g.N) * C), a(size_t(g.N) * C);
  for (int n = 0; n < g.N; ++n)
    for (int k = 0; k < g.G; ++k) {
      Moments group;
      for (int c = k * cg; c < (k + 1) * cg; ++c) {
        Moments channel;
        for (int64_t j = n * chunks.per_sample; j < (n + 1) * chunks.per_sample; ++j) {
          const double* mj = moments.data() + size_t(j) * 2 * C;
          channel.merge({double(chunks.end(j) - chunks.begin(j)), mj[c], mj[C + size_t(c)]});
        }
        group.merge(channel);
      }
      const double invstd = 1.0 / std::sqrt(group.m2 / group.n + eps);
      save_mean[n * g.G + k] = float(group.mean);
      save_invstd[n * g.G + k] = float(invstd);
      for (int c = k * cg; c < (k + 1) * cg; ++c) {
        mean[size_t(n) * C + size_t(c)] = float(group.mean);
        a[size_t(n) * C + size_t(c)] = float(invstd * double(gamma[c]));
      }
    }
  chunks.run([&](int64_t k, int64_t row, int64_t rows) {
    const size_t n = size_t(chunks.sample(k));
    normalize(x + row * g.C, y + row * g.C, rows, g.C, mean.data() + n * C, a.data() + n * C, beta,
              relu);
  });
}

void group_norm_backward(const float* x, const float* y, const float* dy, const float* gamma,
                         const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                         float* dbeta, const GroupGeometry& g) {
  const size_t C = size_t(g.C);
  const int cg = g.group_channels();
  const SampleChunks chunks(g);
  std::vector<float> mean(size_t(g.N) * C);  // the group's mean, per sample and channel
  for (int n = 0; n < g.N; ++n)
    for (int c = 0; c < g.C; ++c) mean[size_t(n) * C + size_t(c)] = save_mean[n * g.G + c / cg];
  std::vector<double> sums(size_t(chunks.count) * 2 * C);  // per chunk: Σdy [C], Σdy·(x − mean) [C]
  chunks.run([&](int64_t k, int64_t row, int64_t rows) {
    double* s = sums.data() + size_t(k) * 2 * C;
    chunk_grad_sums(x + row * g.C, y ? y + row * g.C : nullptr, dy + row * g.C, rows, g.C,
                    mean.data() + size_t(chunks.sample(k)) * C, s, s + C);
  });
  // dx = σ⁻¹·(γ·dy − Σγdy/M − x̂·Σ(γ·dy·x̂)/M), x̂ = (x − μ)·σ⁻¹, regrouped per channel as
  // dy·a + (x − μ)·b + k.
  std::vector<float> a(size_t(g.N) * C), b(a.size()), k(a.size());
  std::vector<double> sum_dy(size_t(g.N) * C), sum_dy_dev(size_t(g.N) * C);
  const double m = double(g.group_size());
  for (int n = 0; n < g.N; ++n)
    for (int group = 0; group < g.G; ++group) {
      const double invstd = double(save_invstd[n * g.G + group]);
      double sum_g = 0, sum_g_dev = 0;  // Σγ·dy and Σγ·dy·(x − μ) over the group
      for (int c = group * cg; c < (group + 1) * cg; ++c) {
        const size_t nc = size_t(n) * C + size_t(c);
        for (int64_t j = n * chunks.per_sample; j < (n + 1) * chunks.per_sample; ++j) {
          sum_dy[nc] += sums[size_t(j) * 2 * C + size_t(c)];
          sum_dy_dev[nc] += sums[size_t(j) * 2 * C + C + size_t(c)];
        }
        sum_g += double(gamma[c]) * sum_dy[nc];
        sum_g_dev += double(gamma[c]) * sum_dy_dev[nc];
      }
      for (int c = group * cg; c < (group + 1) * cg; ++c) {
        const size_t nc = size_t(n) * C + size_t(c);
        a[nc] = float(invstd * double(gamma[c]));
        b[nc] = float(-invstd * invstd * invstd * sum_g_dev / m);
        k[nc] = float(-invstd * sum_g / m);
      }
    }
  for (int c = 0; c < g.C; ++c) {  // the samples in order
    double db = 0, dg = 0;
    for (int n = 0; n < g.N; ++n) {
      db += sum_dy[size_t(n) * C + size_t(c)];
      dg += sum_dy_dev[size_t(n) * C + size_t(c)] * double(save_invstd[n * g.G + c / cg]);
    }
    dbeta[c] += float(db);
    dgamma[c] += float(dg);
  }
  chunks.run([&](int64_t j, int64_t row, int64_t rows) {
    const size_t n = size_t(chunks.sample(j));
    grad_combine(x + row * g.C, y ? y + row * g.C : nullptr, dy + row * g.C, dx + row * g.C, rows,
                 g.C, mean.data() + n * C, a.data() + n * C, b.data() + n * C, k.data() + n * C);
  });
}

}  // namespace cuseg::fast
