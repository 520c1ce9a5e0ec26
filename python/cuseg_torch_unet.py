"""cuseg's U-Net (unet-s) in torch.nn, with modules named as cuseg names its parameters
(enc0.conv1.weight, ...): the reference the parity tests and the PyTorch benchmarks use, and the
network whose state dict `seg_export --torch` writes and `seg_train --init-from` reads. See
cuseg/layers/unet.h.

    import json, safetensors, safetensors.torch
    with safetensors.safe_open("state.safetensors", "pt") as f:
        config = json.loads(f.metadata()["unet"])
    model = UNet(config)
    model.load_state_dict(safetensors.torch.load_file("state.safetensors"))

`config` holds in_channels, classes, base, depth, batch_norm, upsample ("transposed" or
"bilinear") and dropout (after the bottleneck). Inputs are NCHW, normalized as the metadata's
"normalization" says (mean and std per channel, of pixel values / 255).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


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
        self.dropout = nn.Dropout(c.get("dropout", 0.0))

    def forward(self, x):
        skips = []
        for l in range(self.c["depth"]):
            if l > 0:
                x = F.max_pool2d(x, 2)
            x = run_double_conv(getattr(self, f"enc{l}"), x)
            skips.append(x)
        x = self.dropout(x)
        for l in range(self.c["depth"] - 2, -1, -1):
            d = getattr(self, f"dec{l}")
            if self.c["upsample"] == "transposed":
                up = d["up"](x)
            else:
                up = d["up"](F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
            x = run_double_conv(d, torch.cat([skips[l], up], 1))
        return self.head(x)
