{{ config(schema='internal') }}
{%- set vocabulary = filter_vocabulary(segments) %}
{%- set masks = mask_columns(segments) | join(', ') %}

-- Each lead with the list of segments it matches now, in one pass over the leads.
-- 1. encoded: each match key becomes its position among the values the filters
--    mention (0 = no filter mentions it).
-- 2. tag_sets, lead_masks: per lead, one bit per segment, as the AND of per-filter
--    lookups (see segpipe/membership.py) — no per-segment predicate per lead.
-- 3. mask_segments: each distinct mask turned into its list of segment ids once.
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
),

tag_sets as (
    -- the segments each distinct set of tags satisfies: a few thousand sets, not 1M leads
    select
        tag_keys,
        {{ tag_masks(segments, vocabulary) }}
    from (select distinct tag_keys from encoded)
),

lead_masks as (
    select
        lead_id,
        workspace_id,
        {{ segment_masks(segments, vocabulary) }}
    from encoded
    join tag_sets using (tag_keys)
),

mask_segments as (
    select {{ masks }}, {{ segment_ids_from_masks(segments) }} as segment_ids
    from (select distinct {{ masks }} from lead_masks)
)

select lead_id, workspace_id, segment_ids
from lead_masks
join mask_segments using ({{ masks }})
