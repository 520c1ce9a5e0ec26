#include "cuseg/kernels/concat.h"

#include "cuseg/kernels/cpu/copy_columns.h"
#include "cuseg/kernels/dispatch.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/copy_columns.h"
#endif

namespace cuseg {

using detail::Impl;

namespace {

// The whole tensor `whole` and its channel blocks `parts`: validates, returns the row count.
int64_t check_blocks(const char* op, const Tensor& whole, const std::vector<Tensor>& parts) {
  detail::check_shapes(op, {{"whole", whole}}, -1);
  CUSEG_CHECK(!parts.empty(), op, ": no parts");
  const int rank = whole.rank();
  CUSEG_CHECK(rank >= 1, op, ": tensors need at least one dimension");
  int64_t channels = 0;
  for (size_t k = 0; k < parts.size(); ++k) {
    const Tensor& p = parts[k];
    const std::string name = str_cat("part ", k);
    detail::check_shapes(op, {{name.c_str(), p}}, rank);
    detail::check_float_args(op, {{"whole", whole}, {name.c_str(), p}});
    for (int d = 0; d + 1 < rank; ++d)
      CUSEG_CHECK(p.dim(d) == whole.dim(d), op, ": part ", k, " ", p.shape().str(), " does not match ",
                  whole.shape().str(), " outside the channel dimension");
    channels += p.dim(rank - 1);
  }
  CUSEG_CHECK(channels == whole.dim(rank - 1), op, ": the parts have ", channels, " channels, the whole ",
              whole.dim(rank - 1), " (", whole.shape().str(), ")");
  return whole.numel() / channels;
}

// Copies between `whole` and each part's channel block; into the parts when `split`.
void move_blocks(const char* op, const Tensor& whole, const std::vector<Tensor>& parts, bool split) {
  const int64_t rows = check_blocks(op, whole, parts);
  const int64_t total = whole.dim(whole.rank() - 1);
  const Impl impl = detail::choose_impl(op, whole.device(), whole.dtype(), Backend::Auto);
  int64_t offset = 0;
  for (const Tensor& p : parts) {
    const int64_t c = p.dim(p.rank() - 1);
    if (impl == Impl::Reference) {
      detail::cpu_dispatch(whole.dtype(), [&](auto tag) {
        using T = decltype(tag);
        if (split) {
          cpu::copy_columns<T>(whole.data<T>(), total, offset, p.data<T>(), c, 0, rows, c);
        } else {
          cpu::copy_columns<T>(p.data<T>(), c, 0, whole.data<T>(), total, offset, rows, c);
        }
      });
    } else if (split) {
      CUSEG_IF_CUDA(cuda::copy_columns(whole.data<float>(), total, offset, p.data<float>(), c, 0, rows, c,
                                       whole.device().index));
    } else {
      CUSEG_IF_CUDA(cuda::copy_columns(p.data<float>(), c, 0, whole.data<float>(), total, offset, rows, c,
                                       whole.device().index));
    }
    offset += c;
  }
}

}  // namespace

void concat_channels(const std::vector<Tensor>& inputs, Tensor& out) {
  move_blocks("concat_channels", out, inputs, false);
}

void split_channels(const Tensor& in, std::vector<Tensor>& outputs) { move_blocks("split_channels", in, outputs, true); }

}  // namespace cuseg
