#include "cuseg/kernels/onednn/conv2d.h"

#include <array>
#include <map>
#include <memory>
#include <optional>

#include "cuseg/core/error.h"
#include "cuseg/kernels/onednn/engine.h"

namespace cuseg::onednn {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

std::string describe(const ConvGeometry& g, Precision precision) {
  return str_cat("x [", g.N, ",", g.H, ",", g.W, ",", g.C, "], w [", g.K, ",", g.R, ",", g.S, ",",
                 g.group_c(), "], y [", g.N, ",", g.P, ",", g.Q, ",", g.K, "], groups ", g.groups, ", stride ",
                 g.stride_h, "x", g.stride_w, ", pad (top, bottom, left, right) (", g.pad_h, ", ", g.pad_bottom,
                 ", ", g.pad_w, ", ", g.pad_right, "), dilation ", g.dil_h, "x", g.dil_w, ", ", precision_name(precision));
}

// KRSC weights as oneDNN sees them: [K, C, R, S] in ohwi order, or with groups the 5-D
// [g, K/g, C/g, R, S] in gohwi order, which is the same bytes (k = group·K/g + k').
memory::desc weights_md(const ConvGeometry& g) {
  if (g.groups == 1) return memory::desc({g.K, g.C, g.R, g.S}, dt::f32, tag::ohwi);
  return memory::desc({g.groups, g.group_k(), g.group_c(), g.R, g.S}, dt::f32, tag::gohwi);
}

// The primitives of one geometry and precision, made when first needed and kept for the thread's
// lifetime. Activations are described as NHWC exactly as they lie in memory; only the weights are
// reordered, into whatever layout oneDNN's fastest implementation wants (asking for a fixed KRSC
// layout gets a reference implementation orders of magnitude slower). In bf16 the activations a
// primitive reads are first converted into bf16 NHWC copies.
struct ConvPrimitives {
  dt compute;                     // what the primitives read: f32 or bf16
  memory::desc x_md, w_md, y_md;  // the caller's f32 tensors
  memory::desc x_in, y_in;        // x and dy as the primitives read them
  memory::dims strides, dilates, pad_l, pad_r;
  std::optional<dnnl::reorder> x_to_in, y_to_in;  // f32 → bf16, in bf16 only

  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  std::optional<dnnl::reorder> w_to_fwd;  // KRSC → fwd_pd's weights, when they differ

  std::optional<dnnl::convolution_backward_data::primitive_desc> bwd_data_pd;
  std::optional<dnnl::convolution_backward_data> bwd_data;
  std::optional<dnnl::reorder> w_to_bwd_data;

  std::optional<dnnl::convolution_backward_weights::primitive_desc> bwd_w_pd;
  std::optional<dnnl::convolution_backward_weights> bwd_w;
  std::optional<dnnl::reorder> dw_accumulate;  // dw(KRSC) += its computed layout

  ConvPrimitives(const ConvGeometry& g, Precision precision)
      : compute(precision == Precision::Bf16 ? dt::bf16 : dt::f32),
        x_md({g.N, g.C, g.H, g.W}, dt::f32, tag::nhwc),
        w_md(weights_md(g)),
        y_md({g.N, g.K, g.P, g.Q}, dt::f32, tag::nhwc),
        x_in({g.N, g.C, g.H, g.W}, compute, tag::nhwc),
        y_in({g.N, g.K, g.P, g.Q}, compute, tag::nhwc),
        strides{g.stride_h, g.stride_w},
        dilates{g.dil_h - 1, g.dil_w - 1},  // oneDNN counts the gaps: 0 is no dilation
        pad_l{g.pad_h, g.pad_w},
        // The bottom/right padding that makes oneDNN's output size ours: pad_bottom and pad_right
        // where the last window ends exactly there, less (negative, even) where the last input
        // rows are read by no window.
        pad_r{int64_t(g.P - 1) * g.stride_h + int64_t(g.dil_h) * (g.R - 1) + 1 - g.H - g.pad_h,
              int64_t(g.Q - 1) * g.stride_w + int64_t(g.dil_w) * (g.S - 1) + 1 - g.W - g.pad_w} {
    if (compute != dt::f32) {
      x_to_in.emplace(dnnl::reorder::primitive_desc(engine(), x_md, engine(), x_in));
      y_to_in.emplace(dnnl::reorder::primitive_desc(engine(), y_md, engine(), y_in));
    }
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training,
                                      dnnl::algorithm::convolution_direct, x_in, w_any(compute), y_md,
                                      strides, dilates, pad_l, pad_r);
    fwd_pd = dnnl::convolution_forward::primitive_desc(d, attr(), engine());
    fwd = dnnl::convolution_forward(fwd_pd);
    w_to_fwd = reorder_if_needed(w_md, fwd_pd.weights_desc());
  }

