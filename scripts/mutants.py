#!/usr/bin/python3
"""cuseg's own mutation check: planted bugs the test suite must catch.

Each mutant is one small, realistic bug in library code: a literal text replaced in one file,
which must occur exactly once there (a mutant that no longer applies is an error, so the list
cannot rot silently). For each: the file is changed, the build brought up to date incrementally
(a test program is relinked only when its own code changes: CMAKE_LINK_DEPENDS_NO_SHARED, it
loads libcuseg.so), the tests that should catch it run, and the file is restored byte for byte,
whatever happened. The mutant is caught when a test
fails; a mutant that survives every test it runs is a hole in the suite.

  scripts/mutants.py [--fast] [--only NAME] [BUILD]     (BUILD: a configured build, default build/cpu-only)

Prints one line per mutant (caught by which test, seconds) and the score; exits 1 when a mutant
survives or does not build. --fast runs the subset CI runs (about 5 minutes on 2 cores). The
files mutated must be unmodified in git (the check never overwrites your work). When a new op,
loss, metric or state field lands, its mutant lands here with it (docs/RELIABILITY.md).
"""

import argparse
import dataclasses
import os
import pathlib
import re
import subprocess
import sys
import time


@dataclasses.dataclass
class Mutant:
    name: str
    file: str  # from the repository's root
    find: str
    replace: str
    tests: str  # ctest -R: the tests that should catch it
    fast: bool = False  # in the CI subset
    emulated: bool = False  # caught by GPU tests: runs only in an emulated CUDA build (build/emu)


