"""`segpipe variants SEGMENT`: which email variant wins, per campaign (SPEC §9).

Reads segment_campaign_daily (segment × campaign × variant × UTC day). Within each
campaign the variant with the most sends (ties: the smallest name) is the control
and every other variant is compared with it as `compare` does; the p-values of
all comparisons shown are adjusted together by Benjamini–Hochberg, since looking
at many variants at once makes some "significant" by chance.
"""

from __future__ import annotations

from .. import stats
from ..contract import SEGMENT_CAMPAIGN_DAILY
from ..output import table
from ..published import query
from ..top import BIGINT_MAX, METRICS, Window, check_metric, check_range
from .rates import comparison, points, rate_fields, rendered, window_words, with_interval, x_n
from .scope import check_workspace, segment_in_scope

NO_VARIANT = "(none)"
COUNTS = ("leads_sent", "opened", "replied", "bounced", "clicked", "converted", "clicks_tracked", "conversions_tracked")

VARIANTS_SQL = f"""
select campaign_id, campaign_workspace_id, any_value(campaign_name), coalesce(variant, '{NO_VARIANT}'),
       min(first_sent_at), {", ".join(f"sum({c})::BIGINT" for c in COUNTS)}
from {SEGMENT_CAMPAIGN_DAILY}
where segment_id = $id and day between $start and $end
  and ($campaign is null or campaign_id = $campaign)
group by campaign_id, campaign_workspace_id, coalesce(variant, '{NO_VARIANT}')
"""
COMPARISON_KEYS = ("difference", "difference_low", "difference_high", "p_value", "test", "p_adjusted", "significant")


def segment_variants(con, segment: str, window: Window, metric: str, workspace_id: int | None = None,
                     campaign: int | None = None) -> dict:
    """The JSON value of `segpipe variants`: per campaign, its variants against its control."""
    check_metric(metric)
    check_workspace(workspace_id)
    if campaign is not None:
        check_range("--campaign", campaign, -BIGINT_MAX - 1)
    found = segment_in_scope(con, segment, workspace_id)
    rows = query(con, VARIANTS_SQL, {"id": found.id, "start": window.start, "end": window.end, "campaign": campaign})
    by_campaign: dict = {}  # by id and workspace: campaign ids are numbered per workspace
    for campaign_id, workspace_id, name, variant, first_sent, *counts in rows:
        entry = by_campaign.setdefault((campaign_id, workspace_id), {
            "campaign_id": campaign_id, "campaign_name": name, "workspace_id": workspace_id,
            "first_sent_at": first_sent, "groups": []})
        entry["first_sent_at"] = min(entry["first_sent_at"], first_sent)
        entry["groups"].append((variant, dict(zip(COUNTS, counts))))
    campaigns = [_campaign(entry, metric) for entry in sorted(by_campaign.values(), key=lambda e: (
        e["first_sent_at"], e["campaign_id"] is None, e["campaign_id"] or 0, e["workspace_id"] is None,
        e["workspace_id"] or 0))]
    _adjust([v for c in campaigns for v in c["variants"] if "_p" in v])
    return {"segment_id": found.id, "segment_name": found.name, "metric": metric,
            "time_range_from": window.time_range_from, "time_range_to": window.time_range_to,
            "campaign_id": campaign, "campaigns": campaigns}


def _campaign(entry: dict, metric: str) -> dict:
    """One campaign: the control first (most sends, ties the smallest name), then the others by name."""
    groups = sorted(entry["groups"], key=lambda g: (-g[1]["leads_sent"], g[0]))
    control_name, control_counts = groups[0]
    variants = []
    for name, counts in [groups[0], *sorted(groups[1:])]:
        row = {"variant": name, "control": name == control_name, "leads_sent": counts["leads_sent"],
               **rate_fields(metric, counts)}
        row.update(dict.fromkeys(COMPARISON_KEYS))  # every row's keys in one order (the CSV columns)
        if name != control_name:
            row.update(comparison(x_n(metric, counts), x_n(metric, control_counts)))
            if row["p_value"] is not None:  # kept until _adjust, which removes it
                row["_p"] = _raw_p(metric, counts, control_counts)
        variants.append(row)
    return {"campaign_id": entry["campaign_id"], "campaign_name": entry["campaign_name"],
            "workspace_id": entry["workspace_id"], "control": control_name, "variants": variants}


