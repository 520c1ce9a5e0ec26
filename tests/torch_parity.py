"""PyTorch's answers for the parity test (tests/kernels/torch_parity_test.cpp).

    /usr/bin/python3 tests/torch_parity.py IN.safetensors OUT.safetensors

IN holds NHWC inputs and, in its metadata, a JSON "spec" of the cases; OUT receives PyTorch's
outputs and gradients in float64, NHWC again. The safetensors reading and writing here is our
own few lines over the published format, so this is also an independent reader of cuseg's files.
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F64": np.float64, "F32": np.float32, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        array = np.frombuffer(body[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, meta


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        raw = tensors[name].detach().contiguous().numpy().astype("<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def nchw(t):  # NHWC → NCHW
    return t.permute(0, 3, 1, 2)


def nhwc(t):  # NCHW → NHWC
    return t.permute(0, 2, 3, 1)


def leaf(t):
    return t.clone().requires_grad_(True)


def kept_pixels(case, get):
    """The logits (a leaf, for gradients), their rows for the pixels not ignored, those labels."""
    logits = leaf(get("logits"))
    labels = get("labels").reshape(-1).long()
    keep = labels != case["ignore_index"]
    return logits, logits.reshape(-1, logits.shape[-1])[keep], labels[keep]


def run_case(case, t, out):
    name, op = case["name"], case["op"]
    get = lambda k: t[f"{name}.{k}"]
    if op in ("conv2d", "conv_transpose2d"):
        x, w, b = leaf(nchw(get("x"))), leaf(get("w").permute(0, 3, 1, 2)), leaf(get("b"))
        kw = dict(stride=case["stride"], padding=case["pad"], dilation=case["dil"])
        if op == "conv2d":
            # Padding as F.pad's (left, right, top, bottom) zeros, which also says asymmetric ("same") padding.
            top, bottom, left, right = case["pads"]
            kw["padding"] = 0
            y = F.conv2d(F.pad(x, (left, right, top, bottom)), w, b, groups=case["groups"], **kw)
        else:
            y = F.conv_transpose2d(x, w, b, output_padding=case["output_pad"], **kw)
        (y * nchw(get("g"))).sum().backward()
        out.update({f"{name}.y": nhwc(y), f"{name}.dx": nhwc(x.grad), f"{name}.dw": w.grad.permute(0, 2, 3, 1),
                    f"{name}.db": b.grad})
    elif op in ("max_pool2d", "avg_pool2d"):
        x = leaf(nchw(get("x")))
        kw = dict(kernel_size=case["kernel"], stride=case["stride"], padding=case["pad"], ceil_mode=case["ceil_mode"])
        if op == "max_pool2d" and case.get("indices"):  # the flat h·W + w of each maximum, as cuseg's argmax
            y, indices = F.max_pool2d(x, return_indices=True, **kw)
            out[f"{name}.argmax"] = nhwc(indices.double())
        elif op == "max_pool2d":
            y = F.max_pool2d(x, **kw)
        else:
            y = F.avg_pool2d(x, count_include_pad=case["count_include_pad"], **kw)
        (y * nchw(get("g"))).sum().backward()
        out.update({f"{name}.y": nhwc(y), f"{name}.dx": nhwc(x.grad)})
    elif op == "adaptive_avg_pool2d":
        x = leaf(nchw(get("x")))
        y = F.adaptive_avg_pool2d(x, tuple(case["size"]))
        (y * nchw(get("g"))).sum().backward()
        out.update({f"{name}.y": nhwc(y), f"{name}.dx": nhwc(x.grad)})
    elif op in ("softmax", "log_softmax"):
        x = leaf(get("x"))
        y = (torch.softmax if op == "softmax" else torch.log_softmax)(x, dim=-1)
        (y * get("g")).sum().backward()
        out.update({f"{name}.y": y, f"{name}.dx": x.grad})
    elif op == "activation":
        x = leaf(get("x"))
        kind = case["kind"]
        if kind == "relu":
            y = torch.relu(x)
        elif kind == "leaky_relu":
            y = F.leaky_relu(x, case["slope"])
        elif kind == "sigmoid":
            y = torch.sigmoid(x)
        elif kind == "relu6":
            y = F.relu6(x)
        elif kind == "silu":
            y = F.silu(x)
        else:
            y = torch.tanh(x)
        (y * get("g")).sum().backward()
        out.update({f"{name}.y": y, f"{name}.dx": x.grad})
    elif op == "multiply":
        x, s = leaf(get("x")), leaf(get("s"))
        y = x * s
        (y * get("g")).sum().backward()
        out.update({f"{name}.y": y, f"{name}.dx": x.grad, f"{name}.ds": s.grad})
    elif op == "upsample":
        x = leaf(nchw(get("x")))
        y = F.interpolate(x, size=tuple(case["size"]), mode=case["mode"],
                          **({"align_corners": case["align_corners"]} if case["mode"] == "bilinear" else {}))
        (y * nchw(get("g"))).sum().backward()
        out.update({f"{name}.y": nhwc(y), f"{name}.dx": nhwc(x.grad)})
    elif op == "batch_norm":
        x, w, b = leaf(nchw(get("x"))), leaf(get("gamma")), leaf(get("beta"))
        rm, rv = get("running_mean").clone(), get("running_var").clone()
        y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=case["momentum"], eps=case["eps"])
        (y * nchw(get("g"))).sum().backward()
        y_eval = F.batch_norm(nchw(get("x")), rm, rv, get("gamma"), get("beta"), training=False, eps=case["eps"])
        out.update({f"{name}.y": nhwc(y), f"{name}.dx": nhwc(x.grad), f"{name}.dgamma": w.grad,
                    f"{name}.dbeta": b.grad, f"{name}.running_mean": rm, f"{name}.running_var": rv,
                    f"{name}.y_eval": nhwc(y_eval)})
    elif op == "group_norm":
        x, w, b = leaf(nchw(get("x"))), leaf(get("gamma")), leaf(get("beta"))
        y = F.group_norm(x, case["groups"], w, b, eps=case["eps"])
        if case["relu"]:
            y = torch.relu(y)
        (y * nchw(get("g"))).sum().backward()
        n, c, h, wd = x.shape
        _, mean, rstd = torch.native_group_norm(nchw(get("x")), get("gamma"), get("beta"), n, c, h * wd,
                                                case["groups"], case["eps"])
        out.update({f"{name}.y": nhwc(y), f"{name}.dx": nhwc(x.grad), f"{name}.dgamma": w.grad,
                    f"{name}.dbeta": b.grad, f"{name}.mean": mean, f"{name}.rstd": rstd})
    elif op == "dropout2d":
        x = leaf(nchw(get("x")))
        noise = nchw(get("mask").double())  # [N, C, 1, 1]
        y = x * noise / (1 - case["p"])
        (y * nchw(get("g"))).sum().backward()
        out.update({f"{name}.y": nhwc(y), f"{name}.dx": nhwc(x.grad)})
    elif op == "drop_path":
        x = leaf(nchw(get("x")))
        keep_prob = 1 - case["p"]
        binary = torch.floor(keep_prob + nchw(get("u")))  # efficientnet_pytorch's drop_connect
        y = x / keep_prob * binary
        (y * nchw(get("g"))).sum().backward()
        out.update({f"{name}.y": nhwc(y), f"{name}.dx": nhwc(x.grad)})
    elif op == "elementwise_loss":
        x, target = leaf(get("x")), get("target")
        kind = case["kind"]
        if kind == "bce":
            loss = F.binary_cross_entropy_with_logits(x, target, pos_weight=get("pos_weight"))
        elif kind == "mse":
            loss = F.mse_loss(x, target)
        else:
            loss = F.smooth_l1_loss(x, target, beta=case["beta"])
        (0.75 * loss).backward()
        out.update({f"{name}.loss": loss.reshape(1), f"{name}.dx": x.grad})
    elif op == "focal":
        # Written out from the definition: Σ w[l]·(1 − p_l)^γ·(−log p_l) / Σ w[l] over kept pixels.
        logits, rows, labels = kept_pixels(case, get)
        lp_t = rows.log_softmax(1).gather(1, labels.unsqueeze(1)).squeeze(1)
        w = get("weights")[labels]
        loss = (w * (1 - lp_t.exp()) ** case["gamma"] * -lp_t).sum() / w.sum()
        (0.75 * loss).backward()
        out.update({f"{name}.loss": loss.reshape(1), f"{name}.dlogits": logits.grad})
    elif op == "dice":
        logits, rows, labels = kept_pixels(case, get)
        p = rows.softmax(1)
        t = F.one_hot(labels, rows.shape[1]).to(p.dtype)
        inter, total = (p * t).sum(0), p.sum(0) + t.sum(0)
        loss = 1 - ((2 * inter + case["smooth"]) / (total + case["smooth"])).mean()
        (0.75 * loss).backward()
        out.update({f"{name}.loss": loss.reshape(1), f"{name}.dlogits": logits.grad})
    elif op == "cross_entropy":
        logits = leaf(get("logits"))
        classes = logits.shape[-1]
        loss = F.cross_entropy(logits.reshape(-1, classes), get("labels").reshape(-1).long(),
                               weight=get("weights"), ignore_index=case["ignore_index"],
                               label_smoothing=case["label_smoothing"])
        (0.75 * loss).backward()
        out.update({f"{name}.loss": loss.reshape(1), f"{name}.dlogits": logits.grad})
    else:
        raise ValueError(f"unknown op {op}")


def serve(run_case):
    """The scripts' main: reads IN (argv[1]), calls run_case(case, tensors, out) for each case of
    its JSON spec, writes what they put in `out` to OUT (argv[2])."""
    tensors, meta = read_safetensors(sys.argv[1])
    out = {}
    for case in json.loads(meta["spec"]):
        run_case(case, tensors, out)
    write_safetensors(sys.argv[2], out)


if __name__ == "__main__":
    serve(run_case)
