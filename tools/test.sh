#!/usr/bin/env bash
# Set the machine up, then run every test (unit, real-process integration, real QEMU e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec .venv/bin/python -m pytest -q -ra "$@"
