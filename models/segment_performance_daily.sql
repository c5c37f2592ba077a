{%- set since = recompute_since(this) %}
{{ config(
    materialized='incremental',
    unique_key=['segment_id', 'day'],
    incremental_predicates=["day >= DATE " ~ since],
    full_refresh_on=['lead_segments', 'segments', 'campaigns'],
) }}
-- Outcomes per segment and UTC day of send, over all history: segment_performance_hourly
-- summed per day (~20 hourly rows a day, so this costs little next to a pass over the sends).
-- Incremental like it: a rerun recomputes the days from the last built day minus
-- vars.lookback_days; a membership change rebuilds it whole.
-- depends_on: {{ ref('send_problems') }} (built first: it starts from this table's last day
-- as the last run left it, the days this run recomputes)
select
    segment_id,
    cast(hour as date)                  as day,
    {{ summed_counts() }}
from {{ ref('segment_performance_hourly') }}
{%- if is_incremental() %}
where hour >= TIMESTAMP {{ since }}
{%- endif %}
group by segment_id, cast(hour as date)
