#!/usr/bin/env python3
"""What the compiler made of cuseg's CUDA kernels, read from the sm_90 SASS without a GPU.

  scripts/sass_check.py build/test/cuseg/libcuseg.so   check every kernel against RULES
  scripts/sass_check.py --self-test build/test         check the check, on tests/sass/fixtures.cu
                                                       (with that build's cuseg/config.h)

For every kernel of the library: registers, stack frame and shared memory (cuobjdump -res-usage),
and its tensor-core (HMMA) and local-memory (STL/LDL) instructions (cuobjdump -sass, which runs
nvdisasm). A kernel fails when
  - it uses local memory (a spill, or an array indexed at run time) beyond what its rule allows:
    none, unless the rule says why;
  - it needs more registers or shared memory a block than the occupancy its rule is designed for
    leaves (threads a block × blocks an SM, on an H100's 64 K registers and 228 KiB of shared
    memory an SM);
  - its rule says tensor cores and it has no HMMA, or says none and it has some;
  - its rule names instructions it must contain (128-bit loads and stores, cp.async's LDGSTS)
    and one is missing.
Every rule must match at least one kernel, so that a renamed kernel cannot leave its rule behind.
cuobjdump and nvdisasm: PATH, else the ones PyPI's nvidia-cuda-cuobjdump and nvidia-cuda-nvdisasm
put into the checkout's .venv (scripts/deps.sh). Without them it says SKIPPED and checks nothing,
except where CI=true, where that is a failure (as the tests' other outside oracles).
"""
import argparse
import dataclasses
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# An H100 (sm_90) streaming multiprocessor.
REGS_PER_SM = 65536
SHARED_PER_SM = 233472        # 228 KiB
SHARED_RESERVED_PER_BLOCK = 1024
MAX_REGS_PER_THREAD = 255


@dataclasses.dataclass
class Rule:
    pattern: str              # a regular expression searched in the demangled kernel name
    why: str                  # the design the limits come from
    threads: int = 0          # threads a block and blocks an SM it is designed for (0: no limit)
    blocks_per_sm: int = 1
    tensor_cores: bool | None = None  # True: HMMA required; False: none allowed; None: either
    stack_bytes: int = 0      # local memory allowed (0: no spill, no local array)
    requires: tuple = ()      # regular expressions each of which some instruction must match

    def max_regs(self):
        if not self.threads:
            return MAX_REGS_PER_THREAD
        # Registers are allocated to warps in units of 256 (8 a thread).
        return min(MAX_REGS_PER_THREAD, REGS_PER_SM // (self.threads * self.blocks_per_sm) // 8 * 8)

    def max_shared(self):
        if not self.threads:
            return SHARED_PER_SM - SHARED_RESERVED_PER_BLOCK
        return SHARED_PER_SM // self.blocks_per_sm - SHARED_RESERVED_PER_BLOCK


# The first rule whose pattern matches a kernel is its rule; DEFAULT for the others.
RULES = [
    Rule(r"implicit_gemm_kernel<cuseg::cuda::Conv(Forward|BackwardData|BackwardFilter)>",
         "the convolutions' FP32 SIMT implicit GEMM (implicit_gemm.cuh): 256 threads, at least 2 "
         "blocks an SM to hide the next K-step's loads; no tensor cores yet",
         threads=256, blocks_per_sm=2, tensor_cores=False),
    Rule(r"implicit_gemm_tc_kernel<cuseg::cuda::Conv(Forward|BackwardData|BackwardFilter), "
         r"\(cuseg::Precision\)[12]>",
         "the convolutions' implicit GEMM on the tensor cores (implicit_gemm_tc.cuh), tf32 and bf16: "
         "256 threads, at least 2 blocks an SM",
         threads=256, blocks_per_sm=2, tensor_cores=True),
    Rule(r"split_k_reduce_kernel<cuseg::cuda::Conv",
         "split-K's deterministic sum of the partial tiles", threads=256, blocks_per_sm=4,
         tensor_cores=False),
    Rule(r"map_quads_kernel<",
         "elementwise kernels four floats at a time (map.cuh): 128-bit loads and stores",
         tensor_cores=False, requires=(r"LDG\.E\.128", r"STG\.E\.128")),
    Rule(r"map_kernel<cuseg::cuda::\(anonymous namespace\)::(DropoutForwardOp|GroupDropoutMaskOp)>",
         "dropout: the block of 4 Philox outputs is indexed by the element's position in it, at "
         "run time (32 bytes)", stack_bytes=32),
]
DEFAULT = Rule(r"", "every other kernel: no local memory, no tensor cores", tensor_cores=False)


@dataclasses.dataclass
class Kernel:
    name: str
    regs: int = 0
    stack: int = 0
    shared: int = 0
    local: int = 0
    hmma: int = 0
    local_ops: int = 0  # STL/LDL instructions
    opcodes: set = dataclasses.field(default_factory=set)  # every instruction, with its modifiers


def tool(name):
    found = shutil.which(name)
    if found:
        return found
    for path in sorted(glob.glob(os.path.join(ROOT, ".venv", "lib", "python3*", "site-packages", "nvidia",
                                              "cu*", "bin", name))):
        if os.access(path, os.X_OK):
            return path
    why = (f"no {name}: neither on PATH nor in {ROOT}/.venv (scripts/deps.sh installs PyPI's "
           f"nvidia-cuda-cuobjdump and nvidia-cuda-nvdisasm there)")
    if os.environ.get("CI") == "true":  # as tests/oracle.h: in CI a missing oracle fails
        sys.exit(f"sass_check: {why}")
    print(f"sass_check: SKIPPED, nothing checked: {why}")
    sys.exit(0)


def run(cmd, env=None):
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"sass_check: {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def demangle(names):
    if not names:
        return {}
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True,
                         check=True).stdout.splitlines()
    return dict(zip(names, out))


