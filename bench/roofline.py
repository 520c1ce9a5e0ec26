#!/usr/bin/env python3
"""The paper roofline of a training step's convolutions on an H100 SXM, per layer, and what each of
cuseg's GPU kernel families can reach on it, by reading the kernels rather than running them.

  .venv-torch/bin/python bench/roofline.py [--network unet-s|unet-resnet34] [--batch 16] [--size 256]

(.venv-torch: scripts/deps.sh's PyTorch venv, for segmentation_models_pytorch; unet-s alone runs
under /usr/bin/python3.) The layers are read from the networks themselves: forward hooks on every
Conv2d / ConvTranspose2d of cuseg's unet-s replica (python/cuseg_torch_unet.py, base 32, depth 4,
batch norm, transposed upsampling) or of SMP's Unet-resnet34, run once at the given size.

For each convolution, a training step runs three GEMMs of the same size (forward, backward data,
backward filter): 3 × 2·N·P·Q·K·R·S·C/g FLOPs, and at least the bytes of x, w and y once each per
direction. Peak rates (dense, boost clock): FP32 FMA 67 TFLOPS, TF32 tensor 494.7, BF16 tensor
989.4, HBM3 3.35 TB/s. A layer's roofline time is max(FLOPs / peak, bytes / bandwidth).

What cuseg's kernels can reach, from their code:
  - simt (implicit_gemm.cuh, f32): 64×64 tiles, 4×4 outputs a thread from scalar shared loads —
    16 FMAs need 8 loads, so the shared-memory pipe bounds it at half the FMA peak;
  - tc (implicit_gemm_tc.cuh, tf32/bf16, mma.sync): each warp's 32×16 tile makes 64 warp-wide
    shared-memory accesses a K-step (48 fragment loads — 32-bit in tf32, 16-bit in bf16, the same
    count — and 16 tile stores; conflict-free, one clock each on the SM's shared-memory pipe) for
    32 K-flops of mma (16 clocks of an SM's TF32 rate, 8 of its BF16 rate): shared memory bounds it
    at 25% of the TF32 peak and 12.5% of the BF16 peak, ≈124 TFLOPS either way. (CUTLASS's 64×64
    warp tiles and ldmatrix balance the two.)
Both scale by the tile's occupancy where the GEMM's M or N is below the 64×64 tile (the head, the
narrow layers). A layer's expected time is the larger of its FLOPs at that rate and its bytes at
the full bandwidth. These are upper bounds on speed; the measurement (scripts/gpu_check.sh on a
lent GPU) replaces them.
"""
import argparse
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

PEAK = {"fp32": 67e12, "tf32": 494.7e12, "bf16": 989.4e12}
BANDWIDTH = 3.35e12
KERNEL_SHARE = {"f32": 0.5 * PEAK["fp32"], "tf32": 0.25 * PEAK["tf32"], "bf16": 0.125 * PEAK["bf16"]}
ELEMENT_BYTES = {"f32": 4, "tf32": 4, "bf16": 2}


def network(name):
    import torch
    if name == "unet-s":
        from cuseg_torch_unet import UNet
        return UNet({"in_channels": 3, "classes": 4, "base": 32, "depth": 4, "batch_norm": True,
                     "upsample": "transposed"})
    if name == "unet-resnet34":
        import segmentation_models_pytorch as smp
        return smp.Unet("resnet34", encoder_weights=None, in_channels=3, classes=4)
    sys.exit(f"roofline: unknown network {name}")


def layers(name, size):
    """(name, N-independent geometry) of every convolution, in forward order."""
    import torch
    net = network(name).eval()
    found = []

    def hook(module, inputs, output, label):
        x = inputs[0]
        transposed = isinstance(module, torch.nn.ConvTranspose2d)
        # A transposed convolution's GEMM: the forward is a backward-data of the convolution from y to x.
        c_in, c_out = (module.out_channels, module.in_channels) if transposed else (module.in_channels,
                                                                                    module.out_channels)
        found.append(dict(name=label, transposed=transposed, C=c_in, K=c_out, R=module.kernel_size[0],
                          S=module.kernel_size[1], groups=module.groups,
                          H=(output if transposed else x).shape[2], W=(output if transposed else x).shape[3],
                          P=(x if transposed else output).shape[2], Q=(x if transposed else output).shape[3]))

    for label, m in net.named_modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            m.register_forward_hook(lambda mod, i, o, label=label: hook(mod, i, o, label))
    with torch.no_grad():
        net(torch.zeros(1, 3, size, size))
    return found


