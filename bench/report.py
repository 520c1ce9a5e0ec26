"""Turns the output folder of scripts/gpu_check.sh into one markdown report: test counts,
seg_verify's verdict, convolution times (cuseg CUDA vs cuDNN vs PyTorch vs the CPU reference)
and achieved bandwidth of pooling and softmax against the device's copy bandwidth.

    python3 bench/report.py OUT_DIR > OUT_DIR/report.md
"""
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET

TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def load_benchmarks(out):
    rows = {}
    context = {}
    for path in sorted(glob.glob(os.path.join(out, "*_bench.json"))):
        if os.path.getsize(path) == 0:  # the benchmark filter matched nothing in that binary
            continue
        with open(path) as f:
            data = json.load(f)
        context = data.get("context", context)
        for b in data.get("benchmarks", []):
            op, impl, shape = b["name"].split("/")[:3]
            rows[(op, impl, shape)] = b
    return rows, context


def ms(b):
    return b["real_time"] * TO_MS[b.get("time_unit", "ns")]


def strip_batch(shape):
    return shape.split("_", 1)[1]


def main():
    out = sys.argv[1]
    print("# cuseg GPU check\n")
    verify = {}
    if os.path.exists(os.path.join(out, "seg_verify.json")):
        with open(os.path.join(out, "seg_verify.json")) as f:
            verify = json.load(f)
    print(f"- device: {verify.get('gpu') or '**no usable GPU: GPU tests skipped, CPU rows only**'}")
    rows, context = load_benchmarks(out)
    if context:
        print(f"- host: {context.get('host_name', '?')}, {context.get('num_cpus', '?')} CPUs, {context.get('date', '')}")
    torch_rows = {}
    tpath = os.path.join(out, "torch_kernels.json")
    if os.path.exists(tpath):
        with open(tpath) as f:
            t = json.load(f)
        print(f"- PyTorch {t['torch']}, cuDNN {t['cudnn']} (as PyTorch ships it)")
        torch_rows = {(r["op"], r["shape"]): r for r in t["results"]}

    print("\n## Tests\n\n| binary | tests | failures | skipped |\n|---|---|---|---|")
    for path in sorted(glob.glob(os.path.join(out, "*_tests.xml"))):
        root = ET.parse(path).getroot()
        skipped = sum(1 for tc in root.iter("testcase") if tc.find("skipped") is not None)
        print(f"| {os.path.basename(path)[:-4]} | {root.get('tests')} | {root.get('failures')} | {skipped} |")

    spath = os.path.join(out, "compute_sanitizer.txt")
    if os.path.exists(spath):
        print("\n## compute-sanitizer (GPU tests and seg_verify)\n")
        with open(spath) as f:
            for line in f:
                print(f"- {line.strip()}")

    if verify:
        results = verify["results"]
        failed = [r for r in results if not r["pass"]]
        print(f"\n## seg_verify\n\n{len(results)} checks, {len(failed)} failed.\n")
        for r in failed:
            print(f"- FAIL {r['op']} {r['shape']} {r['impl']}: {r['detail']}")

    conv_ops = ["conv2d_forward", "conv2d_backward_data", "conv2d_backward_filter"]
    conv = [(op, shape) for (op, impl, shape) in rows if op in conv_ops and impl == "cuda"]
    if conv:
        print("\n## Convolution, FP32 (TF32 off), 3x3 pad 1, batch 16\n")
        print("| op | shape | cuseg CUDA ms | cuDNN ms | PyTorch ms | cuseg / cuDNN speed | cuseg TFLOP/s | CPU fast path GFLOP/s (batch 2) |")
        print("|---|---|---|---|---|---|---|---|")
        for op, shape in sorted(conv, key=lambda k: (conv_ops.index(k[0]), k[1])):
            ours = rows[(op, "cuda", shape)]
            cudnn = rows.get((op, "cudnn", shape))
            torch_r = torch_rows.get((op, shape))
            cpu = next((b for (o, i, s), b in rows.items() if o == op and i == "fast" and strip_batch(s) == strip_batch(shape)), None)
            cell = lambda v, fmt: format(v, fmt) if v is not None else "-"
            speed = f"{100 * ms(cudnn) / ms(ours):.0f}%" if cudnn else "-"
            print(f"| {op} | {shape} | {ms(ours):.3f} | {cell(cudnn and ms(cudnn), '.3f')} | "
                  f"{cell(torch_r and torch_r['seconds'] * 1e3, '.3f')} | {speed} | "
                  f"{ours.get('FLOP/s', 0) / 1e12:.2f} | {cell(cpu and cpu.get('FLOP/s', 0) / 1e9, '.1f')} |")

    tc = [(op, shape) for (op, impl, shape) in rows if op in conv_ops and impl == "cuda_tf32"]
    if tc:
        print("\n## Convolution on the tensor cores, 3x3 pad 1, batch 16: cuseg against PyTorch's cuDNN at the same precision\n")
        print("| op | shape | cuseg tf32 ms | PyTorch tf32 ms | cuseg / PyTorch speed | cuseg bf16 ms | "
              "PyTorch bf16 ms | cuseg / PyTorch speed | cuseg tf32 / bf16 TFLOP/s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for op, shape in sorted(tc, key=lambda k: (conv_ops.index(k[0]), k[1])):
            cells = []
            for impl, suffix in (("cuda_tf32", "_tf32"), ("cuda_bf16", "_bf16")):
                ours = rows.get((op, impl, shape))
                torch_r = torch_rows.get((op + suffix, shape))
                theirs = torch_r["seconds"] * 1e3 if torch_r else None
                cells += [f"{ms(ours):.3f}" if ours else "-", f"{theirs:.3f}" if theirs else "-",
                          f"{100 * theirs / ms(ours):.0f}%" if ours and theirs else "-"]
            rates = "/".join(f"{rows[(op, i, shape)].get('FLOP/s', 0) / 1e12:.1f}" if (op, i, shape) in rows else "-"
                             for i in ("cuda_tf32", "cuda_bf16"))
            print(f"| {op} | {shape} | {' | '.join(cells)} | {rates} |")

    steps = [(k, b) for k, b in rows.items() if k[0] == "unet_s_train_step"]
    if steps:
        print("\n## unet-s training step (forward + cross-entropy + backward)\n")
        print("| impl | configuration | ms | images/s | TFLOP/s |\n|---|---|---|---|---|")
        for (op, impl, shape), b in sorted(steps):
            print(f"| {impl} | {shape} | {ms(b):.1f} | {b.get('images/s', 0):.1f} | {b.get('FLOP/s', 0) / 1e12:.2f} |")
        tpath = os.path.join(out, "torch_unet_step.json")
        if os.path.exists(tpath):
            with open(tpath) as f:
                t = json.load(f)
            print(f"| PyTorch {t['torch']} | base32_3x256x256_batch16 | {t['step_seconds'] * 1e3:.1f} | "
                  f"{t['images_per_second']:.1f} | - |")

    copies = [b["bytes/s"] for (op, impl, _), b in rows.items() if op == "device_copy" and impl == "cuda"]
    bw = [(k, b) for k, b in rows.items() if "bytes/s" in b and k[1] in ("cuda", "cudnn") and k[0] != "device_copy"]
    if bw:
        copy = max(copies) if copies else 0
        print(f"\n## Memory-bound kernels (device-to-device copy: {copy / 2**30:.0f} GiB/s)\n")
        print("| op | shape | impl | us | GiB/s | % of copy | PyTorch us | launches |\n|---|---|---|---|---|---|---|---|")
        for (op, impl, shape), b in sorted(bw):
            torch_r = torch_rows.get((op, shape)) if impl == "cuda" else None
            pct = f"{100 * b['bytes/s'] / copy:.0f}%" if copy else "-"
            print(f"| {op} | {shape} | {impl} | {ms(b) * 1e3:.1f} | {b['bytes/s'] / 2**30:.0f} | {pct} | "
                  f"{torch_r['seconds'] * 1e6 if torch_r else float('nan'):.1f} | {b.get('launches', '-')} |")

    tools_report(os.path.join(out, "tools"))


def tools_report(work):
    """seg_train's images/s and data wait (from log.jsonl), seg_predict's latency and throughput."""
    if not os.path.isdir(work):
        return
    print("\n## seg_train (3x256x256, batch 16, unet-s base 32) and seg_predict (512x512)\n")
    print("| device | images/s (last epoch) | waiting for data | val mIoU |\n|---|---|---|---|")
    for dev in ("cuda", "cpu"):
        path = os.path.join(work, f"train_{dev}", "log.jsonl")
        if os.path.exists(path):
            with open(path) as f:
                last = [json.loads(line) for line in f if line.strip()][-1]
            print(f"| {dev} | {last['images_per_s']:.1f} | {100 * last['data_wait']:.1f}% | {last['miou']:.3f} |")
    print()
    for path in sorted(glob.glob(os.path.join(work, "predict_*.txt"))):
        with open(path) as f:
            lines = [l.strip() for l in f if l.startswith("latency")]
        name = os.path.basename(path)[len("predict_"):-len(".txt")]
        print(f"- seg_predict {name}: {lines[-1] if lines else 'no result'}")


if __name__ == "__main__":
    main()
