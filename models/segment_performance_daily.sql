-- Outcomes per segment and UTC day of send, over all history: segment_campaign_daily
-- summed over campaigns and variants (so a segment's campaigns add up to its figures).
--
-- Incremental like segment_campaign_daily: a rerun recomputes the days from the last
-- built day minus vars.lookback_days, which that model has just recomputed; when
-- membership changes both are rebuilt whole.
{%- if is_incremental() %}
{%- set since = literal(run_query("select coalesce(cast(max(day) - " ~ (var('lookback_days', 3) | int)
                                  ~ " as varchar), '-infinity') from " ~ this)[0][0]) %}
{%- else %}
{%- set since = "'-infinity'" %}
{%- endif %}
{{ config(
    materialized='incremental',
    unique_key=['segment_id', 'day'],
    incremental_predicates=["day >= DATE " ~ since],
    full_refresh_on=['lead_segments', 'segments'],
) }}

select
    segment_id,
    day,
    sum(leads_sent)::bigint                         as leads_sent,
    sum(opened)::bigint                             as opened,
    sum(replied)::bigint                            as replied,
    sum(bounced)::bigint                            as bounced,
    sum(clicked)::bigint                            as clicked,
    sum(converted)::bigint                          as converted,
    sum(timed_replies)::bigint                      as timed_replies,
    sum(response_micros_sum)::bigint                as response_micros_sum
from {{ ref('segment_campaign_daily') }}
{%- if is_incremental() %}
where day >= DATE {{ since }}
{%- endif %}
group by segment_id, day
