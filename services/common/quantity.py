"""Kubernetes resource quantities ("128Mi", "1G", "500m", "1e3") -> numbers, as apimachinery's
resource.Quantity reads them: binary (Ki … Ei) and decimal SI suffixes (n, u, m, k, M … E) or a
decimal exponent; whole numbers (`to_bytes`) round up, away from zero, as Quantity.Value() does."""
from __future__ import annotations

import re
from decimal import ROUND_UP, Decimal, InvalidOperation

_SUFFIX: dict[str, int | Decimal] = {
    "": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("0.001"),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}
_RE = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
# Kubernetes: "no quantity may represent a number greater than 2^63-1 in magnitude" (it caps them;
# we refuse them, naming the field). Checked on the decimal exponent before any arithmetic, so a
# "1e999999" costs no million-digit integer and no decimal.Overflow.
MAX = 2**63 - 1
_MAX_DIGITS = len(str(MAX))


def parse(text: str) -> Decimal:
    """Raise ValueError with the quantities-must-match message Kubernetes users know."""
    m = _RE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"quantities must match the regular expression "
                         f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got {text!r}")
    try:
        number = Decimal(m.group(1))
    except InvalidOperation:
        raise ValueError(f"invalid quantity {text!r}") from None
    scale = _SUFFIX[m.group(2) or ""]
    # adjusted() is the exponent of the leading digit: at most 19 digits (+ the suffix's) can fit.
    if number and number.adjusted() + len(str(int(scale))) > _MAX_DIGITS + 1:
        raise ValueError(f"must be less than or equal to {MAX}")
    if not number or number.adjusted() < -_MAX_DIGITS * 2:
        number = Decimal(0)  # 0e999999, or far below Kubernetes' smallest unit (1n): no arithmetic on it
    value = number * scale
    if abs(value) > MAX:
        raise ValueError(f"must be less than or equal to {MAX}")
    return value


def to_bytes(text: str) -> int:
    """The whole number (Quantity.Value()): "1.5" is 2, "100m" is 1, "-1.5" is -2."""
    return int(parse(text).to_integral_value(rounding=ROUND_UP))
