// Elementwise product with broadcasting: y = x ⊙ s, x [N, H, W, C] and s of rank 4 whose every
// dimension is 1 or x's (NumPy's and PyTorch's broadcasting, both of rank 4). The networks' cases:
// s [N, 1, 1, C] (channel attention, squeeze-and-excitation), s [N, H, W, 1] (spatial attention);
// s of x's shape is the plain elementwise product.
//
//   forward   y  = x ⊙ s                                   (assigned)
//   backward  dx = dy ⊙ s                                  (assigned)
//             ds = Σ over s's broadcast axes of dy ⊙ x     (assigned)
// backward's dx or ds may be undefined: that gradient is not wanted. The sums are deterministic:
// a fixed order, in double (the same bits on any thread count). y may alias x (in place); dx may
// alias dy. cuDNN has no implementation: its OpTensor could broadcast, but a descriptor per call
// buys nothing over a memory-bound kernel of our own.
#pragma once

#include "cuseg/core/tensor.h"
#include "cuseg/kernels/backend.h"

namespace cuseg {

// Throws unless s broadcasts to x as above; the shape of y.
Shape multiply_output_shape(const Shape& x, const Shape& s);

void multiply_forward(const Tensor& x, const Tensor& s, Tensor& y, Backend backend = Backend::Auto);
void multiply_backward(const Tensor& x, const Tensor& s, const Tensor& dy, Tensor& dx, Tensor& ds,
                       Backend backend = Backend::Auto);

}  // namespace cuseg
