"""The CLI's own behaviour: aliases, one-line errors, exit codes (no mesh needed)."""
import pytest

from services.cli import main as cli
from services.common import proto


@pytest.mark.parametrize("word, kind", [
    ("vm", proto.VM), ("vms", proto.VM), ("VirtualMachine", proto.VM), ("virtualmachines", proto.VM),
    ("vmi", proto.VMI), ("vmis", proto.VMI), ("virtualmachineinstance", proto.VMI),
    ("virtualmachineinstances.kubevirt.io", proto.VMI), ("node", proto.NODE), ("no", proto.NODE),
])
def test_resource_aliases(word, kind):
    assert cli._kind(word) == kind


def test_unreachable_api_is_one_readable_line(tmp_path, capsys):
    rc = cli.main(["--data-dir", str(tmp_path), "get", "vms"])
    err = capsys.readouterr().err.strip()
    assert rc == 1
    assert err == f"error: cannot reach the virtmesh api at unix://{tmp_path}/run/api.sock (is `virtmesh up` running?)"


def test_bad_manifest_file_is_rejected_before_any_call(tmp_path, capsys):
    f = tmp_path / "vm.yaml"
    f.write_text("apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: a}\nspec: {runStrategy: 3}\n")
    rc = cli.main(["--data-dir", str(tmp_path), "apply", "-f", str(f)])
    assert rc == 1
    assert capsys.readouterr().err.strip() == f"error: error validating {f}: spec.runStrategy: expected string, got integer"


def test_missing_file(tmp_path, capsys):
    rc = cli.main(["--data-dir", str(tmp_path), "apply", "-f", str(tmp_path / "nope.yaml")])
    assert rc == 1 and "cannot read" in capsys.readouterr().err


def test_up_passes_the_host_path_settings_to_every_service(tmp_path, monkeypatch):
    from services.cli import up
    from services.common import hostpaths
    for name in (hostpaths.ENV_HOST_PATHS, hostpaths.ENV_FEATURE_GATES, hostpaths.ENV_IMPORT_ALLOW_INTERNAL):
        monkeypatch.delenv(name, raising=False)
    args = cli.parser().parse_args(["--data-dir", str(tmp_path), "up", "--allowed-host-path", "/srv/images",
                                    "--allowed-host-path", "/srv/disks", "--feature-gates", "HostDisk",
                                    "--import-allow-internal"])
    env = up.Supervisor(args).env
    assert env[hostpaths.ENV_HOST_PATHS] == "/srv/images:/srv/disks"
    assert env[hostpaths.ENV_FEATURE_GATES] == "HostDisk" and env[hostpaths.ENV_IMPORT_ALLOW_INTERNAL] == "1"
    plain = up.Supervisor(cli.parser().parse_args(["--data-dir", str(tmp_path), "up"])).env
    assert not {hostpaths.ENV_HOST_PATHS, hostpaths.ENV_FEATURE_GATES, hostpaths.ENV_IMPORT_ALLOW_INTERNAL} & set(plain)


def test_up_passes_the_pod_network_settings_to_the_handler_and_refuses_bad_ones_itself(tmp_path, capsys):
    from services.cli import up
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 192.0.2.53\n")
    args = cli.parser().parse_args(["--data-dir", str(tmp_path), "up", "--pod-cidr", "10.244.9.0/24",
                                    "--resolv-conf", str(resolv), "--cluster-dns", "10.96.0.10",
                                    "--cluster-domain", "example.local"])
    handler = up.Supervisor(args).specs["handler"]
    for flag, value in (("--pod-cidr", "10.244.9.0/24"), ("--resolv-conf", str(resolv)),
                        ("--cluster-dns", "10.96.0.10"), ("--cluster-domain", "example.local")):
        assert handler[handler.index(flag) + 1] == value
    # refused before anything starts (a handler refusing its flags would be restarted forever)
    for bad, why in ((["--cluster-dns", "nope"], "argument --cluster-dns: 'nope' is not an IPv4 address"),
                     (["--pod-cidr", "10.0.0.0/33"], "argument --pod-cidr: '10.0.0.0/33'"),
                     (["--resolv-conf", str(tmp_path / "absent")], "argument --resolv-conf:"),
                     (["--log-level", "verbose"], "argument --log-level: 'verbose' is not one of DEBUG, INFO")):
        with pytest.raises(SystemExit):
            cli.parser().parse_args(["--data-dir", str(tmp_path), "up", *bad])
        assert why in capsys.readouterr().err
