-- Outcomes per segment and UTC day of send, over all history.
-- Attribution (vars.attribution): 'matching' counts a send for every segment
-- its lead matches now; 'campaign' only for its campaign's segment.
with attributed as (
{% if var('attribution') == 'campaign' %}
    select sends.campaign_segment_id as segment_id, sends.*
    from {{ ref('stg_sends') }} as sends
    where sends.campaign_segment_id in (select segment_id from {{ ref('segments') }})
{% else %}
    select unnest(leads.segment_ids) as segment_id, sends.*
    from {{ ref('stg_sends') }} as sends
    join {{ ref('lead_segments') }} as leads using (lead_id)
{% endif %}
)

select
    segment_id,
    cast(sent_at as date)                                       as day,
    count(*)                                                    as leads_sent,
    count(*) filter (where opened)                              as opened,
    count(*) filter (where replied)                             as replied,
    count(*) filter (where bounced)                             as bounced,
    count(*) filter (where clicked)                             as clicked,
    count(*) filter (where converted)                           as converted,
    count(*) filter (where replied and replied_at is not null)  as timed_replies,
    coalesce(sum(epoch(replied_at - sent_at) / 3600.0)
        filter (where replied and replied_at is not null), 0)   as response_hours_sum
from attributed
where sent_at is not null
group by all
