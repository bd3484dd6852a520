"""Registry credentials from a VMI's `imagePullSecret` (containerDisk, kernelBoot container), as the
kubelet reads a pod's imagePullSecrets: a Secret in the VMI's namespace of type
`kubernetes.io/dockerconfigjson` (key `.dockerconfigjson`, `{"auths": {REGISTRY: {"auth": …}}}`) or
`kubernetes.io/dockercfg` (key `.dockercfg`, the `auths` map alone). skopeo reads the same format as its
auth file (`--src-authfile`). A Secret of another type, or without its key, carries no credentials; one
that is not there leaves the pull anonymous, with the kubelet's warning.
"""
from __future__ import annotations

import json

from services.common import proto, volumes

NOT_RETRIEVED = "FailedToRetrieveImagePullSecret"   # the kubelet's event reason


def auth_file(secret) -> bytes | None:
    """skopeo's auth file for `secret` (a core/v1 Secret), or None when it carries no registry credentials."""
    key = volumes.REGISTRY_CREDENTIAL_KEYS.get(secret.type)
    if key is None or key not in secret.data:
        return None
    try:
        doc = json.loads(secret.data[key])
        auths = doc.get("auths") if secret.type == volumes.DOCKER_CONFIG_JSON else doc
    except (ValueError, AttributeError):
        return None
    return json.dumps({"auths": auths}).encode() if isinstance(auths, dict) else None


def not_retrieved(names: str) -> str:
    return f"Unable to retrieve some image pull secrets ({names}); attempting to pull the image may not succeed."


def credentials_from(api):
    """`credentials(vmi, name)` for ImagePulls: the auth file of the VMI's Secret `name`, or None (and
    raises LookupError when there is no such Secret)."""
    async def credentials(vmi, name: str) -> bytes | None:
        secret = await api.get_or_none(proto.SECRET, vmi.metadata.namespace, name)
        if secret is None:
            raise LookupError(name)
        return auth_file(secret)
    return credentials
