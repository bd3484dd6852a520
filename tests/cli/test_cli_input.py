"""Issue 13: whatever a manifest holds, `virtmesh apply` prints one `error: <field>: <reason>` line,
never a traceback."""
import asyncio

import pytest

from services.cli import main as cli
from services.common import manifest

VM = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {{name: {name}}}\n" \
     "spec: {{template: {{spec: {{domain: {{memory: {{guest: 64Mi}}}}}}}}}}\n"


def apply(tmp_path, capsys, text, *api):
    f = tmp_path / "m.yaml"
    f.write_text(text)
    rc = cli.main([*api, "--data-dir", str(tmp_path), "apply", "-f", str(f)])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return f, err


def test_kind_that_is_not_a_string(tmp_path, capsys):
    f, err = apply(tmp_path, capsys, "apiVersion: kubevirt.io/v1\nkind: [VirtualMachine]\nmetadata: {name: a}\n")
    assert err == f"error: error validating {f}: kind: expected string, got array"
    f, err = apply(tmp_path, capsys, "apiVersion: {v: 1}\nkind: VirtualMachine\nmetadata: {name: a}\n")
    assert err.endswith("apiVersion: expected string, got object")


@pytest.mark.parametrize("depth", [manifest.MAX_DEPTH + 1, 3000])
def test_deeply_nested_documents(tmp_path, capsys, depth):
    _, err = apply(tmp_path, capsys, "a: " + "[" * depth + "]" * depth + "\n")
    assert err.startswith("error: ") and err.endswith(f"nested deeper than {manifest.MAX_DEPTH} levels")
    doc = '{"kind": "VirtualMachine", "spec": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    _, err = apply(tmp_path, capsys, doc)
    assert err.endswith(f"nested deeper than {manifest.MAX_DEPTH} levels")


def test_nesting_up_to_the_limit_is_parsed():
    depth = manifest.MAX_DEPTH - 1
    [doc] = manifest.load_documents("a: " + "[" * depth + "]" * depth)
    assert isinstance(doc["a"], list)


async def test_a_20kb_name_gives_the_validation_error_not_stream_removed(api_server, tmp_path, capsys):
    _, err = await asyncio.to_thread(apply, tmp_path, capsys, VM.format(name="a" * 20_000), "--api", api_server.target)
    assert err == "Error from server (Invalid): metadata.name: Too long: may not be more than 253 bytes"