MUTANTS = [
    # -- kernels: one or more per family, on the paths that run by default
    Mutant("conv-reference-skips-an-output-channel", "cuseg/kernels/cpu/conv2d.cpp",
           "for (int k = 0; k < kg; ++k) o[k] += v * wk[k];",
           "for (int k = 1; k < kg; ++k) o[k] += v * wk[k];",
           r"TorchParity\.EveryKernelFamily|Conv2dGradients", fast=True),
    Mutant("conv-reference-every-group-reads-the-first", "cuseg/kernels/cpu/conv2d.cpp",
           "g.C + int64_t(grp) * cg;", "g.C;",
           r"Conv2d\.GroupedIsTheUngrouped|TorchParity\.EveryKernelFamily"),
    Mutant("conv-bottom-padding-taken-as-the-top", "cuseg/kernels/conv2d.cpp",
           "g.P = int((x[1] + top + bottom - extent_h)", "g.P = int((x[1] + top + top - extent_h)",
           r"Conv2d\.AsymmetricPadding|TorchParity\.EveryKernelFamily"),
    Mutant("conv-cuda-depthwise-ignores-the-channel-multiplier", "cuseg/kernels/cuda/depthwise.h",
           "for (int j = 0; j < m; ++j) {", "for (int j = 0; j < 1; ++j) {",
           r"ConvProblems\."),
    # The emulated tensor cores (scripts/mutants.sh build/emu runs them).
    Mutant("emu-mma-tf32-fragment-rows-and-columns-exchanged", "cuseg/emu/tensor_core.cpp",
           "tf32(a_reg(4 * (m % 8) + k % 4, m / 8 + 2 * (k / 4)))", "tf32(a_reg(4 * (m % 8) + k % 4, 2 * (m / 8) + k / 4))",
           r"TensorCoreGpu\.", emulated=True),
    Mutant("emu-mma-bf16-a-halves-exchanged", "cuseg/emu/tensor_core.cpp",
           "m / 8 + 2 * (k / 8)), k % 2);", "m / 8 + 2 * (k / 8)), 1 - k % 2);", r"TensorCoreGpu\.",
           emulated=True),
    Mutant("emu-mma-tf32-low-mantissa-bits-kept", "cuseg/emu/tensor_core.cpp",
           "std::bit_cast<float>(bits & 0xffffe000u)", "std::bit_cast<float>(bits)", r"TensorCoreGpu\.", emulated=True),
    # What the emulator shows: shared memory per block, the shuffled schedule, alignment, cp.async.
    Mutant("emu-static-shared-memory-kept-from-the-last-block", "cuseg/emu/block_runner.cpp",
           "    statics.clear();", "", r"EmulatorScheduleGpu\.", emulated=True),
    Mutant("emu-shuffled-lanes-in-index-order", "cuseg/emu/block_runner.cpp",
           "if (b.shuffled) b.turns.shuffle(order);", "", r"EmulatorScheduleGpu\.", emulated=True),
    Mutant("emu-misaligned-vector-access-let-through", "cuseg/emu/block_runner.cpp",
           "if (reinterpret_cast<uintptr_t>(p) % bytes == 0) return;", "return;", r"EmulatorMemoryFaultsGpu\.",
           emulated=True),
    Mutant("emu-cp-async-lands-at-once", "cuseg/emu/block_runner.cpp",
           "std::memset(dst, 0xFF, bytes);", "std::memcpy(dst, src, src_bytes);", r"EmulatorMemoryGpu\.",
           emulated=True),
    Mutant("emu-capture-runs-what-it-records", "cuseg/emu/runtime.cpp",
           "    if (st->capture) {  // recorded, not run", "    if (false) {  // recorded, not run",
           r"EmulatorGraphGpu\.", emulated=True),
    Mutant("emu-capture-lets-a-synchronization-through", "cuseg/emu/runtime.cpp",
           "  if (!capturing) return false;\n  spoil_capture(capturing);", "  return false;\n  spoil_capture(capturing);",
           r"EmulatorGraphGpu\.", emulated=True),
    # A step as one CUDA graph (--cuda-graph): its planned memory, its device-side checks.
    Mutant("step-memory-lets-live-allocations-overlap", "cuseg/core/cuda/step_memory.cpp",
           "    offsets_[i] = at;", "    offsets_[i] = at / 2;",
           r"CudaGraphTrainingGpu\.ReplayedSteps|StepGraphGpu\.", emulated=True),
    Mutant("staged-update-ignores-the-refusal", "cuseg/optim/cuda/fused_update.cu",
           "  const bool skip = args.skip && *args.skip;", "  const bool skip = args.skip && false;",
           r"CudaGraphTrainingGpu\.ADiverging", emulated=True),
    Mutant("staged-update-keeps-the-gradients", "cuseg/optim/cuda/fused_update.cu",
           "      if (args.zero_grad) g[i] = 0.f;\n", "",
           r"CudaGraphTrainingGpu\.ReplayedSteps", emulated=True),
    Mutant("deferred-label-check-counts-nothing", "cuseg/kernels/cuda/softmax.cu",
           "    *add_invalid_to += double(total.invalid);", "    *add_invalid_to += 0.0;",
           r"DeviceChecksGpu\.", emulated=True),
    Mutant("batch-norm-cuda-quads-subtract-beta", "cuseg/kernels/cuda/batch_norm.cu",
           "lane(s, k) * lane(ga, k) + lane(be, k);", "lane(s, k) * lane(ga, k) - lane(be, k);",
           r"EveryOpGpu\.MatchesTheReference/batch_norm(_relu)?_forward_(training|inference)_cuda", emulated=True),
    Mutant("batch-norm-cuda-backward-quads-second-sum-of-the-channel-before", "cuseg/kernels/cuda/batch_norm.cu",
           "s1 = load_float4(sums + channels + c);", "s1 = load_float4(sums + channels + c - 4 * (c > 0));",
           r"EveryOpGpu\.MatchesTheReference/batch_norm(_relu)?_backward_cuda", emulated=True),
    Mutant("bias-cuda-quads-bias-of-channel-zero", "cuseg/kernels/cuda/conv2d.cu",
           "load_float4(b + 4 * g % channels)", "load_float4(b)",
           r"EveryOpGpu\.MatchesTheReference/conv2d_bias_forward_cuda", emulated=True),
    Mutant("axpy-cuda-quads-drop-alpha", "cuseg/kernels/cuda/pointwise.cu",
           "[&](float u, float v) { return u + alpha * v; }", "[&](float u, float v) { return u + v; }",
           r"EveryOpGpu\.MatchesTheReference/axpy_cuda", emulated=True),
    # The tensor-core convolution (emulated tensor cores, the emulator's access counters).
    # B's two registers exchanged (A's left as they are: the same permutation of k on both sides
    # would leave every product unchanged).
    Mutant("conv-tensor-cores-b-fragment-registers-exchanged", "cuseg/kernels/cuda/implicit_gemm_tc.cuh",
           "b[ni][i] = tc_fragment<P>(bs, wn + ni * 8 + g, ks, t, i);",
           "b[ni][i] = tc_fragment<P>(bs, wn + ni * 8 + g, ks, t, i ^ 1);",
           r"EveryOpGpu\.MatchesTheReference/conv2d_forward_cuda_tf32", emulated=True),
    Mutant("conv-tensor-cores-output-rows-of-the-wrong-half", "cuseg/kernels/cuda/implicit_gemm_tc.cuh",
           "const int m = m0 + wm + mi * 16 + g + 8 * (i >> 1)", "const int m = m0 + wm + mi * 16 + g + 8 * (i & 1)",
           r"EveryOpGpu\.MatchesTheReference/conv2d_backward_data_cuda_bf16", emulated=True),
    Mutant("conv-tensor-cores-half-warps-on-adjacent-rows", "cuseg/kernels/cuda/implicit_gemm_tc.cuh",
           "row = (half & 1) * 4 + (half >> 1 & 3) + 8 * (half >> 3) + 16 * (l / 2)", "row = half + 16 * (l / 2)",
           r"ConvAccessGpu\.", emulated=True),
    Mutant("max-pool-fast-ties-to-the-last-maximum", "cuseg/kernels/fast/pool2d.cpp",
           "const bool take = (v > b) | ((v != v) & (b == b));",
           "const bool take = (v >= b) | ((v != v) & (b == b));",
           r"EveryOp\.MatchesTheReference/max_pool2d_forward_fast|PoolTies\.", fast=True),
    Mutant("max-pool-ties-to-the-last-maximum", "cuseg/kernels/pool_window.h",
           "return (v > best) || (v_nan && !best_nan);",
           "return (v >= best) || (v_nan && !best_nan);",
           r"PoolTies\.|TorchParity\.EveryKernelFamily"),
    Mutant("cross-entropy-fast-smoothing-not-spread", "cuseg/kernels/fast/softmax_ce.cpp",
           "(1 - eps) * weight * focal_factor(std::exp(-nll), g.focal_gamma) * nll + eps / C * smooth;",
           "(1 - eps) * weight * focal_factor(std::exp(-nll), g.focal_gamma) * nll + eps * smooth;",
           r"EveryOp\.MatchesTheReference/softmax_cross_entropy_forward_fast", fast=True),
    Mutant("batch-norm-fast-biased-running-variance", "cuseg/kernels/fast/batch_norm.cpp",
           "momentum * var * n / (n - 1));",
           "momentum * var);",
           r"EveryOp\.MatchesTheReference/batch_norm(_relu)?_forward_training_fast", fast=True),
    Mutant("batch-norm-fast-backward-mean-over-m-1", "cuseg/kernels/fast/batch_norm.cpp",
           "const double bc = -gi * invstd * invstd * sum_dy_dev / m;",
           "const double bc = -gi * invstd * invstd * sum_dy_dev / (m - 1);",
           r"EveryOp\.MatchesTheReference/batch_norm(_relu)?_backward_fast", fast=True),
    Mutant("leaky-relu-fast-backward-ignores-the-slope", "cuseg/kernels/fast/pointwise.cpp",
           "dx[i] = dy[i] * (y[i] > 0.f ? 1.f : slope);",
           "dx[i] = dy[i] * (y[i] >= 0.f ? 1.f : slope);",
           r"EveryOp\.MatchesTheReference/(leaky_)?relu_backward_fast", fast=True),
    Mutant("silu-derivative-with-sigma-for-one-minus-sigma", "cuseg/kernels/activation_math.h",
           "return p.s * (T(1) + x * p.one_minus_s);",
           "return p.s * (T(1) + x * p.s);",
           r"TorchParity\.EveryKernelFamily|ActivationGradients|Activation\.Silu"),
    Mutant("silu-fast-backward-with-sigma-for-one-minus-sigma", "cuseg/kernels/fast/pointwise.cpp",
           "dx[i] = dy[i] * (s * (1.f + x[i] * one_minus_s));",
           "dx[i] = dy[i] * (s * (1.f + x[i] * s));",
           r"EveryOp\.MatchesTheReference/silu_backward_fast", fast=True),
    Mutant("activation-layer-gives-silu-y-for-x", "cuseg/layers/layers.cpp",
           "activation_backward(in[0], out, dout, din[0], p_, backend_);",
           "activation_backward((void(in), out), out, dout, din[0], p_, backend_);",
           r"ActivationLayer\.|LayerBackends\.ReferenceGradientsMatchFiniteDifferences/silu"),
    Mutant("multiply-reference-ds-skips-the-first-element", "cuseg/kernels/cpu/multiply.cpp",
           "if (ds) sums[std::size_t(j)] += double(dy[i]) * double(x[i]);",
           "if (ds && i > 0) sums[std::size_t(j)] += double(dy[i]) * double(x[i]);",
           r"MultiplyGradients|Multiply\.|TorchParity\.EveryKernelFamily"),
    Mutant("multiply-fast-ds-drops-the-last-block", "cuseg/kernels/fast/multiply.cpp",
           "for (int64_t k = 0; k < blocks; ++k) total +=",
           "for (int64_t k = 0; k + 1 < blocks; ++k) total +=",
           r"EveryOp\.MatchesTheReference/multiply_backward_fast", fast=True),
    Mutant("multiply-fast-row-sums-drop-a-lane", "cuseg/kernels/fast/multiply.cpp",
           "out[r] = float((lane[0] + lane[1]) + (lane[2] + lane[3]));",
           "out[r] = float((lane[0] + lane[1]) + lane[2]);",
           r"EveryOp\.MatchesTheReference/multiply_backward_fast", fast=True),
    Mutant("bilinear-upsampling-aligns-the-corners", "cuseg/kernels/upsample_math.h",
           "T src = axis_scale<T>(in, out) * (T(o) + T(0.5)) - T(0.5);",
           "T src = axis_scale<T>(in, out) * T(o);",
           r"TorchParity\.EveryKernelFamily"),
    Mutant("dropout-scales-by-1-over-p", "cuseg/kernels/dropout_math.h",
           "return p < 1.0 ? 1.0 / (1.0 - p) : 0.0;",
           "return p < 1.0 ? 1.0 / p : 0.0;",
           r"Dropout", fast=True),
    Mutant("dice-smoothing-left-out-of-the-numerator", "cuseg/kernels/dice_math.h",
           "dice += (2 * double(inter[c]) + smooth) / (double(total[c]) + smooth);",
           "dice += (2 * double(inter[c])) / (double(total[c]) + smooth);",
           r"TorchParity\.EveryKernelFamily|Dice", fast=True),
    Mutant("bce-backward-without-the-positive-weight", "cuseg/kernels/elementwise_loss_math.h",
           "activation_value(ActivationKind::Sigmoid, x, T(0)) * (pw * t + T(1) - t) - pw * t;",
           "activation_value(ActivationKind::Sigmoid, x, T(0)) * (pw * t + T(1) - t) - t;",
           r"TorchParity\.EveryKernelFamily"),
    Mutant("confusion-ties-to-the-last-class", "cuseg/kernels/cpu/confusion.cpp",
           "if (row[k] > row[best]) best = k;",
           "if (row[k] >= row[best]) best = k;",
           r"Metrics|Confusion", fast=True),
    Mutant("concat-writes-every-part-at-offset-0", "cuseg/kernels/concat.cpp",
           "    offset += c;\n",
           "",
           r"UNetParity|LayerBackends\.|Concat", fast=True),
    # -- optimizer rules, penalties and the schedule
    Mutant("adam-second-moment-bias-correction-off-by-one-step", "cuseg/optim/optimizer.cpp",
           "h.bias2_sqrt = T(std::sqrt(1 - std::pow(c.beta2, double(t))));",
           "h.bias2_sqrt = T(std::sqrt(1 - std::pow(c.beta2, double(t + 1))));",
           r"Optimizer(Parity)?\.", fast=True),
    Mutant("momentum-dampens-the-first-step", "cuseg/optim/update_rule.h",
           "buf = h.first_step ? g : h.momentum * buf + (T(1) - h.dampening) * g;",
           "buf = h.momentum * buf + (T(1) - h.dampening) * g;",
           r"Optimizer(Parity)?\."),
    Mutant("proximal-l1-threshold-without-the-learning-rate", "cuseg/optim/update_rule.h",
           "if (h.l1_prox != T(0)) w = soft_threshold(w, h.lr * h.l1_prox);",
           "if (h.l1_prox != T(0)) w = soft_threshold(w, h.l1_prox);",
           r"Optimizer\."),
    Mutant("the-optimizer-takes-the-next-steps-learning-rate", "cuseg/optim/optimizer.h",
           "{ step(schedule.at(steps_), grad_scale); }",
           "{ step(schedule.at(steps_ + 1), grad_scale); }",
           r"Optimizer\.StepTAppliesTheScheduleAtT|TrainerTest\.TheLoggedLearningRate"),
    Mutant("warm-up-starts-at-zero", "cuseg/optim/lr_schedule.cpp",
           "if (t < warmup) return lr * double(t + 1) / double(warmup);",
           "if (t < warmup) return lr * double(t) / double(warmup);",
           r"LrSchedule|Optimizer\.StepTAppliesTheScheduleAtT", fast=True),
    # -- losses and metrics
    Mutant("iou-leaves-out-the-false-negatives", "cuseg/model/metrics.cpp",
           "cm.iou = ratio(tp, tp + fp + fn);",
           "cm.iou = ratio(tp, tp + fp);",
           r"Metrics", fast=True),
    # -- data
    Mutant("augmented-masks-half-a-pixel-off", "cuseg/data/augment.cpp",
           "const int ny = int(std::floor(sy + 0.5)), nx = int(std::floor(sx + 0.5));",
           "const int ny = int(std::floor(sy)), nx = int(std::floor(sx));",
           r"Augment", fast=True),
    # -- checkpoints and resume: every field of the training state
    Mutant("resume-forgets-the-epochs-without-gain", "cuseg/train/trainer_checkpoint.cpp",
           'epochs_without_gain = s.at("epochs_without_gain").get<int64_t>();',
           "epochs_without_gain = 0;",
           r"TrainerTest\.EarlyStopping", fast=True),
    Mutant("resume-forgets-the-best-score", "cuseg/train/trainer_checkpoint.cpp",
           'best_miou = s.at("best_miou").get<double>();',
           "best_miou = -1;",
           r"TrainerTest\.", fast=True),
    Mutant("resume-forgets-the-dropout-offsets", "cuseg/train/trainer_checkpoint.cpp",
           "dynamic_cast<Dropout&>(model->layer(name)).set_offset(offset.get<uint64_t>());",
           "(void)offset;",
           r"TrainerTest\.AResumedRunContinuesBitForBit", fast=True),
    # -- data parallelism: the sums over the ranks
    Mutant("data-parallel-step-not-divided-by-the-ranks", "cuseg/train/trainer_step.cpp",
           "optimizer->step(schedule, 1.0 / double(step.finite * ranks->size()));",
           "optimizer->step(schedule, 1.0 / double(step.finite));",
           r"DataParallel\.TwoRanksTakeTheStepsOfOneProcessOnTheGlobalBatch|DataParallel\.CrossEntropy", fast=True),
    Mutant("host-sum-unpacks-every-tensor-from-the-start", "cuseg/dist/communicator.cpp",
           "    t->copy_from(host.view(t->shape(), offset));\n    offset += t->numel();\n",
           "    t->copy_from(host.view(t->shape(), offset));\n",
           r"DataParallel\.TwoRanksTakeTheStepsOfOneProcessOnTheGlobalBatch|DataParallel\.ShardedValidation|Communicator\.", fast=True),
    # The model zoo: SMP's Unet concatenates [upsampled, skip]; the other order has the same shapes.
    Mutant("unet-decoder-concatenates-the-skip-first", "cuseg/layers/zoo/unet_decoder.cpp",
           'x = b.concat(block + ".concat", x, features.names[size_t(skip)]);',
           'x = b.concat(block + ".concat", features.names[size_t(skip)], x);',
           r"SmpParity\..*resnet18_f64"),
    # EfficientNet pads for its nominal image size (224 for b0), not the input's: at 64×64 the
    # stride-2 convolutions' split differs (SMP's static padding).
    Mutant("efficientnet-pads-for-the-actual-size", "cuseg/layers/zoo/efficientnet.cpp",
           "    p = same_padding(p, size, size, kernel, kernel);\n",
           "    p = same_padding(p, size + 1, size + 1, kernel, kernel);\n",
           r"SmpParity\..*unet_efficientnet-b0_f32"),
    # A binary head's logits are (background 0, foreground z), in that order.
    Mutant("binary-logits-foreground-first", "cuseg/layers/binary_logits.cpp",
           "concat_channels({zeros_, z}, out, backend_);",
           "concat_channels({z, zeros_}, out, backend_);",
           r"SmpBinary\."),
    # A bare SMP state dict's encoder: resnet34 has six layer3 blocks, resnet18 two.
    Mutant("smp-state-reads-resnet34-as-resnet18", "cuseg/interop/smp_state.cpp",
           '? "resnet34" : "resnet18";',
           '? "resnet18" : "resnet34";',
           r"SmpState\."),
]