def _raw_p(metric: str, counts: dict, control: dict) -> float | None:
    """The unrounded p-value, so the adjustment is not computed from a rounded one."""
    (x, n), (xc, nc) = x_n(metric, counts), x_n(metric, control)
    return stats.two_proportion_test(x, n, xc, nc)[0] if n and nc else None


def _adjust(compared: list[dict]) -> None:
    """Benjamini–Hochberg over every comparison shown; significant = p_adjusted < 0.05."""
    adjusted = stats.benjamini_hochberg([row.pop("_p") for row in compared])
    for row, p_adj in zip(compared, adjusted):
        row["p_adjusted"] = stats.round_significant(p_adj)
        row["significant"] = p_adj < stats.ALPHA


def variant_keys(metric: str) -> list[str]:
    """A variant row's keys in _campaign's order: the columns even when no variant was sent."""
    return ["variant", "control", "leads_sent", *rate_fields(metric, dict.fromkeys(COUNTS, 0)), *COMPARISON_KEYS]


def flat_rows(result: dict) -> tuple[list[str], list[list]]:
    """One row per campaign and variant, for CSV, Parquet and XLSX."""
    variants = [(c, v) for c in result["campaigns"] for v in c["variants"]]
    keys = variant_keys(result["metric"])
    return (["campaign_id", "campaign_name", "workspace_id", *keys],
            [[c["campaign_id"], c["campaign_name"], c["workspace_id"], *(v[k] for k in keys)] for c, v in variants])


def table_text(result: dict) -> str:
    metric = result["metric"]
    lines = [f"Variants of segment {result['segment_id']} {result['segment_name']}: {metric}, {window_words(result)}"]
    if not result["campaigns"]:
        none = ("no sends in this window" if result["campaign_id"] is None else
                f"campaign {result['campaign_id']} sent nothing to this segment in this window")
        return "\n".join([*lines, f"({none})"]) + "\n"
    count = METRICS[metric]
    compared = 0
    several_workspaces = len({c["workspace_id"] for c in result["campaigns"]}) > 1  # a global segment's
    for campaign in result["campaigns"]:
        title = ("Sends without a campaign (from lead metadata)" if campaign["campaign_id"] is None else
                 f"Campaign {campaign['campaign_id']} {campaign['campaign_name'] or ''}".rstrip())
        if several_workspaces and campaign["workspace_id"] is not None:
            title += f", workspace {campaign['workspace_id']}"
        lines += ["", f"{title} (control: {campaign['control']})"]
        rows = []
        for v in campaign["variants"]:
            if v["control"]:
                verdict = "control"
            elif v["difference"] is None:
                verdict = "no comparison (no denominator)"
            else:
                compared += 1
                verdict = (f"{points(v['difference'])} pts, p_adj = {v['p_adjusted']:.3g}: "
                           + ("significant" if v["significant"] else "not significant"))
            rows.append([v["variant"], v["leads_sent"], v[count], with_interval(v, metric), verdict])
        lines += table(["variant", "leads_sent", count, f"{metric} (95 % CI)", "vs control"], rows,
                       text_columns={"variant", "vs control"}).splitlines()
    if compared:
        lines += ["", f"p-values adjusted for {compared} comparison{'s' if compared > 1 else ''} "
                      "(Benjamini–Hochberg). A test read before its planned sample size is reached overstates significance."]
    return "\n".join(lines) + "\n"


def render(result: dict, output_format: str):
    """The result as the chosen --format prints or writes it."""
    return rendered(result, output_format, table_text, flat_rows)
