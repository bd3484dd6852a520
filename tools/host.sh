#!/usr/bin/env bash
# Host setup for real libvirt + QEMU guests on Debian 12 without systemd (run as root).
#
#   tools/host.sh install   apt packages, the libvirt-qemu user, qemu.conf user/group = root
#   tools/host.sh start     virtlogd + libvirtd as plain daemons; waits until qemu:///system answers
#   tools/host.sh stop      stops both by the pids in their pid files
#   tools/host.sh status    exit 0 iff `virsh -c qemu:///system version` answers
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

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 install|start|stop|status" >&2
    exit 2
    ;;
esac
