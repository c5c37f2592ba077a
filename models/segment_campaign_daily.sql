{%- set since = recompute_since(this) %}
{{ config(
    materialized='incremental',
    incremental_predicates=["day >= DATE " ~ since],
    full_refresh_on=['lead_segments', 'segments', 'campaigns'],
    batches=send_batches(),
) }}
-- Outcomes per segment, campaign, variant and UTC day of send, over all history, from
-- the (segment, send) pairs (macros/sends.sql). A NULL variant stays NULL; the campaign's
-- name comes from the campaigns source, from the row of the segment's workspace: a
-- campaign id that two workspaces both use never names one's campaign in the other's
-- segments (SPEC §4; a workspace segment counts only its workspace's campaigns, whose row
-- is always there). Incremental like segment_performance_hourly.
-- Built a slice of sends at a time like it (send_batches()).
-- Sorted by day, as incremental runs append: they delete the recent days, and with the
-- table sorted by segment those rows sat in every row group, which the closing
-- CHECKPOINT then rewrote (0.18 s of a 1.6 s incremental run at scale m; 0.02 s now).
-- `segpipe variants` reads one segment's window: DuckDB skips the row groups of other
-- days (2-9 ms at scale m; unsorted, it read them all: 50 ms).
with {{ attributed_sends(since) }},

totals as (
    select
        segment_id::bigint                  as segment_id,
        campaign_id,
        variant,
        cast(sent_at as date)               as day,
        {{ send_counts() }},
        min(sent_at)                        as first_sent_at,
        max(sent_at)                        as last_sent_at
    from attributed
    group by 1, 2, 3, 4
)

select
    t.segment_id,
    t.campaign_id,
{%- if source_exists('campaigns') %}
    c.name                              as campaign_name,
{%- else %}
    cast(null as varchar)               as campaign_name,
{%- endif %}
    t.variant,
    t.day,
    t.leads_sent, t.opened, t.replied, t.bounced, t.clicked, t.converted,
    t.clicks_tracked, t.conversions_tracked, t.timed_replies, t.response_micros_sum,
    t.first_sent_at,
    t.last_sent_at
from totals as t
{%- if source_exists('campaigns') %}
join {{ ref('segments') }} as s on s.segment_id = t.segment_id
left join {{ source('campaigns') }} as c on c.id = t.campaign_id
-- not in the join's ON: DuckDB 1.5 took 2 s longer for the left join with it at scale m
where {{ same_workspace('c.workspace_id', 's.workspace_id') }}
{%- endif %}
order by t.day, t.segment_id
