// Batch normalization in training mode over the union of every rank's batch: the statistics, the
// running statistics and the backward's two sums are those one process would compute on the
// global batch, so that 2 ranks × 8 images train like 1 × 16 (train/trainer.h, --sync-bn).
//
// Built from the ops of kernels/batch_norm.h on any device, as PyTorch's SyncBatchNorm is:
//   forward   each rank's mean and invstd (a training-mode pass on scratch running statistics),
//             the variance back as 1/invstd² − eps; the ranks' counts, Σx and Σx² (from mean and
//             variance, in double) summed; y from the global mean and variance by the inference
//             op; the running statistics updated with the global unbiased variance.
//   backward  the local backward gives dγ_r = Σdy·x̂ and dβ_r = Σdy over the rank's part and the
//             local dx = γ·invstd·(dy − dβ_r/M_r − x̂·dγ_r/M_r); the ranks' sums are summed, and
//             dx is corrected by the per-channel affine function of x̂ that turns the local means
//             into the global ones (the inference op again, with scale and shift chosen so).
//             dγ and dβ accumulate the rank's own sums: the trainer sums parameter gradients
//             over the ranks anyway.
// The cost over plain batch norm: one more pass over x in each direction, and two collectives
// of 2C+1 numbers per layer and step.
#pragma once

#include "cuseg/dist/communicator.h"
#include "cuseg/kernels/batch_norm.h"

namespace cuseg {

// As batch_norm(_relu)_forward_training; returns the global element count per channel (M over
// all ranks), which the backward needs.
double sync_batch_norm_forward_training(Communicator& ranks, const Tensor& x, const Tensor& gamma,
                                        const Tensor& beta, Tensor& y, Tensor& save_mean,
                                        Tensor& save_invstd, Tensor& running_mean, Tensor& running_var,
                                        bool relu, const BatchNormParams& p, Backend backend);

// As batch_norm(_relu)_backward (y: the forward's output, used with relu), with `count` from the
// forward.
void sync_batch_norm_backward(Communicator& ranks, double count, const Tensor& x, const Tensor& y,
                              const Tensor& dy, const Tensor& gamma, const Tensor& save_mean,
                              const Tensor& save_invstd, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                              bool relu, const BatchNormParams& p, Backend backend);

}  // namespace cuseg
