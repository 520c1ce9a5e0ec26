#include "cuseg/dist/sync_batch_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cuseg/kernels/elementwise.h"

namespace cuseg {

namespace {

// Per-channel vectors ([C]) go through the host in double, whatever the tensors' device and type.
std::vector<double> host(const Tensor& t) { return t.to(Device::cpu()).to(DType::F64).to_vector<double>(); }

Tensor like(const std::vector<double>& values, const Tensor& t) {
  return Tensor::from_vector(values, t.shape()).to(t.dtype()).to(t.device());
}

}  // namespace

double sync_batch_norm_forward_training(Communicator& ranks, const Tensor& x, const Tensor& gamma,
                                        const Tensor& beta, Tensor& y, Tensor& save_mean,
                                        Tensor& save_invstd, Tensor& running_mean, Tensor& running_var,
                                        bool relu, const BatchNormParams& p, Backend backend) {
  CUSEG_CHECK(x.rank() == 4, "sync_batch_norm_forward_training: x must be NHWC, not ", x.str());
  const size_t C = size_t(x.dim(3));
  const double n = double(x.numel()) / double(C);
  // This rank's statistics; its running statistics are left alone here (scratch copies).
  Tensor scratch_mean = running_mean.clone(), scratch_var = running_var.clone();
  if (relu)
    batch_norm_relu_forward_training(x, gamma, beta, y, save_mean, save_invstd, scratch_mean, scratch_var, p, backend);
  else
    batch_norm_forward_training(x, gamma, beta, y, save_mean, save_invstd, scratch_mean, scratch_var, p, backend);
  const std::vector<double> mean = host(save_mean), invstd = host(save_invstd);
  std::vector<double> sums(2 * C + 1);  // count, Σx per channel, Σx² per channel
  sums[0] = n;
  for (size_t c = 0; c < C; ++c) {
    const double var = std::max(0.0, 1.0 / (invstd[c] * invstd[c]) - p.eps);
    sums[1 + c] = n * mean[c];
    sums[1 + C + c] = n * (var + mean[c] * mean[c]);
  }
  ranks.allreduce_sum(sums.data(), sums.size(), "the batch-norm statistics");
  const double count = sums[0];
  std::vector<double> global_mean(C), global_var(C), global_invstd(C);
  std::vector<double> rm = host(running_mean), rv = host(running_var);
  for (size_t c = 0; c < C; ++c) {
    global_mean[c] = sums[1 + c] / count;
    global_var[c] = std::max(0.0, sums[1 + C + c] / count - global_mean[c] * global_mean[c]);
    global_invstd[c] = 1.0 / std::sqrt(global_var[c] + p.eps);
    rm[c] = (1 - p.momentum) * rm[c] + p.momentum * global_mean[c];
    rv[c] = (1 - p.momentum) * rv[c] + p.momentum * global_var[c] * count / (count - 1);
  }
  // y from the global statistics: the inference op normalizes with whatever statistics it is given.
  const Tensor m = like(global_mean, save_mean), v = like(global_var, save_mean);
  if (relu) batch_norm_relu_forward_inference(x, gamma, beta, m, v, y, p, backend);
  else batch_norm_forward_inference(x, gamma, beta, m, v, y, p, backend);
  save_mean.copy_from(m);
  save_invstd.copy_from(like(global_invstd, save_invstd));
  running_mean.copy_from(like(rm, running_mean));
  running_var.copy_from(like(rv, running_var));
  return count;
}

void sync_batch_norm_backward(Communicator& ranks, double count, const Tensor& x, const Tensor& y,
                              const Tensor& dy, const Tensor& gamma, const Tensor& save_mean,
                              const Tensor& save_invstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                              bool relu, const BatchNormParams& p, Backend backend) {
  const size_t C = size_t(x.dim(3));
  const double n = double(x.numel()) / double(C);
  Tensor dg = Tensor::zeros(gamma.shape(), gamma.dtype(), gamma.device());
  Tensor db = Tensor::zeros(gamma.shape(), gamma.dtype(), gamma.device());
  if (relu) batch_norm_relu_backward(x, y, dy, gamma, save_mean, save_invstd, dx, dg, db, p, backend);
  else batch_norm_backward(x, dy, gamma, save_mean, save_invstd, dx, dg, db, p, backend);
  axpy(1.0, dg, dgamma);  // the rank's own sums (the trainer sums parameter gradients over ranks)
  axpy(1.0, db, dbeta);
  const std::vector<double> local_dg = host(dg), local_db = host(db);
  std::vector<double> sums(2 * C);  // Σdy·x̂, Σdy per channel, over every rank
  std::copy(local_dg.begin(), local_dg.end(), sums.begin());
  std::copy(local_db.begin(), local_db.end(), sums.begin() + long(C));
  ranks.allreduce_sum(sums.data(), sums.size(), "the batch-norm gradient sums");
  // dx − dx_local = γ·invstd·((dβ_r/n − dβ/M) + x̂·(dγ_r/n − dγ/M)): an affine function of x̂
  // per channel, which the inference op computes with statistics that make its x̂ this one.
  const std::vector<double> g = host(gamma), mean = host(save_mean), invstd = host(save_invstd);
  std::vector<double> scale(C), shift(C), var(C);
  for (size_t c = 0; c < C; ++c) {
    scale[c] = g[c] * invstd[c] * (local_dg[c] / n - sums[c] / count);
    shift[c] = g[c] * invstd[c] * (local_db[c] / n - sums[C + c] / count);
    var[c] = 1.0 / (invstd[c] * invstd[c]) - p.eps;
  }
  Tensor correction = Tensor::empty(dx.shape(), dx.dtype(), dx.device());
  batch_norm_forward_inference(x, like(scale, gamma), like(shift, gamma), save_mean, like(var, save_mean), correction,
                               p, backend);
  axpy(1.0, correction, dx);
}

}  // namespace cuseg
