#!/usr/bin/env bash
# Host setup for real libvirt + QEMU guests on Debian 12 without systemd (run as root).
#
#   tools/host.sh install   apt packages, the libvirt-qemu user, qemu.conf user/group = root
#   tools/host.sh start     virtlogd + libvirtd as plain daemons; waits until qemu:///system answers
#   tools/host.sh stop      stops both by the pids in their pid files
#   tools/host.sh status    exit 0 iff `virsh -c qemu:///system version` answers
#
# Extra libvirt nodes on this machine (live migration between them; ../shared notes' design 2):
#   tools/host.sh node start NAME ADDR   a libvirtd + virtlogd of its own in private mount, network and
#                                        UTS namespaces, listening on TCP (no auth) in its own network
#                                        namespace only, ADDR (IPv4) its address there (`link` puts it on
#                                        the veths) and QEMU's migration host; prints its libvirt URI
#   tools/host.sh node link NAME1 NAME2  a veth pair between two nodes' namespaces, each end with its
#                                        node's address (/32) and a route to the other's
#   tools/host.sh node uri NAME          the node's libvirt URI for clients on this machine (a unix socket)
#   tools/host.sh node exec NAME CMD...  CMD inside the node's namespaces
#   tools/host.sh node stop NAME         destroys its guests, stops its daemons; its namespaces go
#   tools/host.sh node status NAME       exit 0 iff the node's libvirtd answers
# Nodes live under $VIRTMESH_NODES (default /var/lib/virtmesh-nodes)/NAME: what a node's daemons and
# guests write (libvirt's state, logs, caches) stays there; the host's own daemons are never touched.
#
# Everything is idempotent. Debian 12 ships no virtqemud, so the monolithic libvirtd is used.
# Env: VIRTMESH_HOST_RUN (pid files, default /run/virtmesh-host),
#      VIRTMESH_HOST_LOG (daemon logs, default /var/log/virtmesh-host),
#      VIRTMESH_HOST_START_TIMEOUT (seconds to wait for libvirtd, default 60).
set -euo pipefail

RUN_DIR="${VIRTMESH_HOST_RUN:-/run/virtmesh-host}"
LOG_DIR="${VIRTMESH_HOST_LOG:-/var/log/virtmesh-host}"
START_TIMEOUT="${VIRTMESH_HOST_START_TIMEOUT:-60}"
URI="qemu:///system"
QEMU_CONF=/etc/libvirt/qemu.conf

# libvirt-daemon(-driver-qemu) rather than libvirt-daemon-system: the latter pulls in systemd.
PACKAGES=(
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
  qemu-system-x86 qemu-system-arm qemu-utils ovmf qemu-efi-aarch64 swtpm swtpm-tools
  libvirt-dev pkg-config busybox-static cpio iproute2
  syslinux mtools dosfstools libxml2-utils prometheus
  dnsmasq-base   # DHCP for bridge-bound pod interfaces (handler/podnet.py)
  skopeo docker-registry   # containerDisk images from registries (handler/images.py); a registry for its tests
  apache2-utils   # htpasswd: the test registry's credentials (imagePullSecret, handler/pullsecrets.py)
  openssh-client vncsnapshot   # virtmesh ssh/scp run the system's ssh; the VNC e2e test takes a screenshot
  genisoimage   # cloud-init data sources and ConfigMap/Secret disks: their ISO images (launcher/isoimage.py)
  xorriso       # its osirrox reads such images back in tests; bench/isoimage.py times xorrisofs beside genisoimage
)

log() { echo "host.sh: $*" >&2; }

missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

# Set `key = value` in qemu.conf: rewrite the active lines for key if any differs, else append.
# The file is left untouched when it already says so.
set_qemu_conf() {
  local key="$1" value="$2" active
  active="$(grep -E "^[[:space:]]*${key}[[:space:]]*=" "$QEMU_CONF" || true)"
  if [ -n "$active" ] && ! grep -Evq "^[[:space:]]*${key}[[:space:]]*=[[:space:]]*${value}[[:space:]]*$" <<<"$active"; then
    return 0
  fi
  if [ -n "$active" ]; then
    sed -i -E "s|^[[:space:]]*${key}[[:space:]]*=.*$|${key} = ${value}|" "$QEMU_CONF"
  else
    printf '%s = %s\n' "$key" "$value" >>"$QEMU_CONF"
  fi
}

