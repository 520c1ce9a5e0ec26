#include "cuseg/kernels/onednn/conv2d.h"

#include <array>
#include <cstdlib>
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

memory scratch_memory(const memory::desc& md, int slot) { return memory(md, engine(), scratch(slot, md.get_size())); }

// One activation as a primitive reads or writes it: the caller's own f32 NHWC tensor where the
// layouts agree, otherwise a copy in scratch buffer `slot` reached through a reorder (the bf16
// conversion; oneDNN's blocked layout for Winograd).
struct Operand {
  memory::desc want;                     // the primitive's
  std::optional<dnnl::reorder> reorder;  // caller → want for an input, want → caller for an output
  int slot = 0;

  Operand() = default;
  Operand(const memory::desc& caller, const memory::desc& primitive, int scratch_slot, bool is_output)
      : want(primitive), slot(scratch_slot) {
    if (caller == primitive) return;
    reorder.emplace(is_output ? dnnl::reorder::primitive_desc(engine(), primitive, engine(), caller)
                              : dnnl::reorder::primitive_desc(engine(), caller, engine(), primitive));
  }
  // An input: the caller's tensor, or it converted into scratch.
  memory read(memory caller) const {
    if (!reorder) return caller;
    memory m = scratch_memory(want, slot);
    reorder->execute(stream(), caller, m);
    return m;
  }
  // An output: where the primitive writes; finish() brings it to the caller's tensor.
  memory target(memory caller) const { return reorder ? scratch_memory(want, slot) : caller; }
  void finish(memory written, memory caller) const {
    if (reorder) reorder->execute(stream(), written, caller);
  }
};

// Winograd F(4×4, 3×3) (oneDNN's jit_wino_4x3, AVX-512, f32 only): a 3×3 stride-1 convolution
// in about half the multiplications of the direct one, forward and both backward directions, but
// on oneDNN's blocked activation layout, so every call reorders its activations from and to NHWC.
// Timed against the direct NHWC primitives on each of unet-s's layers (batch 16 at 64×64 and
// batch 4 at 256×256, 2 threads; bench/RESULTS.md, 2026-12-07) it was 1.2–2.1× faster, reorders
// included, from 32 channels in and out and 4096 output pixels up, and slower below. Its error
// against float64 stays at float32's level (the registry's Winograd cases); CUSEG_CONV_WINOGRAD=0
// turns it off.
bool winograd_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("CUSEG_CONV_WINOGRAD");
    return v == nullptr || std::string(v) != "0";
  }();
  return on;
}

bool use_winograd(const ConvGeometry& g, Precision precision) {
  return winograd_enabled() && precision == Precision::F32 && g.groups == 1 && g.R == 3 && g.S == 3 &&
         g.stride_h == 1 && g.stride_w == 1 && g.dil_h == 1 && g.dil_w == 1 && g.C >= 32 && g.K >= 32 &&
         g.C % 16 == 0 && g.K % 16 == 0 && int64_t(g.N) * g.P * g.Q >= 4096 &&
         dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core;
}

// The primitives of one geometry and precision, made when first needed and kept for the thread's
// lifetime. Direct convolutions read and write NHWC exactly as it lies in memory; only the weights
// are reordered, into whatever layout oneDNN's fastest implementation wants (asking for a fixed
// KRSC layout gets a reference implementation orders of magnitude slower). In bf16 the
// activations a primitive reads are first converted into bf16 NHWC copies; under Winograd every
// activation goes through oneDNN's blocked layout.
struct ConvPrimitives {
  dt compute;                     // what the primitives read: f32 or bf16
  memory::desc x_md, w_md, y_md;  // the caller's f32 tensors
  memory::dims strides, dilates, pad_l, pad_r;
  dnnl::algorithm algorithm = dnnl::algorithm::convolution_direct;

  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  Operand fwd_x, fwd_y;
  std::optional<dnnl::reorder> w_to_fwd;  // KRSC → fwd_pd's weights, when they differ

