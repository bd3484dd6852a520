#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for cluster mode, its tests and demos:
# etcd + kube-apiserver built from their Go modules (the module proxy; nothing committed), run with
# generated certificates, and a kubeconfig for an admin (group system:masters).
#
#   tools/kube.sh build    build (or reuse) the pinned binaries in the version-keyed cache
#   tools/kube.sh start    build if needed, start etcd + kube-apiserver (reuses a running plane)
#   tools/kube.sh stop     stop them (the cache stays)
#   tools/kube.sh env      print `export KUBECONFIG=…` (and the built kubectl's PATH): eval "$(tools/kube.sh env)"
#   tools/kube.sh status   exit 0 when the apiserver answers /readyz
#
# Settings (environment): VIRTMESH_KUBE_DIR (state: certs, etcd data, logs, kubeconfig; default
# /var/lib/virtmesh-kube), VIRTMESH_KUBE_CACHE (binaries; default ~/.cache/virtmesh-k8s),
# VIRTMESH_KUBE_PORT (apiserver's secure port, default 6443), VIRTMESH_ETCD_PORT (default 2379).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

K8S_VERSION=v1.36.3          # k8s.io/kubernetes; its staging modules are v0.<minor>.<patch>
ETCD_VERSION=v3.6.16         # go.etcd.io/etcd/server/v3 (k8s 1.36 tests against 3.6)
STAGING_VERSION=v0.${K8S_VERSION#v1.}

# Go keeps its caches under $HOME: a bare CI environment may not set it.
export HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
KUBE_DIR=${VIRTMESH_KUBE_DIR:-/var/lib/virtmesh-kube}
CACHE_ROOT=${VIRTMESH_KUBE_CACHE:-$HOME/.cache/virtmesh-k8s}
BIN=$CACHE_ROOT/k8s-$K8S_VERSION-etcd-$ETCD_VERSION/bin
APISERVER_PORT=${VIRTMESH_KUBE_PORT:-6443}
ETCD_PORT=${VIRTMESH_ETCD_PORT:-2379}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}

log() { echo "kube.sh: $*" >&2; }

# --- build -------------------------------------------------------------------------------------

# k8s.io/kubernetes requires its staging modules at the placeholder v0.0.0, which only its own
# go.mod replaces; a consumer must replace every one (the list differs per release, so it is read
# from the release's go.mod, never written down here).
write_k8s_module() {
  local dir=$1 gomod
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
    "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  {
    echo "module virtmesh.local/k8sbin"
    echo
    echo "go 1.26.0"
    echo
    echo "godebug default=go1.26"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    grep -oE '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" | awk -v v="$STAGING_VERSION" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } > "$dir/go.mod"
  cat > "$dir/tools.go" <<'EOF'
//go:build tools

// Keeps the commands' packages in the module graph for `go mod tidy`.
package k8sbin

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
}

write_etcd_module() {
  local dir=$1
  cat > "$dir/go.mod" <<EOF
module virtmesh.local/etcdbin

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
  cat > "$dir/tools.go" <<'EOF'
//go:build tools

package etcdbin

import _ "go.etcd.io/etcd/server/v3"
EOF
}

k8s_ldflags() { # /version reports the release, not v0.0.0-master
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local vpkg ldflags=""
  for vpkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $vpkg.gitVersion=$K8S_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor"
    ldflags+=" -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$ldflags"
}

find_go() {
  if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
    PATH=/usr/local/go/bin:$PATH   # a non-login shell (CI) may not have Go's own directory on PATH
  fi
  command -v go >/dev/null || { log "Go 1.26 is needed to build the control plane"; exit 1; }
}

