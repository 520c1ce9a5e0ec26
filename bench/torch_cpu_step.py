"""The configuration of bench/unet/cpu_step.cpp (unet_cpu_bench) in PyTorch on the CPU, in its own
process: the same network (unet-s: python/cuseg_torch_unet.py; a model zoo network: SMP's own,
segmentation_models_pytorch.create_model, which needs a venv with SMP: .venv-torch of
scripts/deps.sh or .venv-torch-pypi of bench/torch_pypi_venv.sh), the same step (train: zero_grad,
forward, cross-entropy, backward, one Adam step; infer: an eval-mode forward under no_grad),
channels_last or NCHW, f32 or bf16 autocast, eager or --compile (torch.compile, inductor's default
mode: the training step's forward and backward through AOTAutograd, the inference forward under
no_grad; it compiles during the warm-up steps, at least 2 of them). Adam is fused where the torch
has a fused CPU Adam (2.4+), else foreach, in eager and compiled runs alike.

Prints one JSON line like unet_cpu_bench's, with every timed step's seconds ("steps_s"), the torch
version, "compile", "adam" and the number of graphs dynamo made ("graphs": more than 1 means graph
breaks); "impl" is e.g. torch2.15-compile-f32-channels_last.

    /usr/bin/python3 bench/torch_cpu_step.py --mode train --base 16 --batch 16 --size 64 --threads 2
    .venv-torch-pypi/bin/python bench/torch_cpu_step.py --compile --mode infer --base 32 --batch 1 --size 512
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
TORCH_VERSION = ".".join(torch.__version__.split("+")[0].split(".")[:2])  # "2.15", "1.13"


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


def best_adam(params):
    """PyTorch's fastest Adam on this torch and its name: fused has a CPU kernel from 2.4 on (older
    torches refuse fused=True for CPU tensors at construction), else the multi-tensor foreach one."""
    params = list(params)
    for kind in ("fused", "foreach"):
        try:
            return torch.optim.Adam(params, lr=1e-3, **{kind: True}), kind
        except (RuntimeError, TypeError, ValueError):
            pass
    return torch.optim.Adam(params, lr=1e-3), "default"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["unet-s", *SMP_ARCHITECTURES], default="unet-s")
    p.add_argument("--encoder", default="resnet34", help="an SMP encoder (--model other than unet-s)")
    p.add_argument("--mode", choices=["train", "infer"], default="train")
    p.add_argument("--precision", choices=["f32", "bf16"], default="f32")
    p.add_argument("--layout", choices=["channels_last", "nchw"], default="channels_last")
    p.add_argument("--compile", action="store_true", help="torch.compile (inductor); needs torch 2")
    for name, default in [("base", 16), ("batch", 16), ("size", 64), ("channels", 3), ("classes", 11),
                          ("threads", 0), ("steps", 10), ("warmup", 2)]:
        p.add_argument(f"--{name}", type=int, default=default)
    a = p.parse_args()
    if a.compile and not hasattr(torch, "compile"):
        sys.exit(f"torch_cpu_step: --compile needs torch.compile (torch 2.0+); this is torch {torch.__version__}")
    if a.compile:
        # The first step compiles; the second shows whether anything recompiles (a guard on state
        # the first step changed) before the timing starts.
        a.warmup = max(a.warmup, 2)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    fmt = torch.channels_last if a.layout == "channels_last" else torch.contiguous_format
    net, model = build(a)
    net = net.to(memory_format=fmt)
    net.train(a.mode == "train")
    x = (torch.rand(a.batch, a.channels, a.size, a.size) * 2 - 1).contiguous(memory_format=fmt)
    labels = torch.randint(0, a.classes, (a.batch, a.size, a.size))
    adam, adam_kind = best_adam(net.parameters())
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16")

    def forward_loss(x, labels):
        with autocast:
            return F.cross_entropy(net(x).float(), labels)

    def forward(x):
        with autocast:
            return net(x)

    if a.compile:
        # The loss is inside the compiled graph, so that AOTAutograd compiles forward, loss and
        # their backward as one; Adam stays eager (its fused kernel is already one loop).
        forward_loss, forward = torch.compile(forward_loss), torch.compile(forward)

    def step():
        if a.mode == "infer":
            with torch.no_grad():
                forward(x)
            return
        adam.zero_grad(set_to_none=False)
        forward_loss(x, labels).backward()
        adam.step()

    for _ in range(a.warmup):
        step()
    if a.compile:
        # A recompile inside the timed steps would time the compiler: make it an error.
        from torch._dynamo import config as dynamo_config
        from torch._dynamo.utils import counters
        dynamo_config.error_on_recompile = True
        graphs = counters["stats"]["unique_graphs"]
    steps_s = []
    for _ in range(a.steps):
        start = time.perf_counter()
        step()
        steps_s.append(time.perf_counter() - start)
    if a.compile and counters["stats"]["unique_graphs"] != graphs:
        sys.exit(f"torch_cpu_step: {counters['stats']['unique_graphs'] - graphs} graphs compiled in the timed steps")
    median = sorted(steps_s)[len(steps_s) // 2]
    mode = "compile" if a.compile else "eager"
    print(json.dumps({"impl": f"torch{TORCH_VERSION}-{mode}-{a.precision}-{a.layout}", "model": model,
                      "mode": a.mode, "base": a.base if model == "unet-s" else 0, "batch": a.batch, "size": a.size,
                      "threads": torch.get_num_threads(), "seconds": round(median, 6),
                      "images_per_s": round(a.batch / median, 2),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "steps_s": [round(s, 6) for s in steps_s], "torch": torch.__version__,
                      "compile": a.compile, "adam": adam_kind,
                      # Graphs dynamo made (more than one per compiled function: graph breaks).
                      "graphs": counters["stats"]["unique_graphs"] if a.compile else 0}))


if __name__ == "__main__":
    main()
