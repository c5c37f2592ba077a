-- Segment membership: one row per segment and lead that matches its filters now.
select
    cast(segment_id as bigint) as segment_id,
    lead_id,
    workspace_id
from (select unnest(segment_ids) as segment_id, lead_id, workspace_id from {{ ref('lead_segments') }})
