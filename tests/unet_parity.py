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
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../python")
from torch_parity import serve  # noqa: E402
from cuseg_torch_unet import UNet  # noqa: E402


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
