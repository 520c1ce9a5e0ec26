#!/usr/bin/env bash
# The mutation check (scripts/mutants.py): planted bugs the tests must catch; --fast is CI's subset.
#   scripts/mutants.sh [--fast] [--only NAME] [BUILD]      BUILD: a configured build (build/cpu-only)
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 scripts/mutants.py "$@"
