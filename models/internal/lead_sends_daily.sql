{{ config(schema='internal') }}
-- Sends per lead and UTC day, for the leads that are in at least one segment: what
-- `segpipe compare` joins with segment_leads to count the sends two segments share
-- (a per-segment-pair table would have ~segments² × days rows). Under campaign
-- attribution a send counts for one segment only, so two segments never share one
-- and the table stays empty. Sorted by day, so a window's rows are a contiguous slice.
select sends.lead_id, cast(sends.sent_at as date) as day, count(*) as leads_sent
from {{ ref('stg_sends') }} as sends
{%- if var('attribution') == 'campaign' %}
where false
{%- else %}
join (select lead_id from {{ ref('lead_segments') }} where len(segment_ids) > 1) as leads using (lead_id)
where sends.sent_at is not null
{%- endif %}
group by sends.lead_id, cast(sends.sent_at as date)
order by day, sends.lead_id
