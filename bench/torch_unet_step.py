"""The unet-s training step of bench/unet/train_step_bench.cpp in PyTorch, for comparison on the
same GPU: base 32, 3×256×256, batch 16, 4 classes, forward + cross-entropy + backward, FP32 with
TF32 off, channels_last, cuDNN benchmark mode. Same timing method: synchronize around each step.

    python3 bench/torch_unet_step.py [--out result.json]
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from cuseg_torch_unet import UNet  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    config = {"in_channels": 3, "classes": 4, "base": 32, "depth": 4, "batch_norm": True, "upsample": "transposed"}
    net = UNet(config).cuda().to(memory_format=torch.channels_last)
    x = torch.randn(16, 3, 256, 256, device="cuda").contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 4, (16, 256, 256), device="cuda")

    def step():
        net.zero_grad(set_to_none=False)
        F.cross_entropy(net(x), labels).backward()

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    print(f"torch unet-s train step: {median * 1e3:.2f} ms, {16 / median:.1f} images/s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "step_seconds": median,
                       "images_per_second": 16 / median}, f, indent=2)


if __name__ == "__main__":
    main()
