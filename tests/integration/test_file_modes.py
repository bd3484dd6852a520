"""Issue 13: what the mesh keeps on disk is root's only, whatever umask it was started with, and a
VM's directory (logs, domain XML, NVRAM, scratch disks) goes when its VMI is gone."""
import contextlib
import os
import shutil
import stat

from harness import Mesh, short_tmpdir, vm_manifest



@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def wider_than_root(root: str) -> list[str]:
    """Paths under `root` (itself included) that anyone but their owner may read, write or enter."""
    bad = []
    for d, dirs, files in os.walk(root):
        for p in [d] + [os.path.join(d, f) for f in files]:
            if p == os.path.join(root, "up.log"):  # the test harness's own file, not the mesh's
                continue
            st = os.lstat(p)
            if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
                bad.append(f"{oct(stat.S_IMODE(st.st_mode))} {os.path.relpath(p, root)}")
    return bad


def test_a_mesh_started_with_umask_000_keeps_its_data_dir_root_only():
    d = short_tmpdir("vmmode-")
    os.chmod(d, 0o755)  # as an earlier, careless run might have left it
    with umask(0):
        m = Mesh(d, "test:///default")
    try:
        m.cli("apply", "-f", "-", input=vm_manifest("modes"))
        m.wait_for(lambda: m.vm_status("modes") == "Running", 30, "VM Running")
        uid = m.get("vmi", "modes")["metadata"]["uid"]
        run = os.path.join(d, "run")
        socks = sorted(f for f in os.listdir(run) if f.endswith(".sock"))
        # every socket the mesh listens on: api, controller, handler, zygote, the launcher
        assert {"api.sock", "handler-node01.sock", "zygote-node01.sock", f"l-{uid}.sock"} <= set(socks), socks
        for s in socks:
            assert stat.S_IMODE(os.stat(os.path.join(run, s)).st_mode) == 0o600, s
        vm_dir = os.path.join(d, "vms", uid)
        assert os.path.exists(os.path.join(vm_dir, "launcher.log"))
        assert os.path.exists(os.path.join(d, "logs", "handler.log"))
        assert os.path.exists(os.path.join(run, f"l-{uid}.pid"))
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
        assert wider_than_root(d) == []
    finally:
        m.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_a_vms_directory_goes_with_its_vmi_and_the_sweep_takes_leftovers(mesh):
    d = mesh.data_dir
    vms = os.path.join(d, "vms")
    # Left by a VMI deleted while no handler ran (no launcher, no VMI): the orphan sweep takes it.
    # Another node's directory (handlers may share a data dir), claim images and TPM records stay.
    leftover = os.path.join(vms, "0b1e6c2e-0000-4000-8000-000000000001")
    other = os.path.join(vms, "0b1e6c2e-0000-4000-8000-000000000002")
    for p in (leftover, other):
        os.makedirs(os.path.join(p, "empty-disks"))
        open(os.path.join(p, "empty-disks", "scratch.img"), "w").write("x")
    open(os.path.join(other, "node"), "w").write("node02")
    for p in ("volumes", "tpm"):
        os.makedirs(os.path.join(d, p), exist_ok=True)
        open(os.path.join(d, p, "keep"), "w").write("x")

    mesh.cli("apply", "-f", "-", input=vm_manifest("gone"))
    mesh.wait_for(lambda: mesh.vm_status("gone") == "Running", 30, "VM Running")
    uid = mesh.get("vmi", "gone")["metadata"]["uid"]
    vm_dir = os.path.join(vms, uid)
    assert os.path.exists(os.path.join(vm_dir, "launcher.log"))
    mesh.cli("delete", "vm", "gone")
    mesh.wait_for(lambda: mesh.get("vmi", "gone") is None, 20, "VMI deleted")
    mesh.wait_for(lambda: not mesh.launcher_pids(), 15, "launcher gone")
    mesh.wait_for(lambda: not os.path.exists(vm_dir), 10, "the VMI's directory removed")
    mesh.wait_for(lambda: not os.path.exists(leftover), 15, "the sweep removed the leftover directory")
    assert os.path.exists(os.path.join(other, "empty-disks", "scratch.img"))
    assert os.path.exists(os.path.join(d, "volumes", "keep")) and os.path.exists(os.path.join(d, "tpm", "keep"))
