"""One launcher per VMI uid, enforced by the kernel: the launcher holds a POSIX write lock on its
pid file (DATA_DIR/run/l-<uid>.pid) for as long as it lives, and writes its own pid into it.

A second launcher for the same uid cannot take the lock and exits; a handler (a restarted one
too) finds every live launcher by asking the kernel who holds each pid file's lock (F_GETLK: it
tests without taking the lock, so probing never makes a starting launcher fail). A launcher
killed with -9 releases its lock with its last file descriptor: a stale pid file has no holder.
"""
from __future__ import annotations

import fcntl
import glob
import os
import struct

# /proc/PID/comm of a launcher, and of a spare one (the zygote's, forked ahead of its VMI: it serves none yet).
COMM, SPARE_COMM = "launcher", "launcher-spare"
# The zygote forks the next spare after this long without a request (the handler looks for it from then on),
# or after what the request asked for, within SPARE_AFTER_LONGEST (a migration target's: handler/migration.py).
SPARE_AFTER_IDLE = 0.2
SPARE_AFTER_LONGEST = 10.0
# struct flock on Linux (x86_64, arm64): short l_type, l_whence; off_t l_start, l_len; pid_t l_pid.
_FLOCK = "hhqqi4x"


def claim(path: str) -> int | None:
    """Take `path`'s lock for this process and write our pid into it: the open fd (keep it open,
    never open the file again in this process: closing any fd of it drops a POSIX lock), or None
    when another live process holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # unlinked (a stale file swept) between our open and our lock: take the new one
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        return fd


def holder(path: str) -> int:
    """The pid of the live process holding `path`'s lock; 0 when none (or no such file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return 0
    try:
        got = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
    except OSError:
        return 0
    finally:
        os.close(fd)
    l_type, _, _, _, pid = struct.unpack(_FLOCK, got)
    return pid if l_type != fcntl.F_UNLCK else 0


def held(run_dir: str) -> dict[str, int]:
    """uid -> pid of every live launcher with a pid file in `run_dir`."""
    out = {}
    for path in glob.glob(os.path.join(run_dir, "l-*.pid")):
        pid = holder(path)
        if pid:
            out[os.path.basename(path)[2:-4]] = pid
    return out


def comm(pid: int) -> str:
    """Process `pid`'s name (/proc/PID/comm), "" when it is gone."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def pid_alive(pid: int) -> bool:
    """True for a live process; a zombie counts as dead (and is reaped when it is ours)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True