def gemm_tile_share(M, N):
    """The share of a 64×64 tile's outputs that are real outputs, over the grid (edge tiles)."""
    return (M / (64 * math.ceil(M / 64))) * (N / (64 * math.ceil(N / 64)))


def row(layer, batch, precision):
    L = layer
    cg = L["C"] // L["groups"]
    M = batch * L["P"] * L["Q"]  # forward GEMM: M = N·P·Q, N = K/g, Kd = R·S·C/g
    N = L["K"] // L["groups"]
    flops = 3 * 2.0 * M * N * L["R"] * L["S"] * cg * L["groups"]
    e = ELEMENT_BYTES[precision]
    x = batch * L["H"] * L["W"] * L["C"] * e
    w = L["K"] * L["R"] * L["S"] * cg * e
    y = batch * L["P"] * L["Q"] * L["K"] * e
    moved = 3 * (x + w + y)
    peak = PEAK["fp32" if precision == "f32" else precision]
    roof = max(flops / peak, moved / BANDWIDTH)
    rate = KERNEL_SHARE[precision] * gemm_tile_share(M, N)
    ours = max(flops / rate, moved / BANDWIDTH)
    return flops, moved, roof, ours


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--network", default="unet-s", choices=["unet-s", "unet-resnet34"])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=256)
    a = p.parse_args()
    found = layers(a.network, a.size)
    print(f"{a.network}, batch {a.batch}, {a.size}×{a.size}: the training step's convolutions on one H100 SXM "
          f"(forward + backward data + backward filter)\n")
    print("| layer | C→K, R×S, P×Q | GFLOP | MB moved (f32) | FLOP/B | roofline f32 / tf32 / bf16 ms | "
          "cuseg simt f32 / tc tf32 / tc bf16 ms |")
    print("|---|---|---|---|---|---|---|")
    totals = {k: [0.0, 0.0] for k in ("f32", "tf32", "bf16")}
    total_flops = total_bytes = 0.0
    for L in found:
        cells = {}
        for precision in ("f32", "tf32", "bf16"):
            flops, moved, roof, ours = row(L, a.batch, precision)
            cells[precision] = (roof, ours)
            totals[precision][0] += roof
            totals[precision][1] += ours
            if precision == "f32":
                total_flops += flops
                total_bytes += moved
                f32_flops, f32_moved = flops, moved
        kind = " (transposed)" if L["transposed"] else ""
        print(f"| {L['name']}{kind} | {L['C']}→{L['K']}, {L['R']}×{L['S']}, {L['P']}×{L['Q']} | "
              f"{f32_flops / 1e9:.1f} | {f32_moved / 1e6:.0f} | {f32_flops / f32_moved:.0f} | "
              f"{cells['f32'][0] * 1e3:.3f} / {cells['tf32'][0] * 1e3:.3f} / {cells['bf16'][0] * 1e3:.3f} | "
              f"{cells['f32'][1] * 1e3:.3f} / {cells['tf32'][1] * 1e3:.3f} / {cells['bf16'][1] * 1e3:.3f} |")
    print(f"| **all {len(found)}** | | {total_flops / 1e9:.0f} | {total_bytes / 1e6:.0f} | "
          f"{total_flops / total_bytes:.0f} | "
          f"{totals['f32'][0] * 1e3:.2f} / {totals['tf32'][0] * 1e3:.2f} / {totals['bf16'][0] * 1e3:.2f} | "
          f"{totals['f32'][1] * 1e3:.2f} / {totals['tf32'][1] * 1e3:.2f} / {totals['bf16'][1] * 1e3:.2f} |")


if __name__ == "__main__":
    main()
