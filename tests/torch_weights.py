"""PyTorch's side of tests/interop/torch_weights_test.cpp: cuseg's U-Net weights in
python/cuseg_torch_unet.py's UNet, both ways.

    /usr/bin/python3 tests/torch_weights.py IN.safetensors OUT.safetensors

Each case of the spec: "load" reads the state dict seg_export --torch wrote (case["path"]) with a
strict load_state_dict and returns the evaluation-mode logits of IN's "image" (NHWC, normalized);
"train" trains a fresh UNet for a few SGD steps (weights and batch-norm statistics move), writes its
state dict to case["path"] as PyTorch's safetensors writer would (float32, int64 counters) and
returns its logits the same way. The safetensors reading and writing are our own few lines."""
import json
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/../python")
from torch_parity import read_safetensors, serve  # noqa: E402
from cuseg_torch_unet import UNet  # noqa: E402


def write_state_dict(path, state):
    header, blobs, offset = {}, [], 0
    for name in sorted(state):
        t = state[name].detach().contiguous()
        dtype, raw = ("I64", t.numpy().astype("<i8").tobytes()) if t.dtype == torch.int64 else \
            ("F32", t.numpy().astype("<f4").tobytes())
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def logits_of(net, t):
    net.eval()
    with torch.no_grad():
        return net(t["image"].float().permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def run_case(case, t, out):
    if case["op"] == "load":
        net = UNet(case)
        state, meta = read_safetensors(case["path"])
        assert json.loads(meta["unet"]) == {k: case[k] for k in json.loads(meta["unet"])}, meta["unet"]
        net.load_state_dict(state)  # strict: every name, every shape
        out["logits"] = logits_of(net, t)
        return
    torch.manual_seed(case["seed"])
    net = UNet(case)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    x = torch.randn(4, case["in_channels"], 32, 32)
    y = torch.randint(0, case["classes"], (4, 32, 32))
    net.train()
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    write_state_dict(case["path"], net.state_dict())
    out["logits"] = logits_of(net, t)


if __name__ == "__main__":
    serve(run_case)
