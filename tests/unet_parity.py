"""PyTorch's answers for the unet-s parity test (tests/layers/unet_parity_test.cpp).

    /usr/bin/python3 tests/unet_parity.py IN.safetensors OUT.safetensors

IN holds cuseg's U-Net state (parameters and batch-norm buffers, KRSC weights), an NHWC image
batch and labels, and a JSON spec of the configuration. The same network is built here from
torch.nn modules named as cuseg names its parameters, loaded, run in training mode with
cross-entropy, and its logits, loss, parameter gradients and updated running statistics written
back in cuseg's layouts.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from torch_parity import serve  # noqa: E402


def double_conv(in_ch, width, bn):
    d = nn.ModuleDict()
    for k in (1, 2):
        d[f"conv{k}"] = nn.Conv2d(in_ch if k == 1 else width, width, 3, padding=1, bias=not bn)
        if bn:
            d[f"bn{k}"] = nn.BatchNorm2d(width)
    return d


def run_double_conv(d, x):
    for k in (1, 2):
        x = d[f"conv{k}"](x)
        if f"bn{k}" in d:
            x = d[f"bn{k}"](x)
        x = F.relu(x)
    return x


class UNet(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        depth, base, bn = c["depth"], c["base"], c["batch_norm"]
        in_ch = c["in_channels"]
        for l in range(depth):
            self.add_module(f"enc{l}", double_conv(in_ch, base << l, bn))
            in_ch = base << l
        for l in range(depth - 2, -1, -1):
            d = double_conv(2 * (base << l), base << l, bn)
            if c["upsample"] == "transposed":
                d["up"] = nn.ConvTranspose2d(2 * (base << l), base << l, 2, stride=2)
            else:
                d["up"] = nn.Conv2d(2 * (base << l), base << l, 1)
            self.add_module(f"dec{l}", d)
        self.head = nn.Conv2d(base, c["classes"], 1)

    def forward(self, x):
        skips = []
        for l in range(self.c["depth"]):
            if l > 0:
                x = F.max_pool2d(x, 2)
            x = run_double_conv(getattr(self, f"enc{l}"), x)
            skips.append(x)
        for l in range(self.c["depth"] - 2, -1, -1):
            d = getattr(self, f"dec{l}")
            if self.c["upsample"] == "transposed":
                up = d["up"](x)
            else:
                up = d["up"](F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
            x = run_double_conv(d, torch.cat([skips[l], up], 1))
        return self.head(x)


def is_conv_weight(t):
    return t.dim() == 4


def run_case(case, t, out):
    torch.manual_seed(0)
    net = UNet(case).double() if case["dtype"] == "f64" else UNet(case)
    dtype = torch.float64 if case["dtype"] == "f64" else torch.float32
    state = {}
    for name, value in net.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = value
            continue
        v = t[f"state.{name}"].to(dtype)
        state[name] = v.permute(0, 3, 1, 2) if is_conv_weight(v) else v  # KRSC → KCRS, [Ci,R,S,Co] → [Ci,Co,R,S]
    net.load_state_dict(state)
    net.train()
    x = t["image"].to(dtype).permute(0, 3, 1, 2)
    logits = net(x)
    loss = F.cross_entropy(logits, t["labels"].long(), weight=t["class_weights"].to(dtype), ignore_index=255)
    loss.backward()
    out["logits"] = logits.detach().permute(0, 2, 3, 1)
    out["loss"] = loss.detach().reshape(1)
    for name, p in net.named_parameters():
        g = p.grad.detach()
        out[f"grad.{name}"] = g.permute(0, 2, 3, 1) if g.dim() == 4 else g
    for name, b in net.named_buffers():
        if not name.endswith("num_batches_tracked"):
            out[f"state.{name}"] = b.detach()


if __name__ == "__main__":
    serve(run_case)
