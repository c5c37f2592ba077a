"""segpipe/stats.py against scipy/statsmodels (random cases) and published worked examples."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

from segpipe import stats

RNG = random.Random(20261130)


def random_counts(count: int, largest: int = 5000) -> list[tuple[int, int]]:
    """(x, n) pairs: small and large n, rates near 0, near 1 and in between."""
    cases = []
    for _ in range(count):
        n = RNG.choice([RNG.randint(1, 20), RNG.randint(1, 300), RNG.randint(1, largest)])
        p = RNG.choice([0.0, 1.0, RNG.random(), RNG.random() * 0.05, 1 - RNG.random() * 0.05])
        cases.append((min(n, max(0, round(n * p + RNG.gauss(0, 1)))), n))
    return cases


def test_z_is_the_normal_quantile():
    assert stats.Z == pytest.approx(sps.norm.ppf(0.975), rel=1e-15)


@pytest.mark.parametrize("x", [-40, -8.5, -1.96, -0.3, 0, 0.3, 1.96, 8.5, 40])
def test_normal_cdf_and_two_sided_p(x):
    assert stats.normal_cdf(x) == pytest.approx(sps.norm.cdf(x), rel=1e-12, abs=1e-300)
    assert stats.two_sided_normal_p(x) == pytest.approx(2 * sps.norm.sf(abs(x)), rel=1e-12, abs=1e-300)


def test_wilson_matches_statsmodels_on_random_counts():
    for x, n in random_counts(400):
        low, high = stats.wilson(x, n)
        ref_low, ref_high = proportion_confint(x, n, alpha=0.05, method="wilson")
        assert low == pytest.approx(ref_low, abs=1e-12), (x, n)
        assert high == pytest.approx(ref_high, abs=1e-12), (x, n)
        assert 0 <= low <= x / n <= high <= 1


def test_wilson_edges():
    assert stats.wilson(0, 0) == (None, None)
    assert stats.wilson(0, 17)[0] == 0.0
    assert stats.wilson(17, 17)[1] == 1.0


@pytest.mark.parametrize("x, n, low, high", [
    # Newcombe (1998a), Statistics in Medicine 17:857, Table II, method 3 (Wilson score, no CC)
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_textbook(x, n, low, high):
    got = stats.wilson(x, n)
    assert round(got[0], 4) == low and round(got[1], 4) == high


def test_newcombe_matches_statsmodels_on_random_pairs():
    counts = random_counts(600)
    for (xa, na), (xb, nb) in zip(counts[::2], counts[1::2]):
        d, low, high = stats.newcombe(xa, na, xb, nb)
        ref_low, ref_high = confint_proportions_2indep(xa, na, xb, nb, method="newcomb", compare="diff")
        assert d == pytest.approx(xa / na - xb / nb, abs=1e-15)
        assert low == pytest.approx(ref_low, abs=1e-12), (xa, na, xb, nb)
        assert high == pytest.approx(ref_high, abs=1e-12), (xa, na, xb, nb)


@pytest.mark.parametrize("xa, na, xb, nb, low, high", [
    # Newcombe (1998b), Statistics in Medicine 17:873, Table II, method 10
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (5, 56, 0, 29, -0.0381, 0.1926),
])
def test_newcombe_textbook(xa, na, xb, nb, low, high):
    _, got_low, got_high = stats.newcombe(xa, na, xb, nb)
    assert (round(got_low, 4), round(got_high, 4)) == (low, high)


def test_newcombe_without_a_denominator():
    assert stats.newcombe(0, 0, 3, 10) == (None, None, None)


def test_pooled_z_test_matches_statsmodels():
    checked = 0
    counts = random_counts(800)
    for (xa, na), (xb, nb) in zip(counts[::2], counts[1::2]):
        if not stats.z_test_applies(xa, na, xb, nb):
            continue
        _, ref = proportions_ztest([xa, xb], [na, nb])
        assert stats.pooled_z_test(xa, na, xb, nb) == pytest.approx(ref, rel=1e-9, abs=1e-300), (xa, na, xb, nb)
        checked += 1
    assert checked > 100


def test_z_test_applies_uses_all_four_expected_counts():
    # p̂ = 10/200: expected successes 5 and 5 → z; one fewer success → Fisher
    assert stats.z_test_applies(6, 100, 4, 100)
    assert not stats.z_test_applies(5, 100, 4, 100)
    # failures side: p̂ = 190/200
    assert stats.z_test_applies(96, 100, 94, 100)
    assert not stats.z_test_applies(96, 100, 95, 100)


def test_fisher_matches_scipy_on_random_tables():
    for _ in range(400):
        size = RNG.choice([5, 30, 200, 2000])
        a, b, c, d = (RNG.randint(0, size) for _ in range(4))
        if RNG.random() < 0.3:  # symmetric margins, where equal-probability tables must all count
            c, d = b, a
        ref = sps.fisher_exact([[a, b], [c, d]], alternative="two-sided").pvalue
        assert stats.fisher_exact(a, b, c, d) == pytest.approx(ref, rel=1e-8, abs=1e-300), (a, b, c, d)


@pytest.mark.parametrize("table, p", [
    ([[3, 1], [1, 3]], 0.4857),   # Fisher's lady tasting tea (1935): 34/70
    ([[8, 2], [1, 5]], 0.0350),   # scipy's documented example (Agresti's table)
    ([[1, 9], [11, 3]], 0.0028),  # Wikipedia "Fisher's exact test" (dieting): 0.002759
])
def test_fisher_textbook(table, p):
    (a, b), (c, d) = table
    assert round(stats.fisher_exact(a, b, c, d), 4) == p


def test_fisher_degenerate_margins():
    assert stats.fisher_exact(0, 10, 0, 7) == 1.0
    assert stats.fisher_exact(3, 0, 5, 0) == 1.0


def test_two_proportion_test_chooses_by_expected_counts():
    assert stats.two_proportion_test(40, 300, 60, 300)[1] == "z"
    p, test = stats.two_proportion_test(1, 1, 0, 3)
    assert test == "fisher"
    assert p == pytest.approx(sps.fisher_exact([[1, 0], [0, 3]]).pvalue, rel=1e-12)


def test_benjamini_hochberg_matches_statsmodels():
    for _ in range(300):
        m = RNG.randint(1, 40)
        p = [RNG.choice([RNG.random(), RNG.random() ** 6, 1.0, 0.04]) for _ in range(m)]
        ref = multipletests(p, method="fdr_bh")[1]
        got = stats.benjamini_hochberg(p)
        assert got == pytest.approx(list(ref), rel=1e-12, abs=1e-300)
        assert max(got) <= 1
        assert all(got[i] <= got[j] for i in range(m) for j in range(m) if p[i] <= p[j])


def test_benjamini_hochberg_textbook():
    # Benjamini & Hochberg (1995) §4: 15 p-values; at q = 0.05 the four smallest are rejected.
    p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240,
         0.4262, 0.5719, 0.6528, 0.7590, 1.0000]
    adjusted = stats.benjamini_hochberg(p)
    assert [a < 0.05 for a in adjusted] == [True] * 4 + [False] * 11
    assert adjusted[0] == pytest.approx(0.0015)


def reference_shrinkage(counts):
    """SPEC §9's shrinkage written out independently with numpy."""
    x = np.array([c[0] for c in counts], float)
    n = np.array([c[1] for c in counts], float)
    mu = x.sum() / n.sum()
    k = len(counts)
    tau2 = np.mean((x / n - mu) ** 2) - np.mean(mu * (1 - mu) / n)
    if k < 3 or not 0 < mu < 1 or tau2 <= 0:
        return [mu] * k
    kappa = max(0.0, mu * (1 - mu) / tau2 - 1)
    return list((x + mu * kappa) / (n + kappa))


