"""The statistics of SPEC §9, in pure Python (no scipy at run time).

Every function takes counts (`x` successes out of `n`) and returns floats, or
None where the SPEC says null (a rate without a denominator). The constant `Z`
is the 97.5 % normal quantile the SPEC fixes; tests/test_stats.py checks each
function against scipy/statsmodels and against published worked examples.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

#: the two-sided 95 % normal quantile, Φ⁻¹(0.975), as SPEC §9 fixes it
Z = 1.959963984540054
#: Fisher's two-sided rule counts tables "no more likely" than the observed one
#: up to this relative tolerance (R's fisher.test uses the same 1e-7)
FISHER_RELATIVE_TOLERANCE = 1e-7
ALPHA = 0.05
#: shrunk_rates recomputes τ² exactly when the float one is this close to 0 or to μ(1−μ) (relative to the
#: larger of its two terms), far above the float sums' error for any realistic send counts
TAU2_EXACT_BELOW = 1e-6


def normal_cdf(x: float) -> float:
    """Φ(x) = ½·erfc(−x/√2) — erfc keeps full relative precision in both tails."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def two_sided_normal_p(z: float) -> float:
    """2·(1 − Φ(|z|)), computed as erfc(|z|/√2) so a tiny p-value is not rounded to 0."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def wilson(x: int, n: int, z: float = Z) -> tuple[float | None, float | None]:
    """Wilson score interval for x successes out of n (95 % with the default z).

        low, high = (p + z²/2n ∓ z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n),  p = x/n

    Both None when n = 0. x = 0 gives low = 0 and x = n gives high = 1 exactly
    (the formula's float rounding would otherwise leave ±1e-17 and break ties).
    Reference: E. B. Wilson, "Probable inference, the law of succession, and
    statistical inference", JASA 22 (1927) 209–212; Newcombe (1998a) method 3.
    """
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


def newcombe(xa: int, na: int, xb: int, nb: int, z: float = Z) -> tuple[float | None, float | None, float | None]:
    """(d, low, high): the difference pA − pB and Newcombe's hybrid score interval.

        low  = d − √((pA − lowA)² + (highB − pB)²)
        high = d + √((highA − pA)² + (pB − lowB)²)

    with (lowA, highA), (lowB, highB) the Wilson intervals. All None when either
    n is 0. Reference: R. G. Newcombe, "Interval estimation for the difference
    between independent proportions: comparison of eleven methods", Statistics
    in Medicine 17 (1998) 873–890, method 10.
    """
    if na == 0 or nb == 0:
        return None, None, None
    pa, pb = xa / na, xb / nb
    low_a, high_a = wilson(xa, na, z)
    low_b, high_b = wilson(xb, nb, z)
    d = pa - pb
    return (d, d - math.sqrt((pa - low_a) ** 2 + (high_b - pb) ** 2),
            d + math.sqrt((high_a - pa) ** 2 + (pb - low_b) ** 2))


def z_test_applies(xa: int, na: int, xb: int, nb: int, least: int = 5) -> bool:
    """True when all four expected cell counts nᵢ·p̂ and nᵢ·(1−p̂) are ≥ 5 (exact integers)."""
    total, successes = na + nb, xa + xb
    failures = total - successes
    return total > 0 and all(n * cell >= least * total for n in (na, nb) for cell in (successes, failures))


def pooled_z_test(xa: int, na: int, xb: int, nb: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test.

        z = (pA − pB) / √(p̂(1−p̂)(1/nA + 1/nB)),  p̂ = (xA + xB)/(nA + nB),  p = 2(1 − Φ(|z|))

    Needs 0 < p̂ < 1 (guaranteed when `z_test_applies`). Reference: A. Agresti,
    Categorical Data Analysis, 3rd ed. (2013) §3.1.3; statsmodels' proportions_ztest.
    """
    pooled = (xa + xb) / (na + nb)
    z = (xa / na - xb / nb) / math.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    return two_sided_normal_p(z)


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test for the table [[a, b], [c, d]].

    The sum of the hypergeometric probabilities of every table with the same
    margins whose probability is at most the observed one's × (1 + 1e-7), as R's
    fisher.test and scipy.stats.fisher_exact define "two-sided". The
    probabilities are built in log space from the ratio of neighbouring tables,
        P(k+1)/P(k) = (r₁−k)(c₁−k) / ((k+1)(r₂−c₁+k+1)),
    so large margins neither overflow nor need factorials.
    Reference: R. A. Fisher, Statistical Methods for Research Workers (1934) §21.02;
    Agresti (2013) §3.5.
    """
    row1, row2, col1 = a + b, c + d, a + c
    low, high = max(0, col1 - row2), min(row1, col1)
    if low == high:
        return 1.0
    logs = [0.0]
    for k in range(low, high):
        logs.append(logs[-1] + math.log((row1 - k) * (col1 - k)) - math.log((k + 1) * (row2 - col1 + k + 1)))
    observed = logs[a - low] + math.log1p(FISHER_RELATIVE_TOLERANCE)
    total = _log_sum_exp(logs)
    as_likely = _log_sum_exp([value for value in logs if value <= observed])
    return min(1.0, math.exp(as_likely - total))


def _log_sum_exp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(math.fsum(math.exp(v - top) for v in values))


def two_proportion_test(xa: int, na: int, xb: int, nb: int) -> tuple[float, str]:
    """(two-sided p-value, "z" or "fisher"): the z-test when every expected count
    is ≥ 5, Fisher's exact test otherwise (SPEC §9, `compare`)."""
    if z_test_applies(xa, na, xb, nb):
        return pooled_z_test(xa, na, xb, nb), "z"
    return fisher_exact(xa, na - xa, xb, nb - xb), "fisher"


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values, in the input's order.

        p_adj(i) = min over j ≥ i of  m·p(j)/j,  capped at 1

    for the p-values sorted ascending (j = 1…m), so the adjusted values keep the
    p-values' order (monotone). Reference: Y. Benjamini & Y. Hochberg,
    "Controlling the false discovery rate", JRSS B 57 (1995) 289–300;
    statsmodels' multipletests(method="fdr_bh").
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, m * p_values[i] / rank)
        adjusted[i] = running
    return adjusted


