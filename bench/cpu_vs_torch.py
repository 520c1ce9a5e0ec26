"""cuseg against PyTorch on the CPU, side by side in one run, each configuration in its own process
(so each peak resident memory is its own): unet-s training steps at base 16 on 16×64×64×3 and at
base 32 on 4×256×256×3 (11 classes, Adam), and inference at base 32 on 1×512×512×3. cuseg runs
its reference, its fast path in f32 and in bf16 (bench/unet/cpu_step.cpp); PyTorch (Debian's,
/usr/bin/python3) runs f32 and bf16 autocast, channels_last and NCHW (bench/torch_cpu_step.py).
Prints a Markdown table; --json writes every row.

    /usr/bin/python3 bench/cpu_vs_torch.py --build build/cpu-only --threads 2 [--skip-reference]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

SHAPES = [
    ("train", dict(base=16, batch=16, size=64, steps=10)),
    ("train", dict(base=32, batch=4, size=256, steps=5)),
    ("infer", dict(base=32, batch=1, size=512, steps=5)),
]


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build/cpu-only")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--skip-reference", action="store_true", help="the reference takes minutes at 256×256")
    p.add_argument("--json")
    a = p.parse_args()
    ours = os.path.join(a.build, "bench", "unet_cpu_bench")
    rows = []
    for mode, s in SHAPES:
        common = ["--mode", mode, "--base", str(s["base"]), "--batch", str(s["batch"]), "--size", str(s["size"]),
                  "--channels", "3", "--classes", "11", "--threads", str(a.threads), "--steps", str(s["steps"])]
        # (name, program, flags after the common ones: later flags win in both programs)
        torch = ["/usr/bin/python3", os.path.join(HERE, "torch_cpu_step.py")]
        configs = [("cuseg-fast-f32", [ours], ["--backend", "fast", "--precision", "f32"]),
                   ("cuseg-fast-bf16", [ours], ["--backend", "fast", "--precision", "bf16"])]
        if not a.skip_reference:
            configs.insert(0, ("cuseg-reference", [ours], ["--backend", "reference", "--steps", "2", "--warmup", "1"]))
        for prec in ("f32", "bf16"):
            for layout in ("channels_last", "nchw"):
                configs.append((f"torch-{prec}-{layout}", torch, ["--precision", prec, "--layout", layout]))
        for name, program, extra in configs:
            r = run(program + common + extra)
            r["impl"] = name
            rows.append(r)
            print(json.dumps(r), file=sys.stderr)
    print(f"| mode | shape (base, N×H×W×3) | implementation | threads | median s | images/s | peak RSS MiB | vs best PyTorch f32 |")
    print("|---|---|---|---|---|---|---|---|")
    for mode, s in SHAPES:
        group = [r for r in rows if r["mode"] == mode and r["base"] == s["base"] and r["size"] == s["size"]]
        torch_f32 = min(r["seconds"] for r in group if r["impl"].startswith("torch-f32"))
        for r in group:
            print(f"| {mode} | {s['base']}, {s['batch']}×{s['size']}×{s['size']}×3 | {r['impl']} | {r['threads']} | "
                  f"{r['seconds']:.4f} | {r['images_per_s']:.2f} | {r['peak_rss_mib']:.0f} | "
                  f"{r['seconds'] / torch_f32:.2f}× |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
