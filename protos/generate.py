"""Regenerate the committed protobuf/gRPC stubs under services/_proto/.

The only generator: grpc_tools.protoc with -Iprotos, then rewrite the generated absolute
imports (`from kubevirt.v1 import ...`) to live under `services._proto`. Usage:
    python protos/generate.py [OUT_DIR]   (default: services/_proto)
tests/contract/test_protos_fresh.py runs it into a temp dir and diffs the result.
"""
from __future__ import annotations

import pathlib
import re
import sys

from grpc_tools import protoc
import grpc_tools

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
PACKAGE = "services._proto"
_IMPORT = re.compile(r"^(from|import) (kubevirt|virtmesh)\.", re.MULTILINE)


def generate(out: pathlib.Path) -> list[pathlib.Path]:
    out.mkdir(parents=True, exist_ok=True)
    sources = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    rc = protoc.main(["protoc", f"-I{PROTOS}", f"-I{include}", f"--python_out={out}",
                      f"--pyi_out={out}", f"--grpc_python_out={out}", *sources])
    if rc != 0:
        raise SystemExit(f"protoc failed with {rc}")
    written = []
    for path in sorted(out.rglob("*.py*")):
        if path.suffix not in (".py", ".pyi"):
            continue
        text = path.read_text()
        fixed = _IMPORT.sub(lambda m: f"{m.group(1)} {PACKAGE}.{m.group(2)}.", text)
        if fixed != text:
            path.write_text(fixed)
        written.append(path)
    # Packages for every generated directory (namespace-free, so setuptools finds them).
    for d in [out, *sorted(p for p in out.rglob("*") if p.is_dir())]:
        init = d / "__init__.py"
        if not init.exists():
            init.write_text("")
    return written


if __name__ == "__main__":
    target = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "services" / "_proto"
    for p in generate(target):
        print(p.relative_to(target))
