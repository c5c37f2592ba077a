"""What every analysis shares: the metric's count and denominator, which segments are
in scope (`--workspace-id` as for `top`), and a rate with its Wilson interval as the
rounded JSON keys `<metric>`, `<metric>_low`, `<metric>_high`."""

from __future__ import annotations

from fractions import Fraction

from ..drilldown import SegmentRef, find_segment
from ..errors import ConfigError
from ..output import round_rate
from ..stats import wilson
from ..top import METRICS, check_metric, check_range

#: metric → the published column it divides by (SPEC §4: clicks and conversions only
#: over the sends that track them)
DENOMINATORS = {metric: "leads_sent" for metric in METRICS} | {
    "click_rate": "clicks_tracked",
    "conversion_rate": "conversions_tracked",
}


def metric_columns(metric: str) -> tuple[str, str]:
    """(count, denominator) of the metric, e.g. ('replied', 'leads_sent'); checks the name."""
    check_metric(metric)
    return METRICS[metric], DENOMINATORS[metric]


def check_workspace(workspace_id: int | None) -> None:
    if workspace_id is not None:
        check_range("--workspace-id", workspace_id, -2**63)


def segment_in_scope(con, ref: str, workspace_id: int | None) -> SegmentRef:
    """The segment named by id or exact name; with --workspace-id W it must belong to W
    (a global segment spans every workspace, so it is out of W's scope, as in `top`)."""
    segment = find_segment(con, ref, workspace_id)
    if workspace_id is not None and segment.workspace_id != workspace_id:
        where = "every workspace" if segment.workspace_id is None else f"workspace {segment.workspace_id}"
        raise ConfigError(f"segment {segment.id} '{segment.name}' belongs to {where}, not to --workspace-id {workspace_id}")
    return segment


def rate_keys(metric: str, x: int, n: int) -> dict:
    """`<metric>`, `<metric>_low`, `<metric>_high`: x/n and its 95 % Wilson interval,
    rounded half away from zero to 4 decimals; all None when n = 0."""
    low, high = wilson(x, n)
    return {
        metric: round_rate(Fraction(x, n)) if n else None,
        f"{metric}_low": round_rate(Fraction(low)) if low is not None else None,
        f"{metric}_high": round_rate(Fraction(high)) if high is not None else None,
    }
