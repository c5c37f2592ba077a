-- Segment membership: one row per segment and lead that matches its filters now.
select
    unnest(segment_ids)::bigint as segment_id,
    lead_id,
    workspace_id
from {{ ref('lead_segments') }}
