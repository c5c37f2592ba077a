{%- if is_incremental() %}
{%- set since = literal(run_query("select coalesce(cast(max(day) - " ~ (var('lookback_days', 3) | int)
                                  ~ " as varchar), '-infinity') from " ~ this)[0][0]) %}
{%- else %}
{%- set since = "'-infinity'" %}
{%- endif %}
{{ config(
    schema='internal',
    materialized='incremental',
    unique_key=['lead_id', 'day'],
    incremental_predicates=["day >= DATE " ~ since],
    full_refresh_on=['lead_segments', 'segments'],
) }}
-- Sends per lead and UTC day, for the leads that are in two or more segments: what
-- `segpipe compare` joins with segment_leads to count the sends two segments share
-- (a per-segment-pair table would have ~segments² × days rows). Under campaign
-- attribution a send counts for one segment only, so two segments never share one
-- and the table stays empty. Sorted by day, so a window's rows are a contiguous slice;
-- incremental like segment_performance_daily (the last days again, from `since`).
select sends.lead_id, cast(sends.sent_at as date) as day, count(*) as leads_sent
from {{ ref('stg_sends') }} as sends
{%- if var('attribution') == 'campaign' %}
where false
{%- else %}
join (select lead_id from {{ ref('lead_segments') }} where len(segment_ids) > 1) as leads using (lead_id)
where sends.sent_at >= TIMESTAMP {{ since }}
{%- endif %}
group by sends.lead_id, cast(sends.sent_at as date)
order by day, sends.lead_id
