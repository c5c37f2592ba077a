-- Outcomes per segment, campaign, email variant and UTC day of send, over all history:
-- what `segpipe variants` and a BI tool's A/B charts read. Attributed like
-- segment_performance_daily (vars.attribution), so a segment's rows add up to its daily
-- figures. A send without a variant keeps variant NULL.
with sends as (
    select * from {{ ref('stg_sends') }} where sent_at is not null
),

attributed as (
{%- if var('attribution') == 'campaign' %}
    select sends.campaign_segment_id as segment_id, sends.*
    from sends
    where sends.campaign_segment_id in (select segment_id from {{ ref('segments') }})
{%- else %}
    select unnest(leads.segment_ids) as segment_id, sends.*
    from sends
    join (select lead_id, segment_ids from {{ ref('lead_segments') }} where len(segment_ids) > 0) as leads
      using (lead_id)
{%- endif %}
)

select
    a.segment_id::bigint                            as segment_id,
    a.campaign_id,
{%- if source_exists('campaigns') %}
    any_value(c.name)                               as campaign_name,
{%- else %}
    cast(null as varchar)                           as campaign_name,
{%- endif %}
    a.variant,
    cast(a.sent_at as date)                         as day,
    count(*)                                        as leads_sent,
    count(*) filter (where a.opened)                as opened,
    count(*) filter (where a.replied)               as replied,
    count(*) filter (where a.bounced)               as bounced,
    count(*) filter (where a.clicked)               as clicked,
    count(*) filter (where a.converted)             as converted,
    min(a.sent_at)                                  as first_sent_at,
    max(a.sent_at)                                  as last_sent_at
from attributed as a
{%- if source_exists('campaigns') %}
left join {{ source('campaigns') }} as c on c.id = a.campaign_id
{%- endif %}
group by a.segment_id, a.campaign_id, a.variant, cast(a.sent_at as date)
