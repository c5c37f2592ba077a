-- Every lead with the columns `segpipe leads` shows, published so that the drill-downs
-- and BI tools read leads without the source files (join segment_leads on lead_id).
select
    id              as lead_id,
    workspace_id,
    email,
    source,
    score,
    country,
    role,
    company_size,
    industry,
    tags,
    created_at
from {{ source('leads') }}
