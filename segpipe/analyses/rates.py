"""What every analysis shows for a rate: its count, the rate and its 95 % Wilson interval,
and for two rates their difference, Newcombe interval and two-sided test (SPEC §9)."""

from __future__ import annotations

from fractions import Fraction

from .. import stats
from ..output import Interval, formatted, json_text, percent_text, round_rate
from ..top import METRICS
from ..wording import plural
from .scope import DENOMINATORS


def denominator_key(metric: str) -> str:
    return DENOMINATORS[metric]


def window_words(result: dict) -> str:
    """`2025-01-01 to 2025-01-31 (31 UTC days)` from a result's time range."""
    import datetime as dt

    start, end = (dt.date.fromisoformat(result[k][:10]) for k in ("time_range_from", "time_range_to"))
    return f"{start} to {end} ({plural((end - start).days + 1, 'UTC day')})"


def rate_fields(metric: str, counts: dict) -> dict:
    """`<count>`, `<metric>`, `<metric>_low`, `<metric>_high` from a dict of counts
    (leads_sent, the metric's count, and its tracked count where it has one)."""
    x, n = counts[METRICS[metric]], counts.get(denominator_key(metric), counts["leads_sent"])
    low, high = stats.wilson(x, n)
    fields = {METRICS[metric]: x}
    if denominator_key(metric) != "leads_sent":
        fields[denominator_key(metric)] = n
    fields.update({metric: round_rate(Fraction(x, n)) if n else None,
                   f"{metric}_low": round_rate(low), f"{metric}_high": round_rate(high)})
    return fields


def x_n(metric: str, counts: dict) -> tuple[int, int]:
    return counts[METRICS[metric]], counts.get(denominator_key(metric), counts["leads_sent"])


def comparison(a: tuple[int, int], b: tuple[int, int]) -> dict:
    """`difference` (rate A − rate B) with Newcombe's interval, the two-sided p-value
    (pooled z-test, or Fisher's exact test when an expected count is below 5), which test,
    and `significant` (p < 0.05). All null when either side has no denominator."""
    (xa, na), (xb, nb) = a, b
    d, low, high = stats.newcombe(xa, na, xb, nb)
    if d is None:
        return {"difference": None, "difference_low": None, "difference_high": None,
                "p_value": None, "test": None, "significant": None}
    p_value, test = stats.two_proportion_test(xa, na, xb, nb)
    return {"difference": round_rate(Fraction(xa, na) - Fraction(xb, nb)), "difference_low": round_rate(low),
            "difference_high": round_rate(high), "p_value": stats.round_significant(p_value), "test": test,
            "significant": p_value < stats.ALPHA}


def with_interval(fields: dict, metric: str) -> str:
    """`13.9 % (10.5–18.2)` from rate_fields' or rate_keys' values."""
    return str(Interval(fields[metric], fields[f"{metric}_low"], fields[f"{metric}_high"]))


def points(value) -> str:
    """A difference of rates in percentage points, as a table shows it: `+1.2`."""
    return percent_text(value, "+")


def difference_words(result: dict) -> str:
    """One sentence on a comparison: the difference, its interval, the test, and whether it is
    significant — in words, so nobody reads a noisy difference as a finding."""
    if result["difference"] is None:
        return "no difference can be computed: a side has no sends in the window"
    test = "pooled z-test" if result["test"] == "z" else "Fisher's exact test"
    verdict = ("significant at the 5 % level" if result["significant"]
               else "NOT significant at the 5 % level: the data do not show a real difference")
    return (f"{points(result['difference'])} points (95 % CI {points(result['difference_low'])} to "
            f"{points(result['difference_high'])}), p = {result['p_value']:.3g} ({test}): {verdict}")


def rendered(result: dict, output_format: str, table_text, flat_rows):
    """An analysis's result in the chosen --format: its JSON as is, its own table text, or
    its flat rows (CSV, Parquet, XLSX)."""
    if output_format == "json":
        return json_text(result)
    if output_format == "table":
        return table_text(result)
    columns, rows = flat_rows(result)
    return formatted(output_format, columns, rows)
