{{ config(schema='internal') }}
{%- set vocabulary = filter_vocabulary(segments) %}

-- Each lead with the list of segments it matches now, in one pass over the leads.
with encoded as (
    select
        lead_id,
        workspace_id,
        score,
        has_email,
        {{ encode('source_key', vocabulary.sources) }}             as source_key,
        {{ encode('country_key', vocabulary.countries) }}          as country_key,
        {{ encode('role_key', vocabulary.roles) }}                 as role_key,
        {{ encode('company_size_key', vocabulary.company_sizes) }} as company_size_key,
        {{ encode('industry_key', vocabulary.industries) }}        as industry_key,
        {{ encode_tags('tag_keys', vocabulary.tags) }}             as tag_keys
    from {{ ref('stg_leads') }}
)

select
    lead_id,
    workspace_id,
    {{ segment_ids_matching(segments, vocabulary) }} as segment_ids
from encoded
