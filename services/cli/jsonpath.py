"""kubectl's JSONPath templates (`-o jsonpath=…`, `wait --for=jsonpath=…`, custom columns), over an
object as its JSON: `{.status.phase}`, `{.items[*].metadata.name}`,
`{.spec.template.spec.domain.devices.disks[0].name}`,
filters `{.status.conditions[?(@.type=="Ready")].status}`, `{range .items[*]}{.metadata.name}{"\\n"}{end}`,
and literal text between. Written here because kubectl's template language (range/end, quoted
literals, its filter syntax) is not what the Python JSONPath libraries parse; the subset is what
KubeVirt's documentation and everyday scripts use.
"""
from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(r"\{([^{}]*)\}")
_STEP = re.compile(r"""\.\.?([A-Za-z0-9_\-/]+)|\[(\*|-?\d+|\?\(@\.([A-Za-z0-9_.\-]+)\s*(==|!=)\s*(["']?)(.*?)\5\))\]""")


class JSONPathError(ValueError):
    pass


def _steps(path: str):
    path = path.strip()
    if path in ("", ".", "@", "$"):
        return []
    if path.startswith("$"):
        path = path[1:]
    steps, pos = [], 0
    while pos < len(path):
        m = _STEP.match(path, pos)
        if not m:
            raise JSONPathError(f"unrecognized JSONPath at {path[pos:]!r} in {path!r}")
        steps.append(m)
        pos = m.end()
    return steps


def _get(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def evaluate(path: str, data: Any) -> list[Any]:
    """Every value `path` reaches in `data` (a list: `[*]` and filters fan out)."""
    current = [data]
    for m in _steps(path):
        nxt = []
        field, index, key, op, _, literal = m.groups()
        for value in current:
            if field is not None:
                if m.group(0).startswith(".."):
                    nxt += _descend(value, field)
                elif isinstance(value, dict) and field in value:
                    nxt.append(value[field])
            elif index == "*":
                if isinstance(value, (dict, list)):
                    nxt += list(value.values()) if isinstance(value, dict) else list(value)
            elif key is not None:
                if isinstance(value, list):
                    nxt += [v for v in value if (str(_get(v, key)) == literal) == (op == "==")]
            elif isinstance(value, list):
                i = int(index)
                if -len(value) <= i < len(value):
                    nxt.append(value[i])
        current = nxt
    return current


def _descend(value: Any, field: str) -> list[Any]:
    out = []
    if isinstance(value, dict):
        if field in value:
            out.append(value[field])
        for v in value.values():
            out += _descend(v, field)
    elif isinstance(value, list):
        for v in value:
            out += _descend(v, field)
    return out


def text(value: Any) -> str:
    """A value as kubectl prints it: strings bare, everything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))


def render(template: str, data: Any) -> str:
    """Fill `template` from `data` (kubectl's `-o jsonpath=TEMPLATE`)."""
    parts: list[tuple[str, str | None]] = []   # ("lit", text) | ("path", expr) | ("range", expr) | ("end", None)
    pos = 0
    for m in _TOKEN.finditer(template):
        if m.start() > pos:
            parts.append(("lit", template[pos:m.start()]))
        inner = m.group(1).strip()
        if inner.startswith("range "):
            parts.append(("range", inner[len("range "):]))
        elif inner == "end":
            parts.append(("end", None))
        elif inner[:1] in ("'", '"') and inner[-1:] == inner[:1]:
            parts.append(("lit", json.loads(f'"{inner[1:-1]}"', strict=False) if inner[0] == '"' else inner[1:-1]))
        else:
            parts.append(("path", inner))
        pos = m.end()
    if pos < len(template):
        parts.append(("lit", template[pos:]))
    out, _ = _run(parts, 0, data)
    return out


def _run(parts, i: int, data) -> tuple[str, int]:
    out = []
    while i < len(parts):
        kind, arg = parts[i]
        if kind == "lit":
            out.append(arg)
        elif kind == "path":
            out.append(" ".join(text(v) for v in evaluate(arg, data)))
        elif kind == "range":
            end = _matching_end(parts, i)
            for item in evaluate(arg, data):
                chunk, _ = _run(parts[i + 1:end], 0, item)
                out.append(chunk)
            i = end
        elif kind == "end":
            raise JSONPathError("{end} without {range}")
        i += 1
    return "".join(out), i


def _matching_end(parts, i: int) -> int:
    depth = 0
    for j in range(i + 1, len(parts)):
        if parts[j][0] == "range":
            depth += 1
        elif parts[j][0] == "end":
            if depth == 0:
                return j
            depth -= 1
    raise JSONPathError("{range} without {end}")