# The scheduler binds virt-launcher pods (cluster mode's launcher pods); built from the same module,
# into the same version-keyed bin, on its own so an existing cache only adds it.
build_scheduler() {
  [ -x "$BIN/kube-scheduler" ] && return 0
  find_go
  local work=$CACHE_ROOT/src-$K8S_VERSION-$ETCD_VERSION start=$SECONDS
  mkdir -p "$work/k8s"
  log "building kube-scheduler $K8S_VERSION into $BIN (once per machine)"
  write_k8s_module "$work/k8s"
  (cd "$work/k8s" && go mod tidy &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $(k8s_ldflags)" -o "$BIN/kube-scheduler.partial" \
      k8s.io/kubernetes/cmd/kube-scheduler)
  mv "$BIN/kube-scheduler.partial" "$BIN/kube-scheduler"
  log "kube-scheduler built in $((SECONDS - start)) s"
}

build() {
  if [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/etcd" ] && [ -x "$BIN/kubectl" ]; then
    build_scheduler
    return 0
  fi
  if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then
    PATH=/usr/local/go/bin:$PATH   # a non-login shell (CI) may not have Go's own directory on PATH
  fi
  command -v go >/dev/null || { log "Go 1.26 is needed to build the control plane"; exit 1; }
  local work=$CACHE_ROOT/src-$K8S_VERSION-$ETCD_VERSION start=$SECONDS
  mkdir -p "$work/k8s" "$work/etcd" "$BIN.partial"
  log "building kube-apiserver, kubectl $K8S_VERSION and etcd $ETCD_VERSION into $BIN (once per machine)"
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local vpkg ldflags=""
  for vpkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $vpkg.gitVersion=$K8S_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor"
    ldflags+=" -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"
  done
  if [ ! -x "$BIN.partial/etcd" ]; then
    write_etcd_module "$work/etcd"
    (cd "$work/etcd" && go mod tidy && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
      -o "$BIN.partial/etcd" go.etcd.io/etcd/server/v3)
  fi
  if [ ! -x "$BIN.partial/kube-apiserver" ] || [ ! -x "$BIN.partial/kubectl" ]; then
    write_k8s_module "$work/k8s"
    (cd "$work/k8s" && go mod tidy &&
      CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$BIN.partial/" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
  fi
  rm -rf "$BIN" && mv "$BIN.partial" "$BIN"
  log "built in $((SECONDS - start)) s"
  build_scheduler
}

# --- run ---------------------------------------------------------------------------------------

ready() { # /readyz answers 200 to the admin (Python's ssl: no curl needed on the machine)
  [ -f "$KUBE_DIR/pki/ca.crt" ] || return 1
  "$PYTHON" - "$KUBE_DIR/pki" "$APISERVER_PORT" <<'EOF' >/dev/null 2>&1
import http.client, ssl, sys
pki, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.create_default_context(cafile=f"{pki}/ca.crt")
ctx.load_cert_chain(f"{pki}/admin.crt", f"{pki}/admin.key")
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=2)
conn.request("GET", "/readyz")
sys.exit(0 if conn.getresponse().status == 200 else 1)
EOF
}

running() { # pidfile
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

start() {
  build
  if ready; then
    log "control plane already running ($KUBE_DIR/kubeconfig)"
    return 0
  fi
  stop_processes
  mkdir -p "$KUBE_DIR"
  chmod 0700 "$KUBE_DIR"
  "$PYTHON" tools/kube_pki.py "$KUBE_DIR" "$APISERVER_PORT"
  local etcd_data=/dev/shm/virtmesh-kube-etcd-$ETCD_PORT
  [ -d /dev/shm ] || etcd_data=$KUBE_DIR/etcd
  mkdir -p "$etcd_data" && chmod 0700 "$etcd_data"
  setsid "$BIN/etcd" --data-dir="$etcd_data" --name=virtmesh \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls=http://127.0.0.1:0 --initial-advertise-peer-urls=http://127.0.0.1:2380 \
    --initial-cluster=virtmesh=http://127.0.0.1:2380 \
    --unsafe-no-fsync --log-level=warn </dev/null >"$KUBE_DIR/etcd.log" 2>&1 &
  echo $! > "$KUBE_DIR/etcd.pid"
  local pki=$KUBE_DIR/pki
  setsid "$BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --service-account-issuer="https://127.0.0.1:$APISERVER_PORT/" \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true \
    --authorization-mode=RBAC --disable-admission-plugins=ServiceAccount \
    --endpoint-reconciler-type=none \
    --requestheader-client-ca-file="$pki/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$pki/front-proxy-client.crt" --proxy-client-key-file="$pki/front-proxy-client.key" \
    --admission-control-config-file="$KUBE_DIR/admission.yaml" \
    --audit-policy-file="$KUBE_DIR/audit-policy.yaml" --audit-log-path="$KUBE_DIR/audit.log" \
    --audit-log-maxsize=200 --audit-log-maxbackup=1 \
    </dev/null >"$KUBE_DIR/apiserver.log" 2>&1 &
  echo $! > "$KUBE_DIR/apiserver.pid"
  local deadline=$((SECONDS + 90))
  until ready; do
    if ! running "$KUBE_DIR/apiserver.pid" || ! running "$KUBE_DIR/etcd.pid"; then
      log "the control plane exited; last lines of its logs:"
      tail -n 20 "$KUBE_DIR/etcd.log" "$KUBE_DIR/apiserver.log" >&2
      exit 1
    fi
    if [ $SECONDS -gt $deadline ]; then
      log "kube-apiserver not ready after 90 s; see $KUBE_DIR/apiserver.log"
      exit 1
    fi
    sleep 0.5
  done
  log "control plane ready: export KUBECONFIG=$KUBE_DIR/kubeconfig"
}

stop_processes() {
  local name
  for name in apiserver etcd; do
    if running "$KUBE_DIR/$name.pid"; then
      kill "$(cat "$KUBE_DIR/$name.pid")" 2>/dev/null || true
      for _ in $(seq 50); do running "$KUBE_DIR/$name.pid" || break; sleep 0.1; done
      kill -9 "$(cat "$KUBE_DIR/$name.pid")" 2>/dev/null || true
    fi
    rm -f "$KUBE_DIR/$name.pid"
  done
}

stop() {
  stop_processes
  rm -rf "/dev/shm/virtmesh-kube-etcd-$ETCD_PORT" "$KUBE_DIR/etcd"
}

case ${1:-} in
  build) build ;;
  start) start ;;
  stop) stop ;;
  env) echo "export KUBECONFIG=$KUBE_DIR/kubeconfig"
       echo "export PATH=$BIN:\$PATH  # kubectl $K8S_VERSION, matching the apiserver" ;;
  status) ready ;;
  bin) echo "$BIN" ;;
  *) echo "usage: tools/kube.sh build|start|stop|env|status|bin" >&2; exit 2 ;;
esac
