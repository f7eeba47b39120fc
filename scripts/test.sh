#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run every check: lint, types, the unit, netns and interop tests
# on this machine, then the vm tier (IPVS) inside a throwaway QEMU VM booted from Debian's kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy
.venv/bin/python -m pytest -m "unit or netns or interop" -p no:cacheprovider "$@"
bash tests/vm/run_vm.sh