cmd_install() {
  local missing
  missing="$(missing_packages)"
  if [ -n "$missing" ]; then
    log "installing: $(echo $missing)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" </dev/null
  fi
  # Without libvirt-daemon-system nobody creates this user, and libvirtd refuses to start
  # ("Failed to parse user 'libvirt-qemu'") even though qemu.conf says root.
  if ! getent passwd libvirt-qemu >/dev/null; then
    getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
    useradd --system --no-create-home --home-dir /var/lib/libvirt \
      --shell /usr/sbin/nologin -g libvirt-qemu libvirt-qemu
  fi
  # QEMU runs as root: image/log files anywhere on the host are then usable without chown games.
  mkdir -p /etc/libvirt
  [ -f "$QEMU_CONF" ] || printf '# written by virtmesh tools/host.sh\n' >"$QEMU_CONF"
  set_qemu_conf user '"root"'
  set_qemu_conf group '"root"'
  # Directories libvirtd/QEMU write to. No storage pool is defined: guests use plain file paths.
  mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/lib/libvirt/images
}

# True if the pid file names a live process whose executable name is $2.
pid_alive() {
  local file="$1" name="$2" pid
  [ -s "$file" ] || return 1
  pid="$(cat "$file" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]
}

libvirt_answers() {
  timeout 10 virsh -c "$URI" version >/dev/null 2>&1
}

# Start a libvirt daemon unless one already runs (ours by pid file, or anyone's by name).
start_daemon() {
  local name="$1" pidfile="$RUN_DIR/$1.pid"
  if pid_alive "$pidfile" "$name"; then
    return 0
  fi
  if pgrep -x "$name" >/dev/null 2>&1; then
    log "$name already runs (not started by host.sh); leaving it alone"
    return 0
  fi
  rm -f "$pidfile"
  # stdio detached: callers capturing our output (subprocess pipes, $(...)) must not wait on the daemon;
  # and the lock's fd closed (9>&-): a daemon inheriting it would hold the lock for its whole life,
  # so the next `host.sh start` (tools/test.sh after tools/demo.sh) would wait forever.
  LIBVIRT_LOG_OUTPUTS="3:file:$LOG_DIR/$name.log" \
    "$name" --daemon --pid-file "$pidfile" </dev/null >>"$LOG_DIR/$name.out" 2>&1 9>&-
}

# Serialise start/stop: concurrent callers (parallel test setup) must not race to spawn daemons.
lock_run_dir() {
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  exec 9>"$RUN_DIR/start.lock"
  flock 9
}

cmd_start() {
  lock_run_dir
  if ! getent passwd libvirt-qemu >/dev/null || [ ! -f "$QEMU_CONF" ]; then
    log "host not set up; run: $0 install"
    return 1
  fi
  # virtlogd first: libvirtd hands it QEMU's stdout/serial logs. Never restart a running virtlogd,
  # running guests' serial logs would end for good.
  start_daemon virtlogd
  if ! libvirt_answers; then
    start_daemon libvirtd
  fi
  local deadline=$((SECONDS + START_TIMEOUT))
  # The first start on a fresh machine takes ~12 s: libvirtd probes every QEMU binary.
  until libvirt_answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "libvirtd did not answer within ${START_TIMEOUT}s; see $LOG_DIR/libvirtd.log"
      return 1
    fi
    if [ -f "$RUN_DIR/libvirtd.pid" ] && ! pid_alive "$RUN_DIR/libvirtd.pid" libvirtd \
      && ! pgrep -x libvirtd >/dev/null 2>&1; then
      log "libvirtd exited; see $LOG_DIR/libvirtd.log and $LOG_DIR/libvirtd.out"
      return 1
    fi
    sleep 0.2
  done
}

