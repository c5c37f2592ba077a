{%- set since = recompute_since(this) %}
{{ config(
    materialized='incremental',
    incremental_predicates=["day >= DATE " ~ since],
    full_refresh_on=['lead_segments', 'segments'],
) }}
-- Outcomes per segment, campaign, variant and UTC day of send, over all history: the
-- 'campaign' grain of the single pass over the sends (segment_send_totals). A NULL
-- variant stays NULL; the campaign's name comes from the campaigns source.
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
from {{ ref('segment_send_totals') }} as t
{%- if source_exists('campaigns') %}
left join {{ source('campaigns') }} as c on c.id = t.campaign_id
{%- endif %}
where t.grain = 'campaign'
{%- if is_incremental() %}
  and t.day >= DATE {{ since }}
{%- endif %}
