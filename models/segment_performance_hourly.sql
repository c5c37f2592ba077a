{%- set since = recompute_since(this, 'hour') %}
{{ config(
    materialized='incremental',
    incremental_predicates=["hour >= TIMESTAMP " ~ since],
    full_refresh_on=['lead_segments', 'segments'],
) }}
-- Outcomes per segment and UTC hour of send, over all history: the 'hour' grain of the
-- single pass over the sends (segment_send_totals), recomputed from the same days.
select
    segment_id,
    hour,
    leads_sent, opened, replied, bounced, clicked, converted,
    clicks_tracked, conversions_tracked, timed_replies, response_micros_sum
from {{ ref('segment_send_totals') }}
where grain = 'hour'
{%- if is_incremental() %}
  and day >= DATE {{ since }}
{%- endif %}
