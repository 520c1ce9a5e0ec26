#!/usr/bin/env bash
# Installs the Debian packages cuseg's build and tests need, when they are missing.
# Runs as root, or through sudo. The CUDA toolkit and cuDNN are not Debian packages here:
# where they are installed the build uses them, where not it builds the CPU engine.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libgtest-dev libbenchmark-dev
  libstb-dev libcli11-dev nlohmann-json3-dev
  python3 python3-torch python3-numpy python3-pil   # PyTorch parity tests
  python3-torchvision                               # segmentation_models_pytorch's ResNet encoders (below)
  clang libclang-rt-dev libomp-dev                  # libFuzzer targets (scripts/fuzz.sh)
  valgrind                                          # the image decoders under memcheck (fuzz_image_valgrind)
  python3-venv                                      # the test oracles' virtual environment (below)
  libdnnl-dev ocl-icd-opencl-dev                    # oneDNN: the fast CPU path's convolutions (its CMake config asks for OpenCL)
  pybind11-dev python3-pytest                       # the cuseg Python module and its tests
  libopenmpi-dev openmpi-bin                        # data-parallel training (mpirun -np N seg_train)
  chromium                                          # headless: renders seg_sweep's report in its test
)

# Outside oracles, for tests only, from PyPI into a virtual environment of the checkout's own
# (.venv, which nothing but the tests uses, and which does not see Debian's packages):
# TensorBoard's event-file reader; onnx's checker and ONNX Runtime for the ONNX export;
# safetensors to exchange tensors with them. Without network the tests that need them say they
# are skipped (and fail in CI, CI=true: tests/oracle.h).
# And NVIDIA's cuobjdump and nvdisasm from PyPI (the Debian-less CUDA toolkits here lack them), which
# read the real CUDA build's sm_90 SASS for scripts/sass_check.py without a GPU.
oracles=(tensorboard==2.21.0 onnx==1.23.2 onnxruntime==1.32.0 safetensors==0.8.0 numpy==2.4.6
         nvidia-cuda-cuobjdump==13.5.37 nvidia-cuda-nvdisasm==13.5.37)
# The model zoo's oracle: segmentation_models_pytorch 0.6.0 and timm, test-only, in a second virtual
# environment (.venv-torch) that sees Debian's python3-torch 1.13 and python3-torchvision 0.14: SMP
# and timm install without their dependencies (they would pull another torch), beside the few they
# import (huggingface-hub with its own, tqdm, safetensors); numpy stays below 2, Debian's torch
# being built against numpy 1.x (Debian's own numpy satisfies the pin). They run offline, with
# encoder_weights=None.
smp_oracles=(segmentation_models_pytorch==0.6.0 timm==1.0.31)
smp_oracle_deps=(huggingface-hub==0.36.0 tqdm safetensors==0.8.0 "numpy<2")
install_oracles() {
  local venv="$root/.venv"
  if ! { [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import tensorboard, onnx, onnxruntime, safetensors" 2>/dev/null &&
         compgen -G "$venv/lib/python3*/site-packages/nvidia/cu*/bin/nvdisasm" >/dev/null &&
         compgen -G "$venv/lib/python3*/site-packages/nvidia/cu*/bin/cuobjdump" >/dev/null; }; then
    echo "deps: test oracles into $venv: ${oracles[*]}"
    /usr/bin/python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check "${oracles[@]}" ||
      echo "deps: could not install ${oracles[*]} from PyPI; the tests that need them will be skipped (failed where CI=true)" >&2
  fi
  local smp="$root/.venv-torch"
  if ! { [ -x "$smp/bin/python" ] && "$smp/bin/python" -c "import torch, segmentation_models_pytorch, timm" 2>/dev/null; }; then
    echo "deps: segmentation_models_pytorch's oracle into $smp: ${smp_oracles[*]} over Debian's torch"
    { /usr/bin/python3 -m venv --system-site-packages "$smp" &&
      "$smp/bin/pip" install -q --disable-pip-version-check "${smp_oracle_deps[@]}" &&
      "$smp/bin/pip" install -q --disable-pip-version-check --no-deps "${smp_oracles[@]}"; } ||
      echo "deps: could not install ${smp_oracles[*]} from PyPI; the model zoo's parity tests will be skipped (failed where CI=true)" >&2
  fi
}
root=$(cd "$(dirname "$0")/.." && pwd)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  install_oracles
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "deps: missing ${missing[*]}, and neither root nor sudo is available to install them" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_oracles
echo "deps: done"
