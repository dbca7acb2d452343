"""Reference rounding of an exact rational to float32, for directed-rounding oracles."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

# PTX spells the directions rd/ru/rz/rn; NVVM intrinsics also say rm (down) and rp (up)
_DOWN, _UP = ("rd", "rm"), ("ru", "rp")


def directed(exact: Fraction, mode: str) -> np.float32:
    """``exact`` rounded to float32 in direction ``mode`` (rn, rd/rm, ru/rp, rz)."""
    r = np.float32(float(exact))
    if Fraction(float(r)) > exact:
        down, up = np.nextafter(r, np.float32(-np.inf)), r
    elif Fraction(float(r)) < exact:
        down, up = r, np.nextafter(r, np.float32(np.inf))
    else:
        return r
    if mode == "rn":
        return r
    if mode in _DOWN:
        return down
    if mode in _UP:
        return up
    assert mode == "rz", mode
    return down if exact > 0 else up
