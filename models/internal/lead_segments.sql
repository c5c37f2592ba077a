{{ config(schema='internal') }}
{%- if target.type == 'spark' %}

-- Each lead with the list of segments it matches now: on Spark one predicate per
-- segment (Spark has no unsigned 64-bit masks; a cluster runs them in parallel).
select
    lead_id,
    workspace_id,
    {{ segment_id_list(segments) }} as segment_ids
from {{ ref('stg_leads') }}
{%- else %}
{%- set vocabulary = filter_vocabulary(segments) %}
{%- set masks = mask_columns(segments) %}

-- Each lead with the list of segments it matches now, in one pass over the leads.
-- 1. encoded: each match key becomes its position among the values the filters
--    mention (0 = no filter mentions it).
-- 2. tag_sets, lead_masks: per lead, one bit per segment, as the AND of per-filter
--    lookups (see segpipe/membership.py) — no per-segment predicate per lead.
-- 3. word_k: each distinct value of the 64-bit word mask_k turned into its segment
--    ids once; a lead's list is its words' lists one after the other.
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
        tag_keys
    from {{ ref('stg_leads') }}
),

tag_sets as (
    -- the segments each distinct set of tags satisfies, tags encoded per set, not per lead
    -- (85k sets at 1M leads: encoding each lead's tags took a third of this model)
    select
        tag_keys,
        {{ tag_masks(segments, vocabulary) }}
    from (
        select tag_keys, {{ encode_tags('tag_keys', vocabulary.tags) }} as tag_codes
        from (select distinct tag_keys from encoded)
    )
),

lead_masks as (
    select
        lead_id,
        workspace_id,
        {{ segment_masks(segments, vocabulary) }}
    from encoded
    join tag_sets using (tag_keys)
),

{%- for mask in masks %}

word_{{ loop.index0 }} as (
    select {{ mask }}, {{ word_segment_ids(segments, loop.index0) }} as ids_{{ loop.index0 }}
    from (select distinct {{ mask }} from lead_masks)
){{ "," if not loop.last }}
{%- endfor %}

select
    lead_id,
    workspace_id,
    {% for mask in masks %}ids_{{ loop.index0 }}{{ " || " if not loop.last }}{% endfor %} as segment_ids
from lead_masks
{%- for mask in masks %}
join word_{{ loop.index0 }} using ({{ mask }})
{%- endfor %}
{%- endif %}
