#!/usr/bin/env bash
# Set the machine up, then run every test (unit, real-process integration, real QEMU e2e, cluster mode).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
# Cluster mode's tests (tests/cluster) run a real etcd + kube-apiserver, built from their Go modules
# once per machine into ~/.cache/virtmesh-k8s (minutes cold; nothing when cached).
bash tools/kube.sh build
# The checks first: ruff (pyproject.toml [tool.ruff]), the architecture's rule, a service never
# imports another (pyproject.toml [tool.importlinter]), and mypy over services/ (pyproject.toml
# [tool.mypy]; its cache, .mypy_cache, makes a second run take seconds).
.venv/bin/ruff check --quiet
.venv/bin/lint-imports --no-cache
.venv/bin/mypy
exec .venv/bin/python -m pytest -q -ra "$@"