def run(command, cwd, log):
    """Runs `command`, appending its output to `log`; returns its exit code."""
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        return subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT).returncode


def last_failed(build):
    return pathlib.Path(build) / "Testing" / "Temporary" / "LastTestsFailed.log"


def failed_tests(build):
    """The tests ctest's last run in `build` says failed."""
    failed = last_failed(build)
    if not failed.exists():
        return []
    names = [line.split(":", 1)[1].strip() for line in failed.read_text().splitlines() if ":" in line]
    # Without what GoogleTest appends to a parameterized test's name ("  # GetParam() = ...").
    return [re.sub(r"(/\d+-byte object.*|\s+# GetParam\(\).*)$", "", n) for n in names]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", nargs="?", default="build/cpu-only")
    parser.add_argument("--fast", action="store_true", help="the subset CI runs")
    parser.add_argument("--only", help="the mutants whose name contains this")
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    args = parser.parse_args()
    root = pathlib.Path(__file__).resolve().parent.parent
    build = (root / args.build) if not os.path.isabs(args.build) else pathlib.Path(args.build)
    chosen = [m for m in MUTANTS if (not args.fast or m.fast) and (not args.only or args.only in m.name)]
    if args.list:
        for m in chosen:
            print(f"{m.name:58} {m.file:40} {'fast' if m.fast else ''}")
        return 0
    if not (build / "CMakeCache.txt").exists():
        sys.exit(f"mutants: {build} is not a configured build (cmake --preset cpu-only first)")
    config = build / "include" / "cuseg" / "config.h"
    emulated = config.exists() and "#define CUSEG_CUDA_EMULATED 1" in config.read_text()
    if not emulated and any(m.emulated for m in chosen):
        print(f"mutants: {sum(m.emulated for m in chosen)} caught only by GPU tests need an emulated build "
              f"(scripts/mutants.sh build/emu): not run in {build}")
        chosen = [m for m in chosen if not m.emulated]
    if not chosen:
        print("mutants: none to run")
        return 0
    names = [m.name for m in MUTANTS]
    if len(set(names)) != len(names):
        sys.exit("mutants: two mutants share a name")
    dirty = subprocess.run(["git", "status", "--porcelain", "--"] + sorted({m.file for m in chosen}), cwd=root,
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        sys.exit(f"mutants: these files have uncommitted changes, which a mutant would overwrite:\n{dirty}")
    log = build / "mutants.log"
    log.write_text("")
    print(f"mutants: {len(chosen)} of {len(MUTANTS)}, in {build} (each build and test run is in {log})")
    if run(["cmake", "--build", str(build)], root, log) != 0:
        sys.exit(f"mutants: the unmutated tree does not build (see {log})")

    rows, survivors, broken = [], [], []
    for m in chosen:
        path = root / m.file
        original = path.read_bytes()
        text = original.decode()
        if text.count(m.find) != 1:
            broken.append(m.name)
            rows.append((m.name, f"NO LONGER APPLIES ({text.count(m.find)} matches in {m.file})", 0.0))
            continue
        start = time.monotonic()
        try:
            path.write_text(text.replace(m.find, m.replace), encoding="utf-8")
            if run(["cmake", "--build", str(build)], root, log) != 0:
                broken.append(m.name)
                verdict = "DOES NOT BUILD"
            else:
                last_failed(build).unlink(missing_ok=True)
                code = run(["ctest", "--test-dir", str(build), "-j", str(os.cpu_count() or 2), "-R", m.tests,
                            "--no-tests=error", "--timeout", "600"], root, log)
                caught = failed_tests(build) if code != 0 else []
                if caught:
                    verdict = "caught by " + ", ".join(caught[:3]) + (f" (+{len(caught) - 3})" if len(caught) > 3 else "")
                else:
                    survivors.append(m.name)
                    verdict = "SURVIVED" if code == 0 else f"SURVIVED (ctest exit {code} without a failed test)"
        finally:
            path.write_bytes(original)
        rows.append((m.name, verdict, time.monotonic() - start))
        print(f"  {m.name:58} {verdict} ({rows[-1][2]:.0f} s)", flush=True)
    # Leave the build made from the restored tree.
    run(["cmake", "--build", str(build)], root, log)

    print("\n| mutant | caught by | seconds |\n| --- | --- | --- |")
    for name, verdict, seconds in rows:
        print(f"| {name} | {verdict} | {seconds:.0f} |")
    caught = len(rows) - len(survivors) - len(broken)
    print(f"\nscore: {caught}/{len(rows)} caught" + (f"; survived: {', '.join(survivors)}" if survivors else "")
          + (f"; broken: {', '.join(broken)}" if broken else ""))
    return 1 if survivors or broken else 0


if __name__ == "__main__":
    sys.exit(main())
