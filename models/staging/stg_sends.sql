{{ config(schema='staging', materialized='view') }}

-- One row per send (a campaign_leads row with sent = true).
-- Send time: the row's own sent_at, else its campaign's. Both are kept too, so that an
-- incremental run can select recent sends by them and DuckDB skip older row groups.
{% if source_exists('campaign_leads') %}
select
    cl.id                                   as send_id,
    cl.campaign_id,
    c.segment_id                            as campaign_segment_id,
    c.workspace_id                          as campaign_workspace_id,
    cl.lead_id,
    coalesce(cl.sent_at, c.sent_at)         as sent_at,
    cl.sent_at                              as own_sent_at,
    c.sent_at                               as campaign_sent_at,
    coalesce(cl.opened, false)              as opened,
    coalesce(cl.replied, false)             as replied,
    coalesce(cl.bounced, false)             as bounced,
    cl.clicked,                             -- NULL: this send does not track clicks
    cl.converted,                           -- NULL: nor conversions
    cl.replied_at,
    -- empty or blank is none, as a blank CSV field (a database's or Parquet file's text keeps '')
    case when trim(cl.variant) <> '' then cl.variant end as variant,
    cl.campaign_id is null or c.campaign_id is not null as campaign_known
from {{ source('campaign_leads') }} as cl
left join {{ ref('stg_campaigns') }} as c on c.campaign_id = cl.campaign_id
where cl.sent
{% else %}
-- No campaign sources: each lead whose metadata has a sent_at is one send (SPEC §5).
select
    id                                      as send_id,
    cast(null as bigint)                    as campaign_id,
    cast(null as bigint)                    as campaign_segment_id,
    cast(null as bigint)                    as campaign_workspace_id,
    id                                      as lead_id,
    {{ metadata_timestamp('sent_at') }}     as sent_at,
    {{ metadata_timestamp('sent_at') }}     as own_sent_at,
    cast(null as timestamp)                 as campaign_sent_at,
    {{ metadata_flag('opened') }}           as opened,
    {{ metadata_flag('replied') }}          as replied,
    {{ metadata_flag('bounced') }}          as bounced,
    {{ metadata_optional_flag('clicked') }} as clicked,
    {{ metadata_optional_flag('converted') }} as converted,
    {{ metadata_timestamp('replied_at') }}  as replied_at,
    cast(null as varchar)                   as variant,
    true                                    as campaign_known
from {{ source('leads') }}
-- a blank sent_at is unknown, as null: no send (the load checks only these leads' values)
where nullif(trim(json_extract_string(metadata, '$.sent_at')), '') is not null
{% endif %}
