#!/usr/bin/env bash
# Set this machine up for Virtmesh (idempotent; run as root on Debian 12):
# host packages and libvirt daemons, the Python venv (libvirt-python builds against libvirt-dev),
# and the test guests built from Debian packages. Extra args go to tools/build_guest.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/host.sh install
bash tools/host.sh start
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[libvirt,dev]'
python3 tools/build_guest.py "$@"
