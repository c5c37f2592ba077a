{%- set since = recompute_since(this) %}
{{ config(
    schema='internal',
    materialized='incremental',
    unique_key=['day', 'set_id'],
    incremental_predicates=["day >= DATE " ~ since],
    full_refresh_on=['lead_segments', 'segments', 'campaigns'],
    batches=send_batches(),
) }}
-- Sends per UTC day and set of segments their lead is in (set_id, numbered in
-- segment_sets, which holds the set's segment_ids), for sets of two or more segments:
-- `segpipe compare A B` sums the rows of the sets holding both A and B to count the
-- sends the two segments share, reading one window's slice (sorted by day) and
-- nothing else. A per-segment-pair table would hold ~segments² × days rows; a per-lead
-- one must be joined with segment_leads, which costs more than the whole `segpipe top`.
-- Under campaign attribution a send counts for one segment only, so two segments never
-- share one and the table stays empty. Incremental like segment_performance_daily.
-- Built a slice of sends at a time like it (send_batches()). The set's list is not
-- repeated in every row: attaching it took 0.8 s of 2.7 s at scale m and 40 MB of the file.
with sends as (
    {{ sends_since(since) }}
)

select cast(sends.sent_at as date) as day, leads.set_id, count(*) as leads_sent
from sends
{%- if var('attribution') == 'campaign' %}
join (select lead_id, 0 as set_id from {{ ref('lead_segments') }}) as leads on false
{%- else %}
-- each lead in a set, by the set's number (grouping by it, not by the list, is the cheaper
-- aggregation), looked up once per run in lead_scopes
join (select lead_id, workspace_id, set_id from {{ ref('lead_scopes') }} where set_id is not null) as leads
  using (lead_id)
-- SPEC §4: a send of another workspace's campaign counts for no segment, so none share it
where {{ same_workspace('sends.campaign_workspace_id', 'leads.workspace_id') }}
{%- endif %}
group by cast(sends.sent_at as date), leads.set_id
order by day
