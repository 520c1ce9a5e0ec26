#include "cuseg/core/error.h"
#include "cuseg/kernels/concat.h"
#include "cuseg/layers/layers.h"

namespace cuseg {

Shape BinaryLogits::output_shape(const std::vector<Shape>& in) const {
  CUSEG_CHECK(in.size() == 1 && in[0].rank() == 4 && in[0][3] == 1, where(), ": expects one [N, H, W, 1] input, got ",
              in.empty() ? std::string("none") : in[0].str());
  return Shape{in[0][0], in[0][1], in[0][2], 2};
}

void BinaryLogits::forward(const std::vector<Tensor>& in, Tensor& out) {
  const Tensor& z = in.at(0);
  if (!zeros_.defined() || !(zeros_.shape() == z.shape()) || zeros_.dtype() != z.dtype() ||
      zeros_.device() != z.device())
    zeros_ = Tensor::zeros(z.shape(), z.dtype(), z.device());
  concat_channels({zeros_, z}, out, backend_);
}

void BinaryLogits::backward(const std::vector<Tensor>& in, const Tensor&, const Tensor& dout,
                            std::vector<Tensor>& din) {
  if (!din.at(0).defined()) return;
  std::vector<Tensor> parts = {Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device()), din[0]};
  split_channels(dout, parts, backend_);
}

}  // namespace cuseg
