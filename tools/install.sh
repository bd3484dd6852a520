#!/usr/bin/env bash
# What a machine (or the container image, see Dockerfile) needs to run Virtmesh's services: host
# packages (libvirt, QEMU, swtpm, iproute2 …; tools/host.sh install) and the Python venv with
# libvirt-python built against libvirt-dev. No daemons are started and no guests built: that is
# tools/setup.sh's, which runs this first — so CI (.ci/run -> tools/test.sh -> tools/setup.sh) runs
# every step the image is built with.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/host.sh install
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[libvirt${VIRTMESH_EXTRAS-,dev}]"
# `virtmesh` on PATH, as the README types it.
if [ -w /usr/local/bin ]; then
  ln -sfn "$PWD/.venv/bin/virtmesh" /usr/local/bin/virtmesh
fi