  std::optional<dnnl::convolution_backward_data::primitive_desc> bwd_data_pd;
  std::optional<dnnl::convolution_backward_data> bwd_data;
  Operand bwd_data_dy, bwd_data_dx;
  std::optional<dnnl::reorder> w_to_bwd_data;

  std::optional<dnnl::convolution_backward_weights::primitive_desc> bwd_w_pd;
  std::optional<dnnl::convolution_backward_weights> bwd_w;
  Operand bwd_w_x, bwd_w_dy;
  std::optional<dnnl::reorder> dw_accumulate;  // dw(KRSC) += its computed layout

  ConvPrimitives(const ConvGeometry& g, Precision precision)
      : compute(precision == Precision::Bf16 ? dt::bf16 : dt::f32),
        x_md({g.N, g.C, g.H, g.W}, dt::f32, tag::nhwc),
        w_md(weights_md(g)),
        y_md({g.N, g.K, g.P, g.Q}, dt::f32, tag::nhwc),
        strides{g.stride_h, g.stride_w},
        dilates{g.dil_h - 1, g.dil_w - 1},  // oneDNN counts the gaps: 0 is no dilation
        pad_l{g.pad_h, g.pad_w},
        // The bottom/right padding that makes oneDNN's output size ours: pad_bottom and pad_right
        // where the last window ends exactly there, less (negative, even) where the last input
        // rows are read by no window.
        pad_r{int64_t(g.P - 1) * g.stride_h + int64_t(g.dil_h) * (g.R - 1) + 1 - g.H - g.pad_h,
              int64_t(g.Q - 1) * g.stride_w + int64_t(g.dil_w) * (g.S - 1) + 1 - g.W - g.pad_w} {
    if (use_winograd(g, precision)) {
      try {
        make_forward(dnnl::algorithm::convolution_winograd);
        return;
      } catch (const dnnl::error&) {
        // This oneDNN has no Winograd for these shapes: the direct convolution serves.
      }
    }
    make_forward(dnnl::algorithm::convolution_direct);
  }

  bool winograd() const { return algorithm == dnnl::algorithm::convolution_winograd; }

  // The activations' descriptions a primitive is asked for: exactly NHWC for the direct
  // convolution (f32 or bf16 as computed), "any" for Winograd, which picks its blocked layout.
  memory::desc activation(const memory::desc& user, dt type) const {
    return memory::desc(user.dims(), type, winograd() ? tag::any : tag::nhwc);
  }
  memory::desc w_any(dt type) const { return memory::desc(w_md.dims(), type, tag::any); }

  void make_forward(dnnl::algorithm a) {
    algorithm = a;
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, a, activation(x_md, compute),
                                      w_any(compute), activation(y_md, dt::f32), strides, dilates, pad_l, pad_r);
    fwd_pd = dnnl::convolution_forward::primitive_desc(d, attr(), engine());
    fwd = dnnl::convolution_forward(fwd_pd);
    fwd_x = Operand(x_md, fwd_pd.src_desc(), kSrc, false);
    fwd_y = Operand(y_md, fwd_pd.dst_desc(), kDst, true);
    w_to_fwd = reorder_if_needed(w_md, fwd_pd.weights_desc());
  }

  void make_backward_data() {
    if (bwd_data) return;
    dnnl::convolution_backward_data::desc d(algorithm, activation(x_md, dt::f32), w_any(compute),
                                            activation(y_md, compute), strides, dilates, pad_l, pad_r);
    bwd_data_pd.emplace(d, attr(), engine(), fwd_pd);
    bwd_data.emplace(*bwd_data_pd);
    bwd_data_dy = Operand(y_md, bwd_data_pd->diff_dst_desc(), kDiffDst, false);
    bwd_data_dx = Operand(x_md, bwd_data_pd->diff_src_desc(), kDst, true);
    w_to_bwd_data = reorder_if_needed(w_md, bwd_data_pd->weights_desc());
  }

  void make_backward_weights() {
    if (bwd_w) return;
    dnnl::convolution_backward_weights::desc d(algorithm, activation(x_md, compute), w_any(dt::f32),
                                               activation(y_md, compute), strides, dilates, pad_l, pad_r);
    bwd_w_pd.emplace(d, attr(), engine(), fwd_pd);
    bwd_w.emplace(*bwd_w_pd);
    bwd_w_x = Operand(x_md, bwd_w_pd->src_desc(), kSrc, false);
    bwd_w_dy = Operand(y_md, bwd_w_pd->diff_dst_desc(), kDiffDst, false);
    // The reorder's sum post-op adds into dw, which is how the accumulating contract is kept
    // without a second pass over dw.
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    dnnl::primitive_attr accumulate;
    accumulate.set_post_ops(sum);
    dw_accumulate.emplace(
        dnnl::reorder::primitive_desc(engine(), bwd_w_pd->diff_weights_desc(), engine(), w_md, accumulate));
  }

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

