{{ config(schema='internal') }}

-- Each lead with the list of segments it matches now, in one pass over the leads.
select
    lead_id,
    workspace_id,
    {{ segment_ids_matching(segments) }} as segment_ids
from {{ ref('stg_leads') }}