def test_shrinkage_matches_the_formula_on_random_sets():
    shrunk_any = 0
    for _ in range(300):
        k = RNG.randint(1, 30)
        base = RNG.random() * 0.3
        counts = []
        for _ in range(k):
            n = RNG.randint(1, RNG.choice([5, 100, 3000]))
            p = min(1.0, max(0.0, RNG.gauss(base, RNG.choice([0.0, 0.02, 0.2]))))
            counts.append((sum(RNG.random() < p for _ in range(n)) if n < 200 else round(n * p), n))
        got = [float(v) for v in stats.shrunk_rates(counts)]
        ref = reference_shrinkage(counts)
        assert got == pytest.approx(ref, rel=1e-9, abs=1e-12), counts
        shrunk_any += any(abs(g - x / n) > 1e-9 and abs(g - ref[0]) > 1e-9 for g, (x, n) in zip(got, counts))
    assert shrunk_any > 50  # the κ > 0 branch was exercised, not only the fallbacks


def test_shrinkage_pulls_a_small_segment_below_a_large_one():
    large = [(40, 400), (55, 400), (30, 400), (70, 400), (48, 400), (62, 400), (35, 400), (44, 400)]
    shrunk = stats.shrunk_rates([(3, 10)] + large)
    assert Fraction(3, 10) > Fraction(70, 400) > shrunk[0]  # first by raw rate, not after shrinking
    assert Fraction(70, 400) > shrunk[4]  # large ones move a little towards the mean
    assert abs(shrunk[4] - Fraction(70, 400)) < Fraction(1, 100)
    assert all(isinstance(v, Fraction) for v in shrunk)


