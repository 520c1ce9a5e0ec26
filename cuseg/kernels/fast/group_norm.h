// The fast CPU path's group normalization, f32. Semantics as in kernels/group_norm.h; the
// reference is cpu/group_norm.
//
// The reference walks each (n, g) group on its own: C/G consecutive floats of every pixel, so
// each of the G groups of a sample reads all of the sample's cache lines. Here each sample's
// pixels are read in chunks of rows with every channel at once (channel_sums.h, vectorized
// across channels): per-channel moments in double, merged over the chunks in order and then over
// the channels of each group (Chan et al.), so one read of x gives the statistics, and the same
// bits on any number of threads. Backward likewise: per-channel Σdy and Σdy·(x − mean) of each
// sample give dγ, dβ and the group sums of dx.
//
// `relu` fuses a ReLU into the forward (y = max(GN(x), 0)); a non-null `y` in the backward is
// that output, and dy is masked by y > 0 on the fly: no tensor between the two.
#pragma once

#include "cuseg/kernels/geometry.h"

namespace cuseg::fast {

void group_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                        float* save_mean, float* save_invstd, const GroupGeometry& g, double eps,
                        bool relu);
void group_norm_backward(const float* x, const float* y, const float* dy, const float* gamma,
                         const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                         float* dbeta, const GroupGeometry& g);

}  // namespace cuseg::fast
