"""Whether KVM really works for ordinary guests here (the launcher picks the domain type with it,
the handler's node-labeller reports it)."""
from __future__ import annotations

import os
import re

# Compiled at import: a launcher forked from the zygote decides its domain type with it on its VM's start path.
_VIRT_FLAGS = re.compile(r"\b(vmx|svm)\b")


def kvm_usable() -> bool:
    """KVM only when /dev/kvm opens AND the host CPU advertises vmx/svm: a nested PVM /dev/kvm
    (as on our CI machines) hangs stock guest kernels, and libvirt's capabilities still list kvm."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return False
    return bool(_VIRT_FLAGS.search(flags))
