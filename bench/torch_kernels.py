"""PyTorch's timings of the kernels bench/kernels/*_bench.cpp times, at the same shapes, on
the same GPU: convolution forward / backward-data / backward-filter (FP32, TF32 off,
channels_last, cuDNN benchmark mode; and again with TF32 on, and in bf16, as ops
conv2d_*_tf32 / _bf16), 2x2 max and average pooling, softmax over channels.
Same method as our benchmarks: L2 flushed before each run, time = op + synchronize.

    python3 bench/torch_kernels.py --out torch_kernels.json
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

CONV_SHAPES = [(256, 256, 3, 32), (256, 256, 32, 32), (128, 128, 64, 64), (64, 64, 128, 128), (32, 32, 256, 256)]
POOL_SHAPES = [(16, 256, 256, 32), (16, 256, 256, 64), (16, 128, 128, 64), (16, 64, 64, 128)]
SOFTMAX_SHAPES = [(16, 256, 256, 64), (16, 256, 256, 21), (16, 256, 256, 2)]


def timed(fn, iters=20):
    flush = torch.empty(64 << 20, device="cuda")
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        flush.zero_()
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def nhwc(n, h, w, c):
    # Stored NHWC, seen by PyTorch as NCHW in channels_last memory format.
    return torch.randn(n, c, h, w, device="cuda").contiguous(memory_format=torch.channels_last)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    results = []

    for suffix, dtype, tf32 in (("", torch.float32, False), ("_tf32", torch.float32, True),
                                ("_bf16", torch.bfloat16, False)):
        torch.backends.cudnn.allow_tf32 = tf32
        for h, w, c, k in CONV_SHAPES:
            n = 16
            x = nhwc(n, h, w, c).to(dtype).requires_grad_(True)
            wt = torch.randn(k, c, 3, 3, device="cuda", dtype=dtype).contiguous(
                memory_format=torch.channels_last).requires_grad_(True)
            y = F.conv2d(x, wt, padding=1)
            dy = torch.randn_like(y)
            flops = 2.0 * n * h * w * k * 9 * c
            shape = f"N{n}_H{h}_W{w}_C{c}_K{k}"
            results.append(("conv2d_forward" + suffix, shape, timed(lambda: F.conv2d(x, wt, padding=1)), flops))
            results.append(("conv2d_backward_data" + suffix, shape,
                            timed(lambda: torch.nn.grad.conv2d_input(x.shape, wt, dy, padding=1)), flops))
            results.append(("conv2d_backward_filter" + suffix, shape,
                            timed(lambda: torch.nn.grad.conv2d_weight(x, wt.shape, dy, padding=1)), flops))
    torch.backends.cudnn.allow_tf32 = False

    for n, h, w, c in POOL_SHAPES:
        x = nhwc(n, h, w, c)
        shape = f"N{n}_H{h}_W{w}_C{c}"
        nbytes = 4.0 * x.numel() * 1.25
        results.append(("max_pool2d_forward", shape, timed(lambda: F.max_pool2d(x, 2)), nbytes))
        results.append(("avg_pool2d_forward", shape, timed(lambda: F.avg_pool2d(x, 2)), nbytes))

    for n, h, w, c in SOFTMAX_SHAPES:
        x = nhwc(n, h, w, c)
        shape = f"N{n}_H{h}_W{w}_C{c}"
        results.append(("softmax_forward", shape, timed(lambda: torch.softmax(x, dim=1)), 8.0 * x.numel()))

    rows = [{"op": op, "shape": shape, "seconds": s, "work": work} for op, shape, s, work in results]
    for r in rows:
        print(f"{r['op']:28s} {r['shape']:28s} {r['seconds'] * 1e3:9.3f} ms")
    with open(args.out, "w") as f:
        json.dump({"torch": torch.__version__, "cudnn": torch.backends.cudnn.version(),
                   "device": torch.cuda.get_device_name(0), "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
