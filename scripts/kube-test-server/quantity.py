"""Kubernetes resource quantities ("64Mi", "1Gi", "500M", "1e6", "128974848", "0.5Gi"), as resource.Quantity reads
them: a signed decimal number and one suffix, binary (Ki, Mi, Gi, Ti, Pi, Ei: powers of 1024), decimal (n, u, m, "",
k, M, G, T, P, E: powers of 1000) or a decimal exponent (e6, E-3). A JSON number is a quantity too.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

_QUANTITY = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|n|u|m|k|M|G|T|P|E|)$"
)
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -3, "u": -2, "m": -1, "": 0, "k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


def parse_quantity(value: str | int | float) -> Fraction:
    """The exact value of a quantity; ValueError when it does not parse."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value!r} is not a quantity")
        return Fraction(value)
    match = _QUANTITY.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            f"quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {value!r}"
        )
    number = Fraction(match.group(1))
    suffix = match.group(2)
    if suffix in _BINARY:
        return number * 1024 ** _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * Fraction(1000) ** _DECIMAL[suffix]
    return number * Fraction(10) ** int(suffix[1:])


def quantity_bytes(value: str | int | float) -> int:
    """A memory quantity in whole bytes, rounded up as Quantity.Value() rounds."""
    return math.ceil(parse_quantity(value))
