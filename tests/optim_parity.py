"""torch.optim's answers for the optimizer parity test (tests/optim/optim_parity_test.cpp).

    /usr/bin/python3 tests/optim_parity.py IN.safetensors OUT.safetensors

IN holds, per case, each parameter's starting value and its gradient at every step, and in its
metadata a JSON "spec". Coupled penalties are added to the gradient as cuseg defines them
(regularizers/penalty.h); decoupled decay goes through AdamW's weight_decay; parameters of rank 1
get neither (cuseg's default "no_decay" group). OUT receives the weights after every step.
"""
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from torch_parity import serve  # noqa: E402


def penalty_grad(w, pen):
    kind = pen["kind"]
    g = torch.zeros_like(w)
    if kind in ("l1", "elastic"):
        g += pen["l1"] * torch.sign(w)
    if kind in ("l2", "elastic"):
        g += pen["l2"] * w
    if kind == "smooth-l1":
        inside = w.abs() < pen["beta"]
        g += pen["huber"] * torch.where(inside, w / pen["beta"], torch.sign(w))
    return g


def make_optimizer(case, decay_params, plain_params):
    o, lr = case["optimizer"], case["lr"]
    wd = case.get("weight_decay", 0.0)
    groups = [{"params": decay_params}, {"params": plain_params}]
    if o in ("sgd", "momentum", "nesterov"):
        return torch.optim.SGD(groups, lr=lr, momentum=case["momentum"], dampening=case["dampening"],
                               nesterov=case["nesterov"])
    if o == "adagrad":
        return torch.optim.Adagrad(groups, lr=lr, lr_decay=case["lr_decay"], eps=case["eps"])
    if o == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, alpha=case["alpha"], eps=case["eps"], momentum=case["momentum"],
                                   centered=case["centered"])
    if o == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=(case["beta1"], case["beta2"]), eps=case["eps"])
    if o == "adamw":
        groups[0]["weight_decay"] = wd
        groups[1]["weight_decay"] = 0.0
        return torch.optim.AdamW(groups, lr=lr, betas=(case["beta1"], case["beta2"]), eps=case["eps"])
    raise ValueError(o)


def run_case(case, t, out):
    name, steps = case["name"], case["steps"]
    params = {p: t[f"{name}.{p}.w0"].clone().requires_grad_(True) for p in case["params"]}
    decay = [params[p] for p in case["params"] if params[p].dim() >= 2]
    plain = [params[p] for p in case["params"] if params[p].dim() < 2]
    opt = make_optimizer(case, decay, plain)
    for step in range(steps):
        for p, w in params.items():
            w.grad = t[f"{name}.{p}.g{step}"].clone()
        if case.get("max_grad_norm", 0) > 0:
            torch.nn.utils.clip_grad_norm_(list(params.values()), case["max_grad_norm"])
        with torch.no_grad():
            for w in decay:
                w.grad += penalty_grad(w, case["penalty"])
        opt.step()
        for p, w in params.items():
            out[f"{name}.{p}.w{step + 1}"] = w.detach().clone()


if __name__ == "__main__":
    serve(run_case)
