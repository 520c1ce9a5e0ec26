"""cuseg against PyTorch on the CPU, side by side in one run, each configuration in its own process
(so each peak resident memory is its own). cuseg runs its reference, its fast path in f32 and in
bf16 (bench/unet/cpu_step.cpp); PyTorch runs f32 and bf16 autocast, channels_last and NCHW
(bench/torch_cpu_step.py). The training step is zero_grad, forward, cross-entropy, backward and one
Adam step on both sides. Prints a Markdown table; --json writes every row.

--rounds N runs the whole list N times, one configuration after the other in each round, and
reports each configuration's best round (the lowest of its processes' medians, and the highest
peak memory): on a shared machine other work only ever adds time, and the rounds spread it over
every configuration alike.

--network picks the rows (3 input channels, 11 classes throughout):
  unet-s          cuseg's U-Net: training steps at base 16 on 16×64×64×3 and at base 32 on
                  4×256×256×3, inference at base 32 on 1×512×512×3; PyTorch is Debian's
                  (/usr/bin/python3) running python/cuseg_torch_unet.py.
  unet-resnet34   a model zoo network (also unet-resnet18, unet-resnet50): a training step on
                  8×256×256×3, inference on 1×512×512×3; PyTorch runs SMP's own network
                  (segmentation_models_pytorch.create_model) from .venv-torch (scripts/deps.sh),
                  Debian's torch underneath.

    /usr/bin/python3 bench/cpu_vs_torch.py --build build/cpu-only --threads 2 [--skip-reference]
    /usr/bin/python3 bench/cpu_vs_torch.py --network unet-resnet34 --threads 2 --skip-reference
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (mode, shape, steps timed after the warm-up ones; the reference's own counts: it is ~10× slower)
UNET_S_SHAPES = [
    ("train", dict(base=16, batch=16, size=64, steps=10, warmup=2, ref_steps=2, ref_warmup=1)),
    ("train", dict(base=32, batch=4, size=256, steps=5, warmup=2, ref_steps=2, ref_warmup=1)),
    ("infer", dict(base=32, batch=1, size=512, steps=5, warmup=2, ref_steps=2, ref_warmup=1)),
]
# The model zoo's networks: each step takes seconds on two cores.
ZOO_SHAPES = [
    ("train", dict(batch=8, size=256, steps=3, warmup=1, ref_steps=1, ref_warmup=0)),
    ("infer", dict(batch=1, size=512, steps=5, warmup=1, ref_steps=1, ref_warmup=0)),
]
ZOO_NETWORKS = {f"unet-{e}": ("unet", e) for e in ("resnet18", "resnet34", "resnet50")}


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def shape_label(s):
    dims = f"{s['batch']}×{s['size']}×{s['size']}×3"
    return f"base {s['base']}, {dims}" if "base" in s else dims


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--network", choices=["unet-s", *ZOO_NETWORKS], default="unet-s")
    p.add_argument("--build", default="build/cpu-only")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--skip-reference", action="store_true", help="the reference takes minutes at 256×256")
    p.add_argument("--torch-python", help="the Python that runs PyTorch (default: /usr/bin/python3 for unet-s, "
                                          ".venv-torch/bin/python, which has SMP, for the model zoo)")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--json")
    a = p.parse_args()
    ours = os.path.join(a.build, "bench", "unet_cpu_bench")
    if a.network == "unet-s":
        shapes, network_flags = UNET_S_SHAPES, []
        python = a.torch_python or "/usr/bin/python3"
    else:
        model, encoder = ZOO_NETWORKS[a.network]
        shapes, network_flags = ZOO_SHAPES, ["--model", model, "--encoder", encoder]
        python = a.torch_python or os.path.join(ROOT, ".venv-torch", "bin", "python")
    torch = [python, os.path.join(HERE, "torch_cpu_step.py")]
    runs = []  # (shape label, name, program + flags)
    for mode, s in shapes:
        common = network_flags + ["--mode", mode, "--batch", str(s["batch"]), "--size", str(s["size"]),
                                  "--channels", "3", "--classes", "11", "--threads", str(a.threads),
                                  "--steps", str(s["steps"]), "--warmup", str(s["warmup"])]
        if "base" in s:
            common += ["--base", str(s["base"])]
        # (name, program, flags after the common ones: later flags win in both programs)
        configs = [("cuseg-fast-f32", [ours], ["--backend", "fast", "--precision", "f32"]),
                   ("cuseg-fast-bf16", [ours], ["--backend", "fast", "--precision", "bf16"])]
        if not a.skip_reference:
            configs.insert(0, ("cuseg-reference", [ours], ["--backend", "reference", "--steps", str(s["ref_steps"]),
                                                           "--warmup", str(s["ref_warmup"])]))
        for prec in ("f32", "bf16"):
            for layout in ("channels_last", "nchw"):
                configs.append((f"torch-{prec}-{layout}", torch, ["--precision", prec, "--layout", layout]))
        runs += [(shape_label(s), name, program + common + extra) for name, program, extra in configs]
    every = []
    for round_ in range(a.rounds):
        for shape, name, cmd in runs:
            r = run(cmd)
            r.update(impl=name, shape=shape, round=round_)
            every.append(r)
            print(json.dumps(r), file=sys.stderr)
    rows = []
    for shape, name, _ in runs:
        mine = [r for r in every if r["shape"] == shape and r["impl"] == name]
        best = dict(min(mine, key=lambda r: r["seconds"]))
        best["peak_rss_mib"] = max(r["peak_rss_mib"] for r in mine)
        best["rounds_seconds"] = [r["seconds"] for r in mine]
        rows.append(best)
    median = "median s" if a.rounds == 1 else "median s (best round)"
    rounds = "" if a.rounds == 1 else " each round's median s |"
    print(f"| mode | network | shape (N×H×W×C) | implementation | threads | {median} | images/s | peak RSS MiB | "
          f"vs best PyTorch f32 |{rounds}")
    print("|---" * (9 + (a.rounds > 1)) + "|")
    for mode, s in shapes:
        group = [r for r in rows if r["mode"] == mode and r["shape"] == shape_label(s)]
        torch_f32 = min(r["seconds"] for r in group if r["impl"].startswith("torch-f32"))
        for r in group:
            print(f"| {mode} | {a.network} | {r['shape']} | {r['impl']} | {r['threads']} | "
                  f"{r['seconds']:.4f} | {r['images_per_s']:.2f} | {r['peak_rss_mib']:.0f} | "
                  f"{r['seconds'] / torch_f32:.2f}× |" +
                  ("" if a.rounds == 1 else f" {', '.join(f'{x:.2f}' for x in r['rounds_seconds'])} |"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(every, f, indent=1)


if __name__ == "__main__":
    main()
