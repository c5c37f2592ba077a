{{ config(schema='staging', materialized='view') }}

-- One row per campaign. Its id must be unique within its workspace (a test in internal.yml):
-- the marts keep the campaign row of the send's workspace, so a campaign listed twice there
-- would count every send of that campaign twice.
{% if source_exists('campaigns') %}
select
    id                                  as campaign_id,
    workspace_id,
    name                                as campaign_name,
    segment_id,
    sent_at,
    -- a campaign without a workspace joins the sends of every workspace: its id must be its own
    count(*) over (partition by id)     as campaigns_with_this_id
from {{ source('campaigns') }}
{% else %}
select
    cast(null as bigint)                as campaign_id,
    cast(null as bigint)                as workspace_id,
    cast(null as varchar)               as campaign_name,
    cast(null as bigint)                as segment_id,
    cast(null as timestamp)             as sent_at,
    cast(null as bigint)                as campaigns_with_this_id
where false
{% endif %}