  void make_backward_data() {
    if (bwd_data) return;
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, x_md, w_any(compute),
                                            y_in, strides, dilates, pad_l, pad_r);
    bwd_data_pd.emplace(d, attr(), engine(), fwd_pd);
    bwd_data.emplace(*bwd_data_pd);
    w_to_bwd_data = reorder_if_needed(w_md, bwd_data_pd->weights_desc());
  }

  void make_backward_weights() {
    if (bwd_w) return;
    dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, x_in,
                                               w_any(dt::f32), y_in, strides, dilates, pad_l, pad_r);
    bwd_w_pd.emplace(d, attr(), engine(), fwd_pd);
    bwd_w.emplace(*bwd_w_pd);
    // The reorder's sum post-op adds into dw, which is how the accumulating contract is kept
    // without a second pass over dw.
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    dnnl::primitive_attr accumulate;
    accumulate.set_post_ops(sum);
    dw_accumulate.emplace(
        dnnl::reorder::primitive_desc(engine(), bwd_w_pd->diff_weights_desc(), engine(), w_md, accumulate));
  }

  memory::desc w_any(dt type) const { return memory::desc(w_md.dims(), type, tag::any); }

  static std::optional<dnnl::reorder> reorder_if_needed(const memory::desc& from, const memory::desc& to) {
    if (from == to) return std::nullopt;
    return dnnl::reorder(dnnl::reorder::primitive_desc(engine(), from, engine(), to));
  }

  static dnnl::primitive_attr attr() {
    dnnl::primitive_attr a;
    a.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // our per-thread buffer, kept
    return a;
  }
};

using Key = std::array<int, 17>;

ConvPrimitives& primitives(const ConvGeometry& g, Precision precision) {
  thread_local std::map<Key, std::unique_ptr<ConvPrimitives>> cache;
  const Key key{g.N,        g.H,        g.W,     g.C,     g.K,     g.R,     g.S,     g.P,
                g.Q,        g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.dil_h, g.dil_w, g.groups, int(precision)};
  std::unique_ptr<ConvPrimitives>& p = cache[key];
  if (!p) p = std::make_unique<ConvPrimitives>(g, precision);
  return *p;
}

memory user(const memory::desc& md, const float* p) { return memory(md, engine(), const_cast<float*>(p)); }

memory scratch_memory(const memory::desc& md, int slot) { return memory(md, engine(), scratch(slot, md.get_size())); }

// `from` as the primitive reads it: itself, or converted/reordered into scratch buffer `slot`.
memory converted(const std::optional<dnnl::reorder>& to, const memory::desc& want, memory from, int slot) {
  if (!to) return from;
  memory m = scratch_memory(want, slot);
  to->execute(stream(), from, m);
  return m;
}

}  // namespace

void require_bf16(const char* op) {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  CUSEG_CHECK(isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx, op,
              ": bf16 needs a CPU with AVX512-BF16 or AMX-BF16 instructions; this one offers oneDNN ",
              isa_name());
}

void conv2d_forward(const float* x, const float* w, float* y, const ConvGeometry& g, Precision precision) {
  guarded("conv2d_forward", describe(g, precision), [&] {
    ConvPrimitives& p = primitives(g, precision);
    p.fwd.execute(stream(),
                  {{DNNL_ARG_SRC, converted(p.x_to_in, p.x_in, user(p.x_md, x), kSrc)},
                   {DNNL_ARG_WEIGHTS, converted(p.w_to_fwd, p.fwd_pd.weights_desc(), user(p.w_md, w), kWeights)},
                   {DNNL_ARG_DST, user(p.y_md, y)},
                   {DNNL_ARG_SCRATCHPAD, scratch_memory(p.fwd_pd.scratchpad_desc(), kScratchpad)}});
    stream().wait();
  });
}

void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                          Precision precision) {
  guarded("conv2d_backward_data", describe(g, precision), [&] {
    ConvPrimitives& p = primitives(g, precision);
    p.make_backward_data();
    p.bwd_data->execute(
        stream(),
        {{DNNL_ARG_DIFF_DST, converted(p.y_to_in, p.y_in, user(p.y_md, dy), kDiffDst)},
         {DNNL_ARG_WEIGHTS, converted(p.w_to_bwd_data, p.bwd_data_pd->weights_desc(), user(p.w_md, w), kWeights)},
         {DNNL_ARG_DIFF_SRC, user(p.x_md, dx)},
         {DNNL_ARG_SCRATCHPAD, scratch_memory(p.bwd_data_pd->scratchpad_desc(), kScratchpad)}});
    stream().wait();
  });
}

void conv2d_backward_filter(const float* x, const float* dy, float* dw, const ConvGeometry& g,
                            Precision precision) {
  guarded("conv2d_backward_filter", describe(g, precision), [&] {
    ConvPrimitives& p = primitives(g, precision);
    p.make_backward_weights();
    memory dwk = scratch_memory(p.bwd_w_pd->diff_weights_desc(), kDiffWeights);
    p.bwd_w->execute(stream(), {{DNNL_ARG_SRC, converted(p.x_to_in, p.x_in, user(p.x_md, x), kSrc)},
                                {DNNL_ARG_DIFF_DST, converted(p.y_to_in, p.y_in, user(p.y_md, dy), kDiffDst)},
                                {DNNL_ARG_DIFF_WEIGHTS, dwk},
                                {DNNL_ARG_SCRATCHPAD, scratch_memory(p.bwd_w_pd->scratchpad_desc(), kScratchpad)}});
    memory dw_user = user(p.w_md, dw);
    p.dw_accumulate->execute(stream(), dwk, dw_user);
    stream().wait();
  });
}

}  // namespace cuseg::onednn