def kernels(binary):
    """Every sm_90 kernel of `binary` (a shared library, executable or cubin), by demangled name."""
    cuobjdump = tool("cuobjdump")
    # cuobjdump -sass runs nvdisasm, which it looks for on PATH.
    env = dict(os.environ, PATH=os.path.dirname(tool("nvdisasm")) + os.pathsep + os.environ.get("PATH", ""))
    found = {}
    usage = run([cuobjdump, "-arch", "sm_90", "-res-usage", binary], env)
    for name, fields in re.findall(r"Function ([^\s:]+):\s*\n\s*(REG:.*)", usage):
        k = found.setdefault(name, Kernel(name))
        values = dict(re.findall(r"(\w+):(\d+)", fields))
        k.regs, k.stack = int(values["REG"]), int(values["STACK"])
        k.shared, k.local = int(values["SHARED"]), int(values["LOCAL"])
    sass = run([cuobjdump, "-arch", "sm_90", "-sass", binary], env)
    current = None
    for line in sass.splitlines():
        m = re.match(r"\s*Function : (\S+)", line)
        if m:
            current = found.setdefault(m.group(1), Kernel(m.group(1)))
        elif current is not None:
            if re.search(r"\bHMMA\b", line):
                current.hmma += 1
            if re.search(r"\b(STL|LDL)\b", line):
                current.local_ops += 1
            op = re.match(r"\s*/\*[0-9a-f]+\*/\s*(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)", line)
            if op:
                current.opcodes.add(op.group(1))
    if not found:
        sys.exit(f"sass_check: no sm_90 kernel in {binary} (built for another architecture?)")
    names = demangle(list(found))
    return {names[n]: dataclasses.replace(k, name=names[n]) for n, k in found.items()}


def check(found, rules):
    """Returns (the rows of the kernels under a rule, the failures)."""
    failures, rows = [], []
    for rule in rules:
        if not any(re.search(rule.pattern, name) for name in found):
            failures.append(f"rule {rule.pattern!r} matches no kernel (renamed? then rename the rule)")
    for name, k in sorted(found.items()):
        rule = next((r for r in rules if re.search(r.pattern, name)), DEFAULT)
        bad = []
        local_bytes = max(k.stack, k.local)
        if local_bytes > rule.stack_bytes or (rule.stack_bytes == 0 and k.local_ops):
            bad.append(f"local memory: {local_bytes} bytes, {k.local_ops} STL/LDL (allowed "
                       f"{rule.stack_bytes}: a spill, or an array indexed at run time)")
        if k.regs > rule.max_regs():
            bad.append(f"{k.regs} registers > {rule.max_regs()} ({rule.threads} threads × "
                       f"{rule.blocks_per_sm} blocks an SM)")
        if k.shared > rule.max_shared():
            bad.append(f"{k.shared} B of shared memory > {rule.max_shared()}")
        if rule.tensor_cores is True and k.hmma == 0:
            bad.append("no HMMA: the tensor cores are not used")
        if rule.tensor_cores is False and k.hmma:
            bad.append(f"{k.hmma} HMMA where none is expected")
        for needed in rule.requires:
            if not any(re.fullmatch(needed + r"(\..*)?", op) for op in k.opcodes):
                bad.append(f"no {needed} instruction")
        if rule is not DEFAULT:
            rows.append((k, rule))
        failures += [f"{name}: {b}" for b in bad]
    return rows, failures


