#!/usr/bin/env bash
# Set this machine up for Virtmesh (idempotent; run as root on Debian 12):
# host packages and libvirt daemons, the Python venv (libvirt-python builds against libvirt-dev),
# and the test guests built from Debian packages. Extra args go to tools/build_guest.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh          # packages and the venv: the container image's steps too (Dockerfile)
bash tools/host.sh start
python3 tools/build_guest.py "$@"
