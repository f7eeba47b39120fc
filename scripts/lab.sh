#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the lab demo on the built-in default topology.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/pykeepalivedctl lab "$@"
