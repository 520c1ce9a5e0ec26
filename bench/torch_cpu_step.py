"""The configuration of bench/unet/cpu_step.cpp (unet_cpu_bench) in PyTorch on the CPU, in its own
process: the same network (unet-s: python/cuseg_torch_unet.py; a model zoo network: SMP's own,
segmentation_models_pytorch.create_model, which needs the .venv-torch of scripts/deps.sh), the same
step (train: zero_grad, forward, cross-entropy, backward, one Adam step; infer: an eval-mode forward
under no_grad), channels_last or NCHW, f32 or bf16 autocast. Prints one JSON line like
unet_cpu_bench's.

    /usr/bin/python3 bench/torch_cpu_step.py --mode train --base 16 --batch 16 --size 64 --threads 2
    .venv-torch/bin/python bench/torch_cpu_step.py --model unet --encoder resnet34 --batch 8 --size 256
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

# cuseg's architecture names (layers/model_config.h) → SMP's.
SMP_ARCHITECTURES = {"unet": "Unet"}


def build(a):
    """The network of unet_cpu_bench's --model/--encoder (unet-s: --base), and its name there."""
    if a.model == "unet-s":
        from cuseg_torch_unet import UNet
        config = {"in_channels": a.channels, "classes": a.classes, "base": a.base, "depth": 4, "batch_norm": True,
                  "upsample": "transposed"}
        return UNet(config), "unet-s"
    import segmentation_models_pytorch as smp
    net = smp.create_model(SMP_ARCHITECTURES[a.model], encoder_name=a.encoder, encoder_weights=None,
                           in_channels=a.channels, classes=a.classes)
    return net, f"{a.model}-{a.encoder}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["unet-s", *SMP_ARCHITECTURES], default="unet-s")
    p.add_argument("--encoder", default="resnet34", help="an SMP encoder (--model other than unet-s)")
    p.add_argument("--mode", choices=["train", "infer"], default="train")
    p.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    p.add_argument("--layout", choices=["channels_last", "nchw"], default="channels_last")
    for name, default in [("base", 16), ("batch", 16), ("size", 64), ("channels", 3), ("classes", 11),
                          ("threads", 0), ("steps", 10), ("warmup", 2)]:
        p.add_argument(f"--{name}", type=int, default=default)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    fmt = torch.channels_last if a.layout == "channels_last" else torch.contiguous_format
    net, model = build(a)
    net = net.to(memory_format=fmt)
    net.train(a.mode == "train")
    x = (torch.rand(a.batch, a.channels, a.size, a.size) * 2 - 1).contiguous(memory_format=fmt)
    labels = torch.randint(0, a.classes, (a.batch, a.size, a.size))
    adam = torch.optim.Adam(net.parameters(), lr=1e-3)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16")

    def step():
        if a.mode == "infer":
            with torch.no_grad(), autocast:
                net(x)
            return
        adam.zero_grad(set_to_none=False)
        with autocast:
            loss = F.cross_entropy(net(x).float(), labels)
        loss.backward()
        adam.step()

    for _ in range(a.warmup):
        step()
    seconds = []
    for _ in range(a.steps):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    median = seconds[len(seconds) // 2]
    print(json.dumps({"impl": f"torch-{a.precision}-{a.layout}", "model": model, "mode": a.mode,
                      "base": a.base if model == "unet-s" else 0, "batch": a.batch, "size": a.size,
                      "threads": torch.get_num_threads(), "seconds": round(median, 6),
                      "images_per_s": round(a.batch / median, 2),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
