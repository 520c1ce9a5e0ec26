#include "verify/registry.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>

#include "cuseg/config.h"
#include "cuseg/kernels/compute.h"
#include "verify/compare.h"

namespace cuseg {

namespace {

// What an output is poisoned with: NaN, or for integers a value no valid output takes (indices
// are never negative, masks are 0 or 1).
double poison_value(DType dtype) {
  if (is_floating(dtype)) return std::nan("");
  return dtype == DType::U8 ? 255.0 : double(INT_MIN / 2);
}

// Empty when `ref` holds no poison (nor any NaN or ±Inf); else how many elements and the first.
std::string unwritten_element(const Tensor& ref) {
  int64_t first = -1;
  int64_t n = count_nonfinite(ref, &first);
  if (!is_floating(ref.dtype())) {
    const std::vector<double> v = ref.to(Device::cpu()).to(DType::F64).to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i)
      if (v[i] == poison_value(ref.dtype()) && n++ == 0) first = int64_t(i);
  }
  if (n == 0) return {};
  return str_cat("has ", n, " unwritten or non-finite element(s), the first at ", coordinates(ref.shape(), first));
}

std::vector<std::pair<const char*, std::vector<OpSpec> (*)()>>& families() {
  static std::vector<std::pair<const char*, std::vector<OpSpec> (*)()>> all;
  return all;
}

bool on_gpu(Impl impl) { return impl == Impl::Cuda || impl == Impl::Cudnn; }

// Empty when every dispatch of `op` went to `impl` and there was one; else what happened.
std::string dispatch_mismatch(const std::string& op, Impl impl, const detail::DispatchTrace& trace) {
  int ran = 0;
  for (const detail::Dispatch& d : trace.dispatches()) {
    if (op != d.op) continue;
    if (d.impl != impl)
      return str_cat("the run dispatched ", op, " to ", detail::impl_name(d.impl), ", not ", detail::impl_name(impl),
                     " (does its spec pass its Exec to the entry point?)");
    ++ran;
  }
  if (ran == 0) return str_cat("the run never dispatched ", op);
  return {};
}

}  // namespace

Tensor poisoned(const Shape& shape, DType dtype, Device device) {
  return Tensor::full(shape, poison_value(dtype), dtype, device);
}

OpTests::OpTests(const char* family, std::vector<OpSpec> (*make)()) { families().push_back({family, make}); }

const std::vector<OpSpec>& op_registry() {
  static const std::vector<OpSpec> ops = [] {
    std::vector<OpSpec> all;
    for (const auto& [family, make] : families())
      for (OpSpec& spec : make()) {
        spec.info = detail::find_op_info(spec.name);
        all.push_back(std::move(spec));
      }
    return all;
  }();
  return ops;
}

const OpSpec& find_op(const std::string& name) {
  for (const OpSpec& op : op_registry())
    if (op.name == name) return op;
  throw_error("find_op: no op named '" + name + "'");
}

std::string OpTarget::name() const {
  return str_cat(op->name, "_", detail::impl_name(impl),
                 precision == Precision::F32 ? "" : str_cat("_", precision_name(precision)));
}

std::vector<OpTarget> op_targets(bool gpu) {
  std::vector<OpTarget> out;
  for (const OpSpec& op : op_registry()) {
    if (!op.info) continue;  // OpRegistry.EveryOpHasTestsAndEveryTestAnOp fails
    for (Impl impl : {Impl::Reference, Impl::Fast, Impl::Cuda, Impl::Cudnn}) {
      if (on_gpu(impl) != gpu || !op.info->built_impl(impl)) continue;
      out.push_back({&op, impl});
      if (impl == Impl::Fast && op.info->bf16) out.push_back({&op, impl, Precision::Bf16});
      if (impl == Impl::Cuda && op.info->tensor_cores)
        for (Precision p : {Precision::Tf32, Precision::Bf16}) out.push_back({&op, impl, p});
    }
  }
  return out;
}

double tolerance_of(const OpSpec& op, Precision precision) {
  switch (precision) {
    case Precision::F32:
      return op.tolerance;
    case Precision::Tf32:
      return op.tf32_tolerance;
    case Precision::Bf16:
      return op.bf16_tolerance;
  }
  return 0;
}

