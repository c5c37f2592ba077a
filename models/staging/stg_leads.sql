{{ config(schema='staging', materialized='view') }}

-- One row per lead, with the match keys segment filters compare against.
select
    id                                  as lead_id,
    workspace_id,
    email,
    score,
    {{ match_key('source') }}           as source_key,
    {{ match_key('country') }}          as country_key,
    {{ match_key('role') }}             as role_key,
    {{ match_key('company_size') }}     as company_size_key,
    {{ match_key('industry') }}         as industry_key,
    {{ tag_keys('tags') }}              as tag_keys,
    {{ has_text('email') }}            as has_email,
    created_at,
    metadata
from {{ source('leads') }}
