-- The segment definitions, as loaded from seeds/segments.yml (or a source table).
select
    segment_id,
    segment_name,
    workspace_id,
    description,
    filters
from {{ source('segments') }}
order by segment_id