stop_daemon() {
  local name="$1" pidfile="$RUN_DIR/$1.pid" pid i
  if ! pid_alive "$pidfile" "$name"; then
    rm -f "$pidfile"
    return 0
  fi
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do # up to 10 s, then force
    [ -e "/proc/$pid" ] || break
    sleep 0.1
  done
  if [ -e "/proc/$pid" ]; then
    log "$name ($pid) ignored SIGTERM; killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

cmd_stop() {
  lock_run_dir
  stop_daemon libvirtd
  stop_daemon virtlogd
}

cmd_status() {
  if libvirt_answers; then
    echo "libvirt answers on $URI"
  else
    echo "libvirt does not answer on $URI"
    return 1
  fi
}

# ---------------------------------------------------------------------------- nodes
#
# A node is a holder process (`sleep infinity`) that owns private mount, network and UTS namespaces;
# inside them libvirt's fixed paths (/run/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt,
# /etc/libvirt, swtpm's) are bind mounts of the node's own directories, so its daemons share no state
# with the host's (a privileged libvirtd has no setting for those paths). Everything else (/usr, /dev,
# the mesh's data dirs, guest images) is the machine's. Each node's libvirtd has its own host UUID
# (libvirt refuses a migration to "the same host" otherwise) and no cgroup controllers (QEMU's cgroup
# is named by a domain id that restarts at 1 on every daemon). Its daemons run as vm<NAME>-libvirtd /
# vm<NAME>-virtlogd (symlinks), so nothing that looks for the host's libvirtd by name mistakes them.

NODES_DIR="${VIRTMESH_NODES:-/var/lib/virtmesh-nodes}"

node_base() { echo "$NODES_DIR/$1"; }

node_check_name() {
  [[ "${1:-}" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,9}$ ]] || { log "node name: 1-10 of [A-Za-z0-9_-] expected, got '${1:-}'"; return 2; }
}