// The weights as a primitive reads them: KRSC itself, or reordered into scratch.
memory weights(const std::optional<dnnl::reorder>& to, const memory::desc& want, memory from) {
  if (!to) return from;
  memory m = scratch_memory(want, kWeights);
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
    const memory y_user = user(p.y_md, y), y_written = p.fwd_y.target(y_user);
    p.fwd.execute(stream(), {{DNNL_ARG_SRC, p.fwd_x.read(user(p.x_md, x))},
                             {DNNL_ARG_WEIGHTS, weights(p.w_to_fwd, p.fwd_pd.weights_desc(), user(p.w_md, w))},
                             {DNNL_ARG_DST, y_written},
                             {DNNL_ARG_SCRATCHPAD, scratch_memory(p.fwd_pd.scratchpad_desc(), kScratchpad)}});
    p.fwd_y.finish(y_written, y_user);
    stream().wait();
  });
}

void conv2d_backward_data(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                          Precision precision) {
  guarded("conv2d_backward_data", describe(g, precision), [&] {
    ConvPrimitives& p = primitives(g, precision);
    p.make_backward_data();
    const memory dx_user = user(p.x_md, dx), dx_written = p.bwd_data_dx.target(dx_user);
    p.bwd_data->execute(
        stream(),
        {{DNNL_ARG_DIFF_DST, p.bwd_data_dy.read(user(p.y_md, dy))},
         {DNNL_ARG_WEIGHTS, weights(p.w_to_bwd_data, p.bwd_data_pd->weights_desc(), user(p.w_md, w))},
         {DNNL_ARG_DIFF_SRC, dx_written},
         {DNNL_ARG_SCRATCHPAD, scratch_memory(p.bwd_data_pd->scratchpad_desc(), kScratchpad)}});
    p.bwd_data_dx.finish(dx_written, dx_user);
    stream().wait();
  });
}

void conv2d_backward_filter(const float* x, const float* dy, float* dw, const ConvGeometry& g,
                            Precision precision) {
  guarded("conv2d_backward_filter", describe(g, precision), [&] {
    ConvPrimitives& p = primitives(g, precision);
    p.make_backward_weights();
    memory dwk = scratch_memory(p.bwd_w_pd->diff_weights_desc(), kDiffWeights);
    p.bwd_w->execute(stream(), {{DNNL_ARG_SRC, p.bwd_w_x.read(user(p.x_md, x))},
                                {DNNL_ARG_DIFF_DST, p.bwd_w_dy.read(user(p.y_md, dy))},
                                {DNNL_ARG_DIFF_WEIGHTS, dwk},
                                {DNNL_ARG_SCRATCHPAD, scratch_memory(p.bwd_w_pd->scratchpad_desc(), kScratchpad)}});
    memory dw_user = user(p.w_md, dw);
    p.dw_accumulate->execute(stream(), dwk, dw_user);
    stream().wait();
  });
}

bool uses_winograd(const ConvGeometry& g, Precision precision) { return primitives(g, precision).winograd(); }

}  // namespace cuseg::onednn