def report(rows):
    print("| kernel | registers (limit) | shared B (limit) | stack B (allowed) | HMMA | STL/LDL |")
    print("|---|---|---|---|---|---|")
    for k, rule in rows:
        print(f"| {k.name} | {k.regs} ({rule.max_regs()}) | {k.shared} ({rule.max_shared()}) | "
              f"{k.stack} ({rule.stack_bytes}) | {k.hmma} | {k.local_ops} |")


def self_test(build):
    """The check must fail exactly where the fixtures were made to fail."""
    nvcc = shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
    with tempfile.TemporaryDirectory() as tmp:
        cubin = os.path.join(tmp, "fixtures.cubin")
        run([nvcc, "-cubin", "-arch=sm_90", "-std=c++20", "-I", ROOT, "-I", os.path.join(build, "include"),
             "-o", cubin, os.path.join(ROOT, "tests", "sass", "fixtures.cu")])
        found = kernels(cubin)
    rules = [
        Rule(r"fixture_spills", "planted: a spill", tensor_cores=False),
        Rule(r"fixture_local_array", "a local array, allowed", stack_bytes=512, tensor_cores=False),
        Rule(r"fixture_mma_(tf32|bf16)", "cuseg's mma wrappers: tensor cores, required", tensor_cores=True),
        Rule(r"fixture_plain", "planted: tensor cores required, absent; and a budget of 8 registers; "
             "and 128-bit loads, absent", threads=1024, blocks_per_sm=8, tensor_cores=True,
             requires=(r"LDG\.E\.128",)),
        Rule(r"fixture_cp_async", "cuseg's cp.async wrappers: LDGSTS and its barrier", tensor_cores=False,
             requires=(r"LDGSTS", r"LDGDEPBAR", r"DEPBAR")),
        Rule(r"fixture_float4", "cuseg's float4 accessors: 128-bit loads and stores", tensor_cores=False,
             requires=(r"LDG\.E\.128", r"STG\.E\.128")),
    ]
    _, failures = check(found, rules)
    expected = [r"fixture_spills.*local memory: \d+ bytes", r"fixture_plain.*no HMMA",
                r"fixture_plain.*\d+ registers > 8 ", r"fixture_plain.*no LDG\\.E\\.128 instruction"]
    missed = [e for e in expected if not any(re.search(e, f) for f in failures)]
    extra = [f for f in failures if not any(re.search(e, f) for e in expected)]
    for f in failures:
        print(f"  found, as planted: {f}")
    if missed or extra:
        for e in missed:
            print(f"sass_check --self-test: the planted fault {e!r} was not reported", file=sys.stderr)
        for f in extra:
            print(f"sass_check --self-test: reported where nothing was planted: {f}", file=sys.stderr)
        return 1
    print(f"sass_check --self-test: the {len(expected)} planted faults reported, nothing else")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("binary", nargs="?", help="libcuseg.so of a real CUDA build for sm_90")
    p.add_argument("--self-test", metavar="BUILD", help="check the check on tests/sass/fixtures.cu, "
                   "compiled with BUILD's cuseg/config.h (a real CUDA build's folder)")
    a = p.parse_args()
    if a.self_test:
        return self_test(a.self_test)
    if not a.binary:
        p.error("give the library, or --self-test")
    found = kernels(a.binary)
    rows, failures = check(found, RULES)
    report(rows)
    print(f"\n{len(found)} sm_90 kernels; {len(found) - len(rows)} under the default rule "
          f"({DEFAULT.why})")
    for f in failures:
        print(f"sass_check: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
