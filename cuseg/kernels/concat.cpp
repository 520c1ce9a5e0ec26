#include "cuseg/kernels/concat.h"

#include "cuseg/kernels/cpu/copy_columns.h"
#include "cuseg/kernels/op.h"
#if CUSEG_HAS_CUDA
#include "cuseg/kernels/cuda/copy_columns.h"
#endif

namespace cuseg {

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
struct Blocks {
  const Tensor& whole;
  const std::vector<Tensor>& parts;
  int64_t rows;
};

// Calls copy(src, src_stride, src_offset, dst, dst_stride, dst_offset, channels) for each part.
template <bool split, class Copy>
void for_each_block(const Blocks& b, Copy copy) {
  const int64_t total = b.whole.dim(b.whole.rank() - 1);
  int64_t offset = 0;
  for (const Tensor& p : b.parts) {
    const int64_t c = p.dim(p.rank() - 1);
    if (split) {
      copy(b.whole, total, offset, p, c, int64_t(0), c);
    } else {
      copy(p, c, int64_t(0), b.whole, total, offset, c);
    }
    offset += c;
  }
}

template <bool split>
detail::Op<Blocks> blocks_op(const char* name) {
  return detail::define_op<Blocks>({
      .name = name,
      .entry = name,
      .reference =
          [](const Blocks& b) {
            detail::cpu_dispatch(b.whole.dtype(), [&](auto tag) {
              using T = decltype(tag);
              for_each_block<split>(b, [&](const Tensor& src, int64_t ss, int64_t so, const Tensor& dst, int64_t ds,
                                           int64_t dof, int64_t c) {
                cpu::copy_columns<T>(src.data<T>(), ss, so, dst.data<T>(), ds, dof, b.rows, c);
              });
            });
          },
      .cuda = CUSEG_CUDA_IMPL([](const Blocks& b) {
        for_each_block<split>(b, [&](const Tensor& src, int64_t ss, int64_t so, const Tensor& dst, int64_t ds,
                                     int64_t dof, int64_t c) {
          cuda::copy_columns(src.data<float>(), ss, so, dst.data<float>(), ds, dof, b.rows, c, b.whole.device().index);
        });
      }),
  });
}

const auto kConcat = blocks_op<false>("concat_channels");
const auto kSplit = blocks_op<true>("split_channels");

}  // namespace

void concat_channels(const std::vector<Tensor>& inputs, Tensor& out, Backend backend) {
  const int64_t rows = check_blocks("concat_channels", out, inputs);
  detail::run(kConcat, out, backend, {out, inputs, rows});
}

void split_channels(const Tensor& in, std::vector<Tensor>& outputs, Backend backend) {
  const int64_t rows = check_blocks("split_channels", in, outputs);
  detail::run(kSplit, in, backend, {in, outputs, rows});
}

}  // namespace cuseg
