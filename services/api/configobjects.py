"""core/v1 Secrets and ConfigMaps in the api: what the kube-apiserver does to one written standalone.

- defaulting: a Secret's `stringData` is merged into `data` (its keys win) and not stored; `type`
  defaults to Opaque;
- validation (ValidateSecret / ValidateConfigMap): every key a valid config key, no key in both a
  ConfigMap's `data` and `binaryData`, at most 1 MiB of data; a registry-credentials Secret has its key, JSON;
- updates: an `immutable` object keeps its data and stays immutable; a Secret keeps its type.
"""
from __future__ import annotations

import json
import re

from services.api.errors import Causes
from services.common import proto, volumes

OPAQUE = "Opaque"
MAX_SIZE = 1024 * 1024          # bytes of data (corev1.MaxSecretSize, also a ConfigMap's limit)
KEY_MAX = 253
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_KEY_TEXT = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
             "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
IMMUTABLE = "field is immutable when `immutable` is set"


def default(kind: proto.api.Kind, res) -> None:
    if kind == proto.SECRET:
        for k, v in res.stringData.items():
            res.data[k] = v.encode()
        res.ClearField("stringData")
        if not res.type:
            res.type = OPAQUE


def _key(key: str, path: str, causes: Causes) -> None:
    if len(key) > KEY_MAX:
        causes.add(path, f'Invalid value: "{key[:64]}…": must be no more than {KEY_MAX} characters')
    elif not _KEY.match(key) or key in (".", "..") or key.startswith(".."):
        causes.add(path, f'Invalid value: "{key}": {_KEY_TEXT}')


def validate(kind: proto.api.Kind, res) -> None:
    causes = Causes()
    size = 0
    if kind == proto.SECRET:
        for k, v in res.data.items():
            _key(k, f"data[{k}]", causes)
            size += len(v)
    else:
        for k, v in res.data.items():
            _key(k, f"data[{k}]", causes)
            size += len(v.encode())
        for k, b in res.binaryData.items():
            _key(k, f"binaryData[{k}]", causes)
            if k in res.data:
                causes.add(f"data[{k}]", f'Invalid value: "{k}": duplicate of key present in binaryData')
            size += len(b)
    if size > MAX_SIZE:
        causes.add("data", f"Too long: may not be more than {MAX_SIZE} bytes")
    if kind == proto.SECRET and res.type in volumes.REGISTRY_CREDENTIAL_KEYS:   # its key required, as JSON
        key = volumes.REGISTRY_CREDENTIAL_KEYS[res.type]
        if key not in res.data:
            causes.add(f"data[{key}]", "Required value")
        else:
            try:
                json.loads(res.data[key])
            except ValueError as e:
                causes.add(f"data[{key}]", f'Invalid value: "<secret contents redacted>": {e}')
    causes.check()


def update(kind: proto.api.Kind, old, new) -> None:
    """What an update may not change (after defaulting)."""
    causes = Causes()
    if kind == proto.SECRET and new.type != old.type:
        causes.add("type", f'Invalid value: "{new.type}": field is immutable')
    if old.HasField("immutable") and old.immutable:
        if not (new.HasField("immutable") and new.immutable):
            causes.add("immutable", f"Forbidden: {IMMUTABLE}")
        if new.data != old.data:
            causes.add("data", f"Forbidden: {IMMUTABLE}")
        if kind == proto.CONFIG_MAP and new.binaryData != old.binaryData:
            causes.add("binaryData", f"Forbidden: {IMMUTABLE}")
    causes.check()
