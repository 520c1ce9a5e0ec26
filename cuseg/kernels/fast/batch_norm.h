// The fast CPU path's batch normalization over rows × channels (NHWC flattened), f32. Semantics
// as in kernels/batch_norm.h; the reference is cpu/batch_norm.
//
// The statistics are reduced in chunks of rows (parallel.h): each chunk's mean and sum of squared
// deviations in double, from two passes over the chunk while it is in cache, then the chunks
// merged in order (Chan et al.'s pairwise update). One read of x from memory, no E[x²] − E[x]²
// cancellation, and the same bits on any number of threads.
//
// `relu` fuses a ReLU into the forward (y = max(BN(x), 0)); a non-null `y` in the backward is
// that output, and dy is masked by y > 0 on the fly: no tensor between the two.
#pragma once

#include <cstdint>

namespace cuseg::fast {

void batch_norm_forward_training(const float* x, const float* gamma, const float* beta, float* y,
                                 float* save_mean, float* save_invstd, float* running_mean,
                                 float* running_var, int64_t rows, int channels, double eps,
                                 double momentum, bool relu);
void batch_norm_forward_inference(const float* x, const float* gamma, const float* beta,
                                  const float* running_mean, const float* running_var, float* y,
                                  int64_t rows, int channels, double eps, bool relu);
void batch_norm_backward(const float* x, const float* y, const float* dy, const float* gamma,
                         const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                         float* dbeta, int64_t rows, int channels);

}  // namespace cuseg::fast