node_holder() { # the live holder's pid, or nothing
  local f="$(node_base "$1")/holder.pid" pid
  [ -s "$f" ] || return 1
  pid="$(cat "$f")"
  [ -e "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ] || return 1
  echo "$pid"
}

node_uri() { echo "qemu+unix:///system?socket=$(node_base "$1")/run/libvirt/libvirt-sock"; }

node_answers() { timeout 10 virsh -c "$(node_uri "$1")" version >/dev/null 2>&1; }

node_in() { # node_in NAME CMD...: CMD in the node's namespaces
  local pid
  pid="$(node_holder "$1")" || { log "node $1 is not running"; return 1; }
  shift
  nsenter -t "$pid" -m -n -u -- "$@"
}

node_start() {
  local name="$1" addr="$2" base pid
  node_check_name "$name"
  [[ "$addr" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || { log "node address: an IPv4 address expected, got '$addr'"; return 2; }
  base="$(node_base "$name")"
  mkdir -p "$base"
  exec 9>"$base/lock"
  flock 9
  if node_holder "$name" >/dev/null && node_answers "$name"; then
    node_uri "$name"
    return 0
  fi
  node_kill "$name"
  mkdir -p "$base"/{run/libvirt,lib/libvirt,cache/libvirt,log/libvirt,log-swtpm,swtpm-localca,host-run,bin}
  mkdir -p /var/log/swtpm /var/lib/swtpm-localca /var/cache/libvirt
  echo "$addr" >"$base/address"
  # The host's configuration, plus what makes it a node of its own.
  rm -rf "$base/etc"
  mkdir -p "$base/etc"
  cp -a /etc/libvirt "$base/etc/libvirt"
  cat >>"$base/etc/libvirt/qemu.conf" <<EOF
# virtmesh node $name (tools/host.sh node)
cgroup_controllers = [ ]
migration_host = "$addr"
migration_address = "0.0.0.0"
EOF
  cat >"$base/etc/libvirt/libvirtd.conf" <<EOF
# virtmesh node $name (tools/host.sh node): TCP without auth, reachable only inside its network namespace
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
listen_tls = 0
listen_tcp = 1
auth_tcp = "none"
listen_addr = "0.0.0.0"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
  # QEMU's capabilities as the host's libvirtd probed them: a cold probe takes ~12 s.
  if [ -d /var/cache/libvirt/qemu ] && [ ! -d "$base/cache/libvirt/qemu" ]; then
    cp -a /var/cache/libvirt/qemu "$base/cache/libvirt/qemu"
  fi
  ln -sf /usr/sbin/libvirtd "$base/bin/vm$name-libvirtd"
  ln -sf /usr/sbin/virtlogd "$base/bin/vm$name-virtlogd"
  # The holder: its own session, stdio detached, the lock not inherited (callers capture our output).
  setsid unshare --mount --net --uts --propagation private sleep infinity </dev/null >/dev/null 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$base/holder.pid"
  local i
  for i in $(seq 50); do # unshare has entered the namespaces once sleep runs
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ] && break
    sleep 0.02
  done
  nsenter -t "$pid" -m -n -u -- sh -euc '
    hostname "$1"; ip link set lo up
    mount --bind /run/libvirt "$2/host-run" 2>/dev/null || true
    mount --bind "$2/run/libvirt" /run/libvirt
    mount --bind "$2/lib/libvirt" /var/lib/libvirt
    mount --bind "$2/cache/libvirt" /var/cache/libvirt
    mount --bind "$2/log/libvirt" /var/log/libvirt
    mount --bind "$2/etc/libvirt" /etc/libvirt
    mount --bind "$2/log-swtpm" /var/log/swtpm
    mount --bind "$2/swtpm-localca" /var/lib/swtpm-localca
  ' sh "$name" "$base"
  node_in "$name" "$base/bin/vm$name-virtlogd" --daemon --pid-file "$base/virtlogd.pid" </dev/null >>"$base/daemons.out" 2>&1 9>&-
  # Found through PATH, as the host's is: libvirtd counts the ctime of a binary it was started by path
  # into its own, which then outdates the copied capabilities (a 10-12 s probe of every QEMU).
  node_in "$name" env PATH="$base/bin:$PATH" "vm$name-libvirtd" --daemon --listen --pid-file "$base/libvirtd.pid" \
    </dev/null >>"$base/daemons.out" 2>&1 9>&-
  local deadline=$((SECONDS + START_TIMEOUT))
  until node_answers "$name"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "node $name: libvirtd did not answer within ${START_TIMEOUT}s; see $base/log/libvirt/libvirtd.log"
      return 1
    fi
    sleep 0.1
  done
  node_uri "$name"
}

node_link() {
  local a="$1" b="$2" pa pb addr_a addr_b
  node_check_name "$a"; node_check_name "$b"
  pa="$(node_holder "$a")" || { log "node $a is not running"; return 1; }
  pb="$(node_holder "$b")" || { log "node $b is not running"; return 1; }
  addr_a="$(cat "$(node_base "$a")/address")"
  addr_b="$(cat "$(node_base "$b")/address")"
  # Interface names: the peer's name, so one node can be linked to several.
  if nsenter -t "$pa" -n ip link show "v-$b" >/dev/null 2>&1; then
    return 0
  fi
  nsenter -t "$pa" -n ip link add "v-$b" type veth peer name "v-$a" netns "$pb"
  nsenter -t "$pa" -n sh -euc 'ip addr add "$1/32" dev "$3"; ip link set "$3" up; ip route add "$2/32" dev "$3"' \
    sh "$addr_a" "$addr_b" "v-$b"
  nsenter -t "$pb" -n sh -euc 'ip addr add "$1/32" dev "$3"; ip link set "$3" up; ip route add "$2/32" dev "$3"' \
    sh "$addr_b" "$addr_a" "v-$a"
}

node_stop_daemon() { # node_stop_daemon PIDFILE
  local pid i
  [ -s "$1" ] || return 0
  pid="$(cat "$1")"
  if [ -e "/proc/$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do
      [ -e "/proc/$pid" ] || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

node_kill() { # whatever is left of a node: guests, daemons, holder (its namespaces and veths go with it)
  local name="$1" base d
  base="$(node_base "$name")"
  if node_holder "$name" >/dev/null && node_answers "$name"; then
    for d in $(virsh -c "$(node_uri "$name")" list --name 2>/dev/null); do
      virsh -c "$(node_uri "$name")" destroy "$d" >/dev/null 2>&1 || true
    done
  fi
  node_stop_daemon "$base/libvirtd.pid"
  node_stop_daemon "$base/virtlogd.pid"
  if pid="$(node_holder "$name")"; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$base/holder.pid"
}

cmd_node() {
  local verb="${1:-}"
  shift || true
  case "$verb" in
    start) [ $# -eq 2 ] || { echo "usage: $0 node start NAME ADDR" >&2; return 2; }; node_start "$@" ;;
    link) [ $# -eq 2 ] || { echo "usage: $0 node link NAME1 NAME2" >&2; return 2; }; node_link "$@" ;;
    uri) node_check_name "${1:-}"; node_uri "$1" ;;
    exec) node_check_name "${1:-}"; node_in "$@" ;;
    status) node_check_name "${1:-}"; node_holder "$1" >/dev/null && node_answers "$1" ;;
    stop)
      node_check_name "${1:-}"
      mkdir -p "$(node_base "$1")"
      exec 9>"$(node_base "$1")/lock"
      flock 9
      node_kill "$1"
      ;;
    *) echo "usage: $0 node start|link|uri|exec|status|stop ..." >&2; return 2 ;;
  esac
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  node) shift; cmd_node "$@" ;;
  *)
    echo "usage: $0 install|start|stop|status|node ..." >&2
    exit 2
    ;;
esac
