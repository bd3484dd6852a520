"""libvirt domain XML for the launcher.

- `model`: one class per XML element we emit; no policy (Nova's config.py rule).
- `archs`: the one table of per-architecture facts (amd64, arm64).
- `convert`: VirtualMachineInstance -> model.Domain; every decision lives here.
"""