def test_shrinkage_fallbacks_are_the_pooled_rate():
    assert stats.shrunk_rates([(1, 4), (3, 4)]) == [Fraction(1, 2)] * 2            # k < 3
    assert stats.shrunk_rates([(0, 4), (0, 9), (0, 2)]) == [Fraction(0)] * 3       # μ = 0
    assert stats.shrunk_rates([(5, 10), (50, 100), (500, 1000)]) == [Fraction(1, 2)] * 3  # τ² ≤ 0
    assert stats.shrunk_rates([]) == []


def exact_tau2(counts):
    """SPEC §9's τ² in exact fractions."""
    k = len(counts)
    mu = Fraction(sum(x for x, _ in counts), sum(n for _, n in counts))
    return (sum((Fraction(x, n) - mu) ** 2 for x, n in counts) - sum(mu * (1 - mu) / n for _, n in counts)) / k, mu


def test_a_tau2_of_exactly_zero_is_not_shrunk_by_float_noise():
    """τ² = 0 exactly (not > 0): every shrunk rate is μ, so the tie-breaks rank. Their float
    τ² is ~1e-17 above 0, which gave a κ of ~1e16 and rates a few ulps apart that ranked
    2/2 above 4/8."""
    cases = [[(2, 2), (2, 2), (4, 8)], [(1, 4), (2, 5), (4, 5)], [(2, 9), (2, 9), (5, 9)], [(3, 5), (5, 5), (8, 10)]]
    for counts in cases:
        tau2, mu = exact_tau2(counts)
        assert tau2 == 0
        assert stats.shrunk_rates(counts) == [mu] * len(counts), counts


def test_a_kappa_of_exactly_zero_keeps_the_raw_rates():
    """τ² = μ(1−μ) exactly gives κ = 0: the raw rates, not rates a float κ of ~1e-16 moves."""
    counts = [(0, 1), (2, 2), (2, 2), (2, 2)]
    tau2, mu = exact_tau2(counts)
    assert tau2 == mu * (1 - mu)
    assert stats.shrunk_rates(counts) == [Fraction(x, n) for x, n in counts]


def test_segment_at_the_mean_stays_exactly_at_the_mean():
    counts = [(10, 100), (30, 100), (1, 50), (45, 150), (20, 80)]
    mu = Fraction(sum(x for x, _ in counts), sum(n for _, n in counts))
    shrunk = stats.shrunk_rates(counts + [(mu.numerator, mu.denominator)])
    assert shrunk[-1] == mu


@pytest.mark.parametrize("value, expected", [
    (0.0123456789, 0.0123457), (1.0, 1.0), (0.000123456449, 0.000123456), (2.5e-12, 2.5e-12),
    (0.0, 0.0), (None, None), (0.12345650000000001, 0.123457),
])
def test_round_significant(value, expected):
    assert stats.round_significant(value) == expected
    assert math.copysign(1, stats.round_significant(-value)) == -1 if value else True


def test_no_scipy_at_run_time():
    import subprocess
    import sys

    code = "import sys, segpipe.stats; sys.exit(any(m.split('.')[0] in ('scipy', 'numpy', 'statsmodels') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
