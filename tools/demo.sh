#!/usr/bin/env bash
# Set the machine up, run the local mesh, boot examples/vm-demo.yaml and show its console
# until the guest says it is ready. The mesh then keeps running until Ctrl-C
# (DEMO_ONCE=1 stops it right after the guest is up).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh --arch amd64
# The default data dir (/var/lib/virtmesh): the README's commands, typed in another shell, reach this mesh.
vm() { .venv/bin/virtmesh "$@"; }

.venv/bin/virtmesh up &   # not through vm(): $! must be the mesh itself, so the trap can stop it
UP=$!
trap 'kill -TERM $UP 2>/dev/null; wait $UP 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  vm get nodes -o name 2>/dev/null | grep -q node && break
  sleep 0.2
done
vm delete vm demo >/dev/null 2>&1 || true
vm apply -f examples/vm-demo.yaml
for _ in $(seq 300); do
  [ "$(vm get vmi demo -o json 2>/dev/null | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["status"].get("phase",""))' 2>/dev/null)" = Running ] && break
  sleep 0.2
done
vm get vmis
echo "--- console of VMI demo (from its first byte) ---"
vm console demo --no-stdin --stop-after 120 | sed '/VIRTMESH-READY/q'
echo "--- the demo VM is up. In another shell try: virtmesh get vms; virtmesh console demo"
if [ -n "${DEMO_ONCE:-}" ]; then
  exit 0
fi
echo "--- the mesh keeps running; Ctrl-C stops it (and the VM)."
wait $UP
