-- Every segment's outcomes over the window: vars.days UTC days ending on the as-of date.
with window_totals as (
    select
        segment_id,
        sum(leads_sent)         as leads_sent,
        sum(opened)             as opened,
        sum(replied)            as replied,
        sum(bounced)            as bounced,
        sum(clicked)            as clicked,
        sum(converted)          as converted,
        sum(clicks_tracked)     as clicks_tracked,
        sum(conversions_tracked) as conversions_tracked,
        sum(timed_replies)      as timed_replies,
        sum(response_micros_sum) as response_micros_sum
    from {{ ref('segment_performance_daily') }}
    where day between {{ window_start() }} and {{ window_end() }}
    group by segment_id
)

select
    s.segment_id,
    s.segment_name,
    s.workspace_id,
    {{ window_start() }}                                as window_start,
    {{ window_end() }}                                  as window_end,
    cast(coalesce(w.leads_sent, 0) as bigint)           as leads_sent,
    cast(coalesce(w.opened, 0) as bigint)               as opened,
    cast(coalesce(w.replied, 0) as bigint)              as replied,
    cast(coalesce(w.bounced, 0) as bigint)              as bounced,
    cast(coalesce(w.clicked, 0) as bigint)              as clicked,
    cast(coalesce(w.converted, 0) as bigint)            as converted,
    cast(coalesce(w.clicks_tracked, 0) as bigint)       as clicks_tracked,
    cast(coalesce(w.conversions_tracked, 0) as bigint)  as conversions_tracked,
    {{ rate('w.opened', 'w.leads_sent') }}              as open_rate,
    {{ rate('w.replied', 'w.leads_sent') }}             as reply_rate,
    {{ rate('w.bounced', 'w.leads_sent') }}             as bounce_rate,
    {{ rate('w.clicked', 'w.clicks_tracked') }}         as click_rate,
    {{ rate('w.converted', 'w.conversions_tracked') }}  as conversion_rate,
    {{ rate('w.response_micros_sum / 3600e6', 'w.timed_replies') }} as avg_response_hours
from {{ ref('segments') }} as s
left join window_totals as w using (segment_id)
order by s.segment_id
