{%- set since = recompute_since(this, 'hour') %}
{{ config(
    materialized='incremental',
    incremental_predicates=["hour >= TIMESTAMP " ~ since],
    full_refresh_on=['lead_segments', 'segments', 'campaigns'],
    batches=send_batches(),
) }}
-- Outcomes per UTC hour and lead workspace of the sends counted for at least one segment,
-- each send once (macros/sends.sql, counted_sends()): what `segpipe best-time` without a
-- segment reads, since summing segment_performance_hourly over segments counts a send
-- once per segment its lead is in. in_workspace_segment splits the sends that count for
-- one of the workspace's own segments (what `--workspace-id` ranks) from those that count
-- for global segments only. Incremental and built a slice at a time like
-- segment_performance_hourly.
with {{ counted_sends(since) }}

select
    sent_hour                           as hour,
    workspace_id,
    in_workspace_segment,
    {{ send_counts() }}
from counted
group by 1, 2, 3
order by 1
