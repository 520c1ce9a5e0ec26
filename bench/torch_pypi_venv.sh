#!/usr/bin/env bash
# Makes .venv-torch-pypi: the newest PyTorch from PyPI (with its CUDA packages, which it imports
# even on a CPU-only machine: about 5.4 GB) and SMP 0.6.0 + timm for the model zoo's rows, so that
# bench/cpu_vs_torch.py can compare cuseg with what a user installing PyTorch today gets, beside
# Debian's 1.13. Only the benchmark uses it: scripts/deps.sh and CI do not.
#
#   bench/torch_pypi_venv.sh [VERSION]     (default 2.15.0; prints the venv's python)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="${1:-2.15.0}"
venv="$root/.venv-torch-pypi"
if ! { [ -x "$venv/bin/python" ] &&
       "$venv/bin/python" -c "import torch, segmentation_models_pytorch, sys; sys.exit(torch.__version__.split('+')[0] != '$version')" 2>/dev/null; }; then
  echo "torch_pypi_venv: PyTorch $version from PyPI into $venv" >&2
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "torch==$version" "numpy" "pillow" >&2
  # SMP's own pins would pull another torch: its pure-Python dependencies by name, SMP without them.
  "$venv/bin/pip" install -q --disable-pip-version-check timm huggingface_hub safetensors tqdm >&2
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps segmentation_models_pytorch==0.6.0 >&2
fi
echo "$venv/bin/python"
