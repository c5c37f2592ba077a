{%- set since = recompute_since(this) %}
{{ config(
    materialized='incremental',
    incremental_predicates=["day >= DATE " ~ since],
    full_refresh_on=['lead_segments', 'segments', 'campaigns'],
    batches=send_batches(),
) }}
-- Outcomes per segment, campaign, variant and UTC day of send, over all history, from
-- the (segment, send) pairs (macros/sends.sql). A NULL variant stays NULL. Campaign ids are
-- numbered per workspace, so a campaign is its id and its workspace (campaign_workspace_id,
-- the row each counted send joined in its lead's workspace): a global segment lists
-- workspace 1's campaign 10 and workspace 2's campaign 10 apart, and a campaign's name
-- comes from its own row. Incremental like segment_performance_hourly.
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
        campaign_workspace_id,
        variant,
        cast(sent_at as date)               as day,
        {{ send_counts() }},
        min(sent_at)                        as first_sent_at,
        max(sent_at)                        as last_sent_at
    from attributed
    group by 1, 2, 3, 4, 5
)

select
    t.segment_id,
    t.campaign_id,
    t.campaign_workspace_id,
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
left join {{ source('campaigns') }} as c
  on c.id = t.campaign_id and c.workspace_id is not distinct from t.campaign_workspace_id
{%- endif %}
order by t.day, t.segment_id
