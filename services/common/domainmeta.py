"""KubeVirt's element in a libvirt domain's <metadata> (`<kubevirt xmlns="http://kubevirt.io"><uid>`), both
ways: the launcher's domain model writes it, the launcher's libvirt wrapper and the handler's launcher-pod
watch read it back (virDomainGetMetadata returns just this element). Here, not in the launcher's model,
because the handler reads it too and a service never imports another."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Optional

from services.common.domain import METADATA_NS

TAG = "kubevirt"


@dataclass
class KubevirtMetadata:
    uid: str = ""

    def to_element(self) -> ET.Element:
        """The <kubevirt> element. A literal default-namespace declaration keeps the text as KubeVirt
        writes it (<kubevirt xmlns="http://kubevirt.io">) instead of ElementTree's ns0: prefixes."""
        kv = ET.Element(TAG, {"xmlns": METADATA_NS})
        ET.SubElement(kv, "uid").text = self.uid
        return kv

    @classmethod
    def from_element(cls, e: Optional[ET.Element]) -> Optional["KubevirtMetadata"]:
        """From a <kubevirt> element, namespaced as libvirt returns it or not; None when `e` is None."""
        if e is None:
            return None
        uid = e.find(f"{{{METADATA_NS}}}uid")
        if uid is None:
            uid = e.find("uid")
        return cls(uid=(uid.text or "") if uid is not None else "")

    @classmethod
    def from_xml(cls, text: str) -> "KubevirtMetadata":
        """From virDomainGetMetadata's answer. Raises ValueError when it is not XML."""
        try:
            return cls.from_element(ET.fromstring(text)) or cls()
        except ET.ParseError as e:
            raise ValueError(f"domain metadata is not XML: {e}") from None

    @classmethod
    def find_in(cls, metadata: Optional[ET.Element]) -> Optional["KubevirtMetadata"]:
        """Ours within a domain's <metadata> element (other tools may keep theirs beside it)."""
        if metadata is None:
            return None
        return cls.from_element(metadata.find(f"{{{METADATA_NS}}}{TAG}"))
