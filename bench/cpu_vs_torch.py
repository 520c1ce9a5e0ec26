"""cuseg against PyTorch on the CPU, side by side in one run, each configuration in its own process
(so each peak resident memory is its own). cuseg runs its reference, its fast path in f32 and in
bf16 (bench/unet/cpu_step.cpp); each PyTorch runs eager and, from 2.0 on, torch.compile (inductor),
f32 and bf16 autocast, channels_last and NCHW (bench/torch_cpu_step.py; Adam fused where the torch
has it). The training step is zero_grad, forward, cross-entropy, backward and one Adam step on both
sides; inference is an eval-mode forward.

PyTorch: --torch LABEL=PYTHON, repeatable. By default two: Debian's 1.13 (/usr/bin/python3 for
unet-s, .venv-torch/bin/python of scripts/deps.sh, which adds SMP, for the model zoo) and PyPI's
2.15 with SMP 0.6.0 (.venv-torch-pypi, made by bench/torch_pypi_venv.sh if missing: about 5.4 GB).
--torch-modes eager,compile, --precisions f32,bf16 and --layouts channels_last,nchw narrow the list
(--precisions also picks cuseg's rows; the layouts are PyTorch's: cuseg is NHWC).

--rounds N (default 3) runs the whole list N times, one configuration after the other in each
round, so that other work on a shared machine spreads over every configuration alike. Each row
reports the median over rounds of the per-round median step, the spread (max/min of the per-round
medians: above ~1.15 the machine was not quiet enough to trust the row), the highest peak memory of
its rounds, and its time against the fastest PyTorch 2.x row of the same precision and shape (eager
or compiled, either layout; if no 2.x ran, the newest PyTorch given, and the header says so). After
the table, one line per shape compares cuseg's fast path with that PyTorch against the targets of
issue 30: f32 time ≤ 0.50×, bf16 time ≤ 0.67×, cuseg's spread ≤ 1.15, f32 peak memory ≤ 1× (the
fastest PyTorch f32 row's). --json writes every row of every round.

--network picks the rows (3 input channels, 11 classes throughout):
  unet-s          cuseg's U-Net: training steps at base 16 on 16×64×64×3 and at base 32 on
                  4×256×256×3, inference at base 32 on 1×512×512×3; PyTorch runs
                  python/cuseg_torch_unet.py.
  unet-resnet34   a model zoo network (also unet-resnet18, unet-resnet50): a training step on
                  8×256×256×3, inference on 1×512×512×3; PyTorch runs SMP's own network
                  (segmentation_models_pytorch.create_model).

--quick is a smoke test of the script, not a benchmark: one training and one inference shape at
batch 2, 32×32, one timed step (a compiled row still compiles: up to a minute on 2 cores, less once inductor's
cache has its kernels).

    /usr/bin/python3 bench/cpu_vs_torch.py --build build/cpu-only --threads 2 [--skip-reference]
    /usr/bin/python3 bench/cpu_vs_torch.py --network unet-resnet34 --threads 2 --skip-reference
    /usr/bin/python3 bench/cpu_vs_torch.py --torch 2.15=.venv-torch-pypi/bin/python --torch-modes compile
    /usr/bin/python3 bench/cpu_vs_torch.py --quick --rounds 1 --torch-modes eager     (smoke test)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (mode, shape, steps timed after the warm-up ones; the reference's own counts: it is ~10× slower)
UNET_S_SHAPES = [
    ("train", dict(base=16, batch=16, size=64, steps=10, warmup=10, ref_steps=2, ref_warmup=1)),
    ("train", dict(base=32, batch=4, size=256, steps=5, warmup=3, ref_steps=2, ref_warmup=1)),
    ("infer", dict(base=32, batch=1, size=512, steps=5, warmup=5, ref_steps=2, ref_warmup=1)),
]
# The model zoo's networks: each step takes seconds on two cores.
ZOO_SHAPES = [
    ("train", dict(batch=8, size=256, steps=3, warmup=2, ref_steps=1, ref_warmup=0)),
    ("infer", dict(batch=1, size=512, steps=5, warmup=3, ref_steps=1, ref_warmup=0)),
]
QUICK = dict(batch=2, size=32, steps=1, warmup=2, ref_steps=1, ref_warmup=0)
ZOO_NETWORKS = {f"unet-{e}": ("unet", e) for e in ("resnet18", "resnet34", "resnet50")}
# Issue 30's targets, cuseg's fast path against the best PyTorch 2.x of the same precision.
TARGETS = dict(f32=0.50, bf16=0.67, spread=1.15, peak=1.0)


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def shape_label(s):
    dims = f"{s['batch']}×{s['size']}×{s['size']}×3"
    return f"base {s['base']}, {dims}" if "base" in s else dims


def csv(choices):
    """An argparse type: a comma-separated subset of choices, in the order given."""
    def parse(text):
        items = [x for x in text.split(",") if x]
        bad = [x for x in items if x not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"choose from {','.join(choices)}")
        return items
    return parse


def torches(a):
    """[(label, python, version tuple, has torch.compile)] of --torch, or the two defaults."""
    given = [t.split("=", 1) for t in a.torch] if a.torch else None
    if given is None:
        debian = "/usr/bin/python3" if a.network == "unet-s" else os.path.join(ROOT, ".venv-torch", "bin", "python")
        made = subprocess.run([os.path.join(HERE, "torch_pypi_venv.sh")], capture_output=True, text=True)
        if made.returncode != 0:
            sys.exit(f"bench/torch_pypi_venv.sh failed ({made.returncode}):\n{made.stderr}")
        given = [["debian", debian], ["pypi", made.stdout.strip().splitlines()[-1]]]
    found = []
    for label, python in given:
        probe = run([python, "-c", "import json, torch; print(json.dumps([torch.__version__.split('+')[0], "
                                   "hasattr(torch, 'compile')]))"])
        version = tuple(int(x) for x in probe[0].split(".")[:2])
        found.append((label, python, version, probe[1]))
    return found


def precision(impl):
    return "bf16" if "bf16" in impl else "f32"  # cuseg-reference computes in f32


def summarize(every, runs):
    """One row per configuration: the median and spread of its rounds' medians, its highest peak."""
    rows = []
    for run_ in runs:
        mine = [r for r in every if all(r[k] == run_[k] for k in ("mode", "shape", "key"))]
        medians = [r["seconds"] for r in mine]
        row = dict(mine[0], seconds=statistics.median(medians), spread=max(medians) / min(medians),
                   peak_rss_mib=max(r["peak_rss_mib"] for r in mine), rounds_seconds=medians)
        row["images_per_s"] = row["batch"] / row["seconds"]
        rows.append(row)
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--network", choices=["unet-s", *ZOO_NETWORKS], default="unet-s")
    p.add_argument("--build", default="build/cpu-only")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--skip-reference", action="store_true", help="the reference takes minutes at 256×256")
    p.add_argument("--torch", action="append", metavar="LABEL=PYTHON",
                   help="a Python with PyTorch (repeatable; default: Debian's 1.13 and PyPI's 2.15)")
    p.add_argument("--torch-modes", type=csv(["eager", "compile"]), default=["eager", "compile"])
    p.add_argument("--precisions", type=csv(["f32", "bf16"]), default=["f32", "bf16"])
    p.add_argument("--layouts", type=csv(["channels_last", "nchw"]), default=["channels_last", "nchw"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="smoke test: batch 2, 32×32, one timed step")
    p.add_argument("--json", help="writes every row of every round")
    a = p.parse_args()
    if a.torch and any("=" not in t for t in a.torch):
        p.error("--torch is LABEL=PYTHON")
    ours = os.path.join(a.build, "bench", "unet_cpu_bench")
    if a.network == "unet-s":
        shapes, network_flags = UNET_S_SHAPES, []
    else:
        model, encoder = ZOO_NETWORKS[a.network]
        shapes, network_flags = ZOO_SHAPES, ["--model", model, "--encoder", encoder]
    if a.quick:
        base = {"base": 16} if a.network == "unet-s" else {}
        shapes = [(mode, dict(QUICK, **base)) for mode in ("train", "infer")]
    found = torches(a)
    for label, python, version, can_compile in found:
        if "compile" in a.torch_modes and not can_compile:
            print(f"cpu_vs_torch: {label} (torch {version[0]}.{version[1]}) has no torch.compile: eager only",
                  file=sys.stderr)
    runs = []  # dict(mode, shape label, key, label: the PyTorch's or "cuseg", cmd: program + flags)
    for mode, s in shapes:
        common = network_flags + ["--mode", mode, "--batch", str(s["batch"]), "--size", str(s["size"]),
                                  "--channels", "3", "--classes", "11", "--threads", str(a.threads),
                                  "--steps", str(s["steps"]), "--warmup", str(s["warmup"])]
        if "base" in s:
            common += ["--base", str(s["base"])]
        # (key, label, program, flags after the common ones: later flags win in both programs)
        configs = [(f"cuseg-fast-{prec}", "cuseg", [ours], ["--backend", "fast", "--precision", prec])
                   for prec in a.precisions]
        if not a.skip_reference and "f32" in a.precisions:
            configs.insert(0, ("cuseg-reference", "cuseg", [ours], ["--backend", "reference", "--steps",
                                                                    str(s["ref_steps"]), "--warmup",
                                                                    str(s["ref_warmup"])]))
        for label, python, _, can_compile in found:
            for torch_mode in [m for m in a.torch_modes if m == "eager" or can_compile]:
                for prec in a.precisions:
                    for layout in a.layouts:
                        configs.append((f"{label}-{torch_mode}-{prec}-{layout}", label,
                                        [python, os.path.join(HERE, "torch_cpu_step.py")],
                                        ["--precision", prec, "--layout", layout] +
                                        (["--compile"] if torch_mode == "compile" else [])))
        runs += [dict(mode=mode, shape=shape_label(s), key=key, label=label, cmd=program + common + extra)
                 for key, label, program, extra in configs]
    every = []
    for round_ in range(a.rounds):
        for run_ in runs:
            r = run(run_["cmd"])
            r.update(mode=run_["mode"], shape=run_["shape"], key=run_["key"], label=run_["label"], round=round_)
            every.append(r)
            print(json.dumps(r), file=sys.stderr)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(every, f, indent=1)
    rows = summarize(every, runs)

    # The PyTorch rows compare with: every 2.x one, or failing that the newest version's.
    versions = sorted({v for _, _, v, _ in found})
    modern = [v for v in versions if v[0] >= 2] or versions[-1:]
    ref_versions = {f"{v[0]}.{v[1]}" for v in modern}
    ref_name = "/".join(sorted(ref_versions))
    vs = f"vs best PyTorch {ref_name} (same precision)" + ("" if modern[0][0] >= 2 else ", no PyTorch 2.x run")
    # Two PyTorches of one version would print the same impl: their labels tell them apart.
    for r in rows:
        twins = [q for q in rows if (q["mode"], q["shape"], q["impl"]) == (r["mode"], r["shape"], r["impl"])]
        r["name"] = r["impl"] if len(twins) == 1 else f"{r['impl']} [{r['label']}]"

    print(f"| mode | network | shape (N×H×W×C) | implementation | threads | median s | spread (max/min) | images/s | "
          f"peak RSS MiB | {vs} | each round's median s |")
    print("|---" * 11 + "|")
    targets = []
    for mode, s in shapes:
        group = [r for r in rows if r["mode"] == mode and r["shape"] == shape_label(s)]
        ref = {}  # precision → the fastest reference PyTorch row
        for r in group:
            if r["impl"].startswith("torch") and r["impl"][5:].split("-")[0] in ref_versions:
                prec = precision(r["impl"])
                if prec not in ref or r["seconds"] < ref[prec]["seconds"]:
                    ref[prec] = r
        for r in group:
            against = ref.get(precision(r["impl"]))
            ratio = f"{r['seconds'] / against['seconds']:.2f}×" if against else "n/a"
            print(f"| {mode} | {a.network} | {r['shape']} | {r['name']} | {r['threads']} | {r['seconds']:.4f} | "
                  f"{r['spread']:.2f} | {r['images_per_s']:.2f} | {r['peak_rss_mib']:.0f} | {ratio} | "
                  f"{', '.join(f'{x:.4f}' for x in r['rounds_seconds'])} |")
        targets.append(target_line(mode, s, group, ref))
    print()
    for line in targets:
        print(line)


def target_line(mode, s, group, ref):
    """Issue 30's targets for one shape: cuseg's fast path against the reference PyTorch."""
    fast = {precision(r["impl"]): r for r in group if r["impl"].startswith("cuseg-fast")}

    def show(value, limit):
        return "n/a" if value is None else f"{value:.2f} (≤ {limit:.2f}{'' if value <= limit else ', MISSED'})"

    def ratio(prec, field):
        return fast[prec][field] / ref[prec][field] if prec in fast and prec in ref else None

    # One round has no spread to speak of.
    spread = max((r["spread"] for r in fast.values() if len(r["rounds_seconds"]) > 1), default=None)
    return (f"targets ({mode}, {shape_label(s)}): f32 cuseg/torch = {show(ratio('f32', 'seconds'), TARGETS['f32'])}, "
            f"bf16 = {show(ratio('bf16', 'seconds'), TARGETS['bf16'])}, "
            f"cuseg spread = {show(spread, TARGETS['spread'])}, "
            f"peak MiB cuseg/torch = {show(ratio('f32', 'peak_rss_mib'), TARGETS['peak'])}")


if __name__ == "__main__":
    main()
