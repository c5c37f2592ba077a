"""The statistics of SPEC §9 (placeholder holding only wilson(); the stats module of
issue 12 replaces this file with the full set and its scipy-checked tests)."""

from __future__ import annotations

import math

#: the two-sided 95 % normal quantile SPEC §9 fixes
Z = 1.959963984540054


def wilson(x: int, n: int, z: float = Z) -> tuple[float | None, float | None]:
    """Wilson score interval: (p + z²/2n ∓ z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n); None, None when n = 0."""
    if n == 0:
        return None, None
    p = x / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    scale = 1 + z2 / n
    low = 0.0 if x == 0 else max(0.0, (centre - spread) / scale)
    high = 1.0 if x == n else min(1.0, (centre + spread) / scale)
    return low, high