OpCheck check_op(const OpSpec& op, int i, Impl impl, uint64_t seed, Precision precision) {
  OpCheck r;
  r.op = op.name;
  r.case_label = op.cases[size_t(i)].label;
  r.impl = detail::impl_name(impl);
  r.precision = precision_name(precision);
  const Device device = on_gpu(impl) ? Device::cuda(0) : Device::cpu();
  const Exec exec{detail::backend_of(impl), precision};
  const double tolerance = tolerance_of(op, precision);
  try {
    CUSEG_CHECK(precision == Precision::F32 || tolerance > 0, op.name, " has no ", precision_name(precision),
                " tolerance");  // f32's may be 0: exact ops
    // The reference runs on exactly the values the float32 run gets (every f64 input rounded to
    // float32 and back), so the comparison measures the implementation's arithmetic, not how much
    // the op amplifies the rounding of its inputs: cross-entropy's logits of 1e4 move by up to
    // 5e-4 when rounded, which moves a probability by up to 1.2e-4, an element 10× off the 1e-5
    // bound with exact arithmetic (seen with seg_verify seeds 6, 11, 12, 13, 15, 29).
    std::vector<Tensor> inputs = op.make_inputs(i, seed);
    for (Tensor& t : inputs)
      if (t.defined() && t.dtype() == DType::F64) t = t.to(DType::F32).to(DType::F64);
    const std::vector<Tensor> ref = op.run(inputs, i, Backend::Reference);
    std::vector<Tensor> moved;
    for (const Tensor& t : inputs) {
      if (!t.defined()) {
        moved.emplace_back();
      } else {
        moved.push_back((t.dtype() == DType::F64 ? t.to(DType::F32) : t).to(device));
      }
    }
    op.run(moved, i, exec);  // warm-up: first-call costs (cuDNN's algorithm search) untimed
    synchronize(device);
    std::vector<Tensor> got;
    {
      const detail::DispatchTrace trace;
      const auto start = std::chrono::steady_clock::now();
      got = op.run(moved, i, exec);
      synchronize(device);
      r.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      if (const std::string wrong = dispatch_mismatch(op.name, impl, trace); !wrong.empty()) {
        r.detail = wrong;
        return r;
      }
    }

    r.pass = true;
    for (size_t k = 0; k < ref.size(); ++k) {
      // The reference's outputs were poisoned too: an element that neither implementation writes
      // is caught here. Every registered case's outputs are finite by construction (bounded
      // random inputs).
      if (const std::string unwritten = unwritten_element(ref[k]); !unwritten.empty()) {
        if (r.pass) r.detail = str_cat("output ", k, ": the reference ", unwritten, " (seed ", seed, ")");
        r.pass = false;
        continue;
      }
      const Comparison c = compare(got[k], ref[k]);
      const bool exact = !is_floating(ref[k].dtype());  // indices must match exactly
      const bool ok = exact ? (c.max_abs == 0 && c.nonfinite == 0) : c.ok(tolerance);
      r.rel_l2 = std::max(r.rel_l2, c.rel_l2);
      r.max_abs = std::max(r.max_abs, c.max_abs);
      r.max_rel = std::max(r.max_rel, c.max_rel());
      if (!ok && r.pass) {
        r.pass = false;
        r.detail = str_cat("output ", k, ": rel_l2 ", c.rel_l2, ", max_abs ", c.max_abs, " (", c.max_rel(),
                           " of max|ref| ", c.ref_max_abs, "), tolerance ", tolerance, ", ", c.nonfinite,
                           " non-finite mismatch(es), worst ", c.worst_where, " (seed ", seed, ")");
      }
    }
  } catch (const std::exception& e) {
    r.pass = false;
    r.detail = e.what();
  }
  return r;
}

std::string ops_table() {
  std::string out =
      "| op | entry point | reference | fast | cuda | cudnn |\n"
      "| --- | --- | :-: | :-: | :-: | :-: |\n";
  std::vector<detail::OpInfo> ops(detail::op_infos().begin(), detail::op_infos().end());  // in the order of their entry points, then names
  std::sort(ops.begin(), ops.end(), [](const detail::OpInfo& a, const detail::OpInfo& b) {
    return std::string_view(a.entry) != b.entry ? std::string_view(a.entry) < b.entry
                                                : std::string_view(a.name) < b.name;
  });
  for (const detail::OpInfo& op : ops) {
    out += str_cat("| `", op.name, "` | `", op.entry, "` |");
    for (Impl impl : {Impl::Reference, Impl::Fast, Impl::Cuda, Impl::Cudnn})
      out += !op.has_impl(impl)                          ? " |"
             : impl == Impl::Fast && op.bf16                 ? " ✓ (+bf16) |"
             : impl == Impl::Cuda && op.tensor_cores ? " ✓ (+tf32, bf16) |"
                                                             : " ✓ |";
    out += "\n";
  }
  return out;
}

}  // namespace cuseg
