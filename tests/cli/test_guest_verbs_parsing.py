"""virtctl's argument rules for port-forward/ssh/scp (ParseTarget, parsePort), `logs --tail`, and the
flags as the parser takes them (the verbs against a real guest: tests/e2e/test_guest_access.py)."""
from __future__ import annotations

import io

import pytest

from services.cli import logs, main, portforward
from services.cli.kubectl import CLIError


@pytest.mark.parametrize("target, want", [
    ("vmi/web", ("vmi", "", "web")),
    ("vm/web/prod", ("vm", "prod", "web")),
    ("virtualmachineinstances/web/prod", ("vmi", "prod", "web")),
    ("VMs/web", ("vm", "", "web")),
    ("vmi/web.prod", ("vmi", "prod", "web")),          # the legacy NAME.NAMESPACE
])
def test_targets(target, want):
    assert portforward.parse_target(target) == want


@pytest.mark.parametrize("target, error", [
    ("", "target cannot be empty"),
    ("web", "target must contain type and name separated by '/'"),
    ("vmi/web/", "namespace cannot be empty"),
    ("vmi/a/b/c", "target is not valid with more than two '/'"),
    ("pod/web", "unsupported resource type 'pod'"),
    ("vmi/", "name cannot be empty"),
])
def test_bad_targets(target, error):
    with pytest.raises(CLIError, match=error):
        portforward.parse_target(target)


def test_ports():
    assert portforward.parse_port("8080") == ("tcp", 8080, 8080)
    assert portforward.parse_port("8080:80") == ("tcp", 8080, 80)
    assert portforward.parse_port("tcp/0:22") == ("tcp", 0, 22)
    for bad, error in (("udp/53", "only tcp"), (":", "missing local and/or remote port"),
                       ("x:80", "ports are numbers"), ("70000", "1-65535"), ("80:0", "1-65535")):
        with pytest.raises(CLIError, match=error):
            portforward.parse_port(bad)


def test_ssh_targets():
    assert portforward._ssh_target("alice@vmi/web/prod", "bob") == ("alice", "vmi", "prod", "web")
    assert portforward._ssh_target("vm/web", "bob") == ("bob", "vm", "", "web")
    with pytest.raises(CLIError, match="expected username before '@'"):
        portforward._ssh_target("@vmi/web", "bob")
    with pytest.raises(CLIError, match="expected target after '@'"):
        portforward._ssh_target("alice@", "bob")


def test_stdio_flag_is_go_style():
    p = main.parser()
    assert p.parse_args(["port-forward", "--stdio", "vmi/a", "22"]).stdio is True
    assert p.parse_args(["port-forward", "--stdio=true", "vmi/a", "22"]).stdio is True
    assert p.parse_args(["port-forward", "--stdio=false", "vmi/a", "22"]).stdio is False
    assert p.parse_args(["port-forward", "vmi/a", "22", "80:8080"]).ports == ["22", "80:8080"]


def test_ssh_proxy_command_reaches_the_same_mesh():
    args = main.parser().parse_args(["--data-dir", "/srv/mesh", "ssh", "root@vmi/web/prod", "-i", "/k",
                                     "-t", "-o StrictHostKeyChecking=no", "-p", "2222"])
    opts = portforward._client_options(args, "vmi", "prod", "web")
    proxy = opts[opts.index("-o") + 1]
    assert proxy.startswith("ProxyCommand=") and "--data-dir /srv/mesh" in proxy
    assert proxy.endswith("port-forward --stdio=true vmi/web/prod 2222")
    assert opts[-4:] == ["-o", "StrictHostKeyChecking=no", "-i", "/k"]


@pytest.mark.parametrize("text", [b"", b"one\n", b"one\ntwo\nthree\n", b"one\ntwo\nno newline",
                                  b"x\n" * 70000])
@pytest.mark.parametrize("n", [-1, 0, 1, 2, 3, 5, 40000])
def test_tail_offset(text, n):
    f = io.BytesIO(text)
    got = text[logs.tail_offset(f, n):]
    lines = text.splitlines(keepends=True)
    want = b"".join(lines if n < 0 else lines[max(0, len(lines) - n):] if n else [])
    assert got == want


def test_logs_names_what_it_reads(tmp_path):
    args = main.parser().parse_args(["--data-dir", str(tmp_path), "logs", "handler"])
    assert logs.log_path(args, None) == str(tmp_path / "logs" / "handler.log")
    with pytest.raises(CLIError, match="is not vmi, api, controller or handler"):
        logs.log_path(main.parser().parse_args(["--data-dir", str(tmp_path), "logs", "etcd"]), None)
    with pytest.raises(CLIError, match="takes no name"):
        logs.log_path(main.parser().parse_args(["--data-dir", str(tmp_path), "logs", "api", "x"]), None)
