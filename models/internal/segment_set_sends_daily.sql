{%- set since = recompute_since(this) %}
{{ config(
    schema='internal',
    materialized='incremental',
    unique_key=['day', 'segment_ids'],
    incremental_predicates=["day >= DATE " ~ since],
    full_refresh_on=['lead_segments', 'segments'],
    batches=send_batches(),
) }}
-- Sends per UTC day and set of segments their lead is in, for sets of two or more
-- segments: `segpipe compare A B` sums the rows whose set holds both A and B to count
-- the sends the two segments share, reading one window's slice (sorted by day) and
-- nothing else. A per-segment-pair table would hold ~segments² × days rows; a per-lead
-- one must be joined with segment_leads, which costs more than the whole `segpipe top`.
-- Under campaign attribution a send counts for one segment only, so two segments never
-- share one and the table stays empty. Incremental like segment_performance_daily.
-- Built a slice of sends at a time like it (send_batches()).
with sends as (
    {{ sends_since(since) }}
)

select cast(sends.sent_at as date) as day, leads.segment_ids, count(*) as leads_sent
from sends
{%- if var('attribution') == 'campaign' %}
join {{ ref('lead_segments') }} as leads on false
{%- else %}
join (select lead_id, workspace_id, segment_ids from {{ ref('lead_segments') }} where array_length(segment_ids) > 1) as leads using (lead_id)
-- SPEC §4: a send of another workspace's campaign counts for no segment, so none share it
where {{ same_workspace('sends.campaign_workspace_id', 'leads.workspace_id') }}
{%- endif %}
group by cast(sends.sent_at as date), leads.segment_ids
order by day