def shrunk_rates(counts: list[tuple[int, int]]) -> list[Fraction]:
    """Empirical-Bayes (beta-binomial method of moments) shrunk rates, SPEC §9.

    Over the k segments being ranked, each (x, n) with n ≥ 1:
        μ = Σx/Σn,  s² = (1/k)Σ(pᵢ − μ)²,  m = (1/k)Σ μ(1−μ)/nᵢ,  τ² = s² − m.
    When k ≥ 3, 0 < μ < 1 and τ² > 0: κ = max(0, μ(1−μ)/τ² − 1) and each rate is
    (x + μκ)/(n + κ) (κ = 0: the raw rate); otherwise every rate is μ.

    μ is exact; τ² and κ are floats (exact sums over thousands of segments would
    carry huge denominators), except when τ² is within rounding error of 0 or of
    μ(1−μ): then τ² is recomputed exactly, since the SPEC's τ² > 0 test decides
    between every rate being μ (ties, so the tie-breaks rank) and a huge κ whose
    float noise would rank instead (2/2, 2/2, 4/8 has τ² = 0 exactly but 2.8e-17
    in floats), and κ = 0 keeps the raw rates exact.
    The result is exact given κ, so segments with the same rate after shrinking
    tie exactly and the tie-breaks decide, as they do for raw rates. Reference:
    B. Efron & C. Morris, "Data analysis using Stein's estimator and its
    generalizations", JASA 70 (1975) 311–319; D. Robinson, Introduction to
    Empirical Bayes (2017) ch. 3.
    """
    k = len(counts)
    if k == 0:
        return []
    mu = Fraction(sum(x for x, _ in counts), sum(n for _, n in counts))
    if k < 3 or not 0 < mu < 1:
        return [mu] * k
    mu_f = float(mu)
    spread = math.fsum((x / n - mu_f) ** 2 for x, n in counts) / k
    noise = mu_f * (1 - mu_f) * math.fsum(1 / n for _, n in counts) / k
    tau2 = spread - noise
    near = TAU2_EXACT_BELOW * max(spread, noise)
    if abs(tau2) <= near or abs(mu_f * (1 - mu_f) - tau2) <= near:  # τ² ≤ 0 or κ = 0 may be rounding error
        exact = (sum((Fraction(x, n) - mu) ** 2 for x, n in counts)
                 - mu * (1 - mu) * sum(Fraction(1, n) for _, n in counts)) / k
        if exact <= 0:
            return [mu] * k
        kappa = max(Fraction(0), mu * (1 - mu) / exact - 1)
        return [(x + mu * kappa) / (n + kappa) for x, n in counts]
    if tau2 <= 0:
        return [mu] * k
    kappa = Fraction(max(0.0, mu_f * (1 - mu_f) / tau2 - 1))
    return [(x + mu * kappa) / (n + kappa) for x, n in counts]


def round_significant(value: float | None, digits: int = 6) -> float | None:
    """Round to `digits` significant digits, half away from zero (p-values)."""
    if value is None or value == 0 or not math.isfinite(value):
        return value
    exact = Decimal(value)
    quantum = Decimal(1).scaleb(exact.adjusted() - digits + 1)
    return float(exact.quantize(quantum, rounding=ROUND_HALF_UP))
