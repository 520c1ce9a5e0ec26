"""segmentation_models_pytorch's answers for the model zoo's parity tests (tests/layers/smp_parity_test.cpp).

    .venv-torch/bin/python tests/smp_parity.py IN.safetensors OUT.safetensors

The case's "drop_path" is EfficientNet's drop connect rate (SMP fixes it at 0.2).

Runs in the virtual environment scripts/deps.sh makes over Debian's PyTorch (.venv-torch:
segmentation_models_pytorch 0.6.0 and timm from PyPI, offline, encoder_weights=None). Each case of
IN's JSON spec names a model (smp.create_model's keywords) and what to compute:

  "weights"   the model's state dict as SMP initializes it for torch.manual_seed(seed), with
              batch norm's affine parameters and running statistics randomized so that they
              matter: state.<key> in PyTorch's layouts (what a user's file holds);
  "eval"      evaluation-mode logits of IN's image (NHWC);
  "train"     a training-mode forward, class-weighted cross-entropy against IN's labels (with
              "loss": "bce", binary cross-entropy with logits of a classes=1 model), backward:
              logits, loss, grad.<parameter> (PyTorch's layouts), the updated running statistics;
  "sgd"       `steps` steps of torch.optim.SGD(lr, momentum) on the same batch and loss: the
              parameters and buffers after them (after.<key>);
  "features"  the encoder's evaluation-mode features of IN's image (features.<i>, NHWC), the model
              built as for "weights";
  "load"      IN's tensors under state.<key> loaded with load_state_dict(strict=True) into the
              model the spec names (what seg_export --torch writes), and its evaluation logits;
  "encoder"   torchvision's classification network of the spec's encoder for torch.manual_seed(seed)
              (efficientnet-*: efficientnet_pytorch's EfficientNet, as SMP vendors it)
              (state.<key>: what an ImageNet weights file holds, fc included), and SMP's encoder
              after SMP loads it and adapts it to the spec's in_channels (encoder.<key>).
"""
import sys

import torch
import torch.nn.functional as F
import torchvision
import segmentation_models_pytorch as smp
from segmentation_models_pytorch.encoders._efficientnet import EfficientNet, get_model_params

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from torch_parity import serve  # noqa: E402


def nhwc(t):
    return t.detach().permute(0, 2, 3, 1)


def build(case, dtype):
    torch.manual_seed(case["seed"])
    model = smp.create_model(**case["model"]).to(dtype)
    if hasattr(model.encoder, "_drop_connect_rate"):  # EfficientNet's; not a create_model keyword
        model.encoder._drop_connect_rate = case.get("drop_path", 0.2)
    with torch.no_grad():
        g = torch.Generator().manual_seed(case["seed"] + 1)
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                c = module.num_features
                module.weight.copy_(torch.rand(c, generator=g, dtype=dtype) + 0.5)
                module.bias.copy_(torch.rand(c, generator=g, dtype=dtype) - 0.5)
                module.running_mean.copy_(torch.rand(c, generator=g, dtype=dtype) * 0.2 - 0.1)
                module.running_var.copy_(torch.rand(c, generator=g, dtype=dtype) + 0.5)
            if isinstance(module, torch.nn.GroupNorm):  # FPN's; drawn after the encoder's batch norms
                c = module.num_channels
                module.weight.copy_(torch.rand(c, generator=g, dtype=dtype) + 0.5)
                module.bias.copy_(torch.rand(c, generator=g, dtype=dtype) - 0.5)
    return model


def loss_of(model, case, t, dtype):
    x = t["image"].to(dtype).permute(0, 3, 1, 2)
    logits = model(x)
    if case.get("loss") == "bce":  # a binary head (classes=1) on labels 0 and 1
        return logits, F.binary_cross_entropy_with_logits(logits[:, 0], t["labels"].to(dtype))
    loss = F.cross_entropy(logits, t["labels"].long(), weight=t["class_weights"].to(dtype), ignore_index=255)
    return logits, loss


def run_case(case, t, out):
    dtype = torch.float64 if case["dtype"] == "f64" else torch.float32
    what = case["compute"]
    p = case.get("prefix", "")
    if what == "load":
        model = smp.create_model(**case["model"]).to(dtype)
        state = {k[len("state."):]: v for k, v in t.items() if k.startswith("state.")}
        for k, v in model.state_dict().items():
            if k in state:
                state[k] = state[k].to(v.dtype)
        model.load_state_dict(state, strict=True)
        model.eval()
        with torch.no_grad():
            out[p + "eval.logits"] = nhwc(model(t["image"].to(dtype).permute(0, 3, 1, 2)))
        return
    if what == "encoder":
        torch.manual_seed(case["seed"])
        name = case["model"]["encoder_name"]
        if name.startswith("efficientnet"):  # efficientnet_pytorch's classifier, as SMP vendors it (_fc included)
            classifier = EfficientNet(*get_model_params(name, None))
        else:
            classifier = getattr(torchvision.models, name)()
        for k, v in classifier.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                out[p + "state." + k] = v.detach()
        model = smp.create_model(**dict(case["model"], in_channels=3))
        model.encoder.load_state_dict(classifier.state_dict())
        model.encoder.set_in_channels(case["model"]["in_channels"], pretrained=True)
        for k, v in model.encoder.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                out[p + "encoder." + k] = v.detach()
        return
    model = build(case, dtype)
    if what == "features":  # the encoder's evaluation-mode features of IN's image: features.<i>
        model.eval()
        with torch.no_grad():
            for i, f in enumerate(model.encoder(t["image"].to(dtype).permute(0, 3, 1, 2))):
                out[p + f"features.{i}"] = nhwc(f)
        return
    if what == "weights":
        for k, v in model.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                out[p + "state." + k] = v.detach()
        return
    if what == "eval":
        model.eval()
        with torch.no_grad():
            out[p + "eval.logits"] = nhwc(model(t["image"].to(dtype).permute(0, 3, 1, 2)))
        return
    model.train()
    if what == "train":
        ran = set()  # the modules the forward runs
        hooks = [m.register_forward_hook(lambda m, i, o, name=name: ran.add(name)) for name, m in model.named_modules()]
        logits, loss = loss_of(model, case, t, dtype)
        for h in hooks:
            h.remove()
        loss.backward()
        out[p + "train.logits"] = nhwc(logits)
        out[p + "train.loss"] = loss.detach().reshape(1)
        for name, param in model.named_parameters():
            # A module never run (an encoder's past its depth, EfficientNet's head) has no gradient,
            # and in cuseg no parameter (Graph::add_unused); one run whose output the loss does not
            # read (EfficientNet's blocks one feature past the depth) has gradient 0.
            if param.grad is not None:
                out[p + "grad." + name] = param.grad.detach()
            elif name.rsplit(".", 1)[0] in ran:
                out[p + "grad." + name] = torch.zeros_like(param).detach()
        for name, b in model.named_buffers():
            if not name.endswith("num_batches_tracked"):
                out[p + "train." + name] = b.detach()
        return
    if what == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=case["lr"], momentum=case["momentum"])
        for _ in range(case["steps"]):
            opt.zero_grad()
            _, loss = loss_of(model, case, t, dtype)
            loss.backward()
            opt.step()
        for k, v in model.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                out[p + "after." + k] = v.detach()
        return
    raise ValueError(f"unknown computation {what}")


if __name__ == "__main__":
    serve(run_case)
