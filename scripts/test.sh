#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run every check: lint, types, and the unit, netns and interop tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy
.venv/bin/python -m pytest -m "unit or netns or interop" -p no:cacheprovider "$@"
