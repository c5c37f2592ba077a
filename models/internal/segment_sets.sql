{{ config(schema='internal') }}

-- Every set of two or more segments some lead is in now, numbered (ascending by the
-- set): segment_set_sends_daily counts sends per set_id, and `segpipe compare A B`
-- finds the sets holding both A and B here (330k sets at scale m) instead of testing
-- the list of each of its 6.5M day rows (82 ms -> 26 ms over a year).
select row_number() over (order by segment_ids)::integer as set_id, segment_ids
from (select distinct segment_ids from {{ ref('lead_segments') }} where array_length(segment_ids) > 1)
order by set_id
