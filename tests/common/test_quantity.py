"""Quantities as Kubernetes reads them (apimachinery's resource.Quantity)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from services.common import quantity


@pytest.mark.parametrize("text,value", [
    ("128Mi", 128 * 2**20), ("1Gi", 2**30), ("1Ki", 1024), ("2Ei", 2 * 2**60),
    ("1k", 1000), ("1M", 10**6), ("1G", 10**9), ("1T", 10**12), ("1P", 10**15), ("1E", 10**18),
    ("500m", Decimal("0.5")), ("250u", Decimal("0.00025")), ("3n", Decimal("3e-9")),
    ("1e3", 1000), ("1E3", 1000), ("1.5e2", 150), ("+2", 2), ("-1Ki", -1024), ("0.5Gi", 2**29), (" 64Mi ", 64 * 2**20),
])
def test_suffixes_and_exponents(text, value):
    assert quantity.parse(text) == value


@pytest.mark.parametrize("text,whole", [
    ("1.5", 2), ("100m", 1), ("1n", 1), ("0", 0), ("0.0", 0), ("1000m", 1), ("1001m", 2), ("-1.5", -2),
    ("0.1Ki", 103), ("128Mi", 128 * 2**20),
])
def test_whole_numbers_round_up_away_from_zero(text, whole):
    assert quantity.to_bytes(text) == whole


@pytest.mark.parametrize("text", ["", "Mi", "1Mb", "1 Mi", "1.2.3", "one", "1i", "--1", "1e", "0x10"])
def test_malformed_quantities_are_refused_with_kubernetes_words(text):
    with pytest.raises(ValueError, match="quantities must match the regular expression|invalid quantity"):
        quantity.parse(text)


@pytest.mark.parametrize("text", ["9223372036854775808", "8Ei", "1e999999", "10E"])
def test_beyond_int64_is_refused(text):
    with pytest.raises(ValueError, match="must be less than or equal to 9223372036854775807"):
        quantity.parse(text)


def test_the_largest_is_taken_and_vanishing_ones_are_zero():
    assert quantity.parse("9223372036854775807") == 2**63 - 1
    assert quantity.parse("1e-999999") == 0
