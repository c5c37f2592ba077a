{#- Reading the metadata-fallback fields (SPEC §5) out of leads.metadata JSON.
    Their values are checked when the leads load (METADATA_KEYS in segpipe/sources.py):
    a key read here is listed there too. -#}
{% macro metadata_flag(key) -%}
coalesce(lower(trim(json_extract_string(metadata, '$.{{ key }}'))) in ('true', 't', '1', 'yes', 'y'), false)
{%- endmacro %}

{#- NULL when the key is absent, null or blank (the flag is not tracked for this lead), else as
    metadata_flag. Blank is unknown here as in a CSV column (and as the load check reads it): a
    blank `clicked` counted as tracked made click_rate's denominator count a send that
    tracked nothing, so "not tracked" read as 0 %. -#}
{% macro metadata_optional_flag(key) -%}
case when nullif(trim(json_extract_string(metadata, '$.{{ key }}')), '') is not null then {{ metadata_flag(key) }} end
{%- endmacro %}

{% macro metadata_timestamp(key) -%}
{{ utc_timestamp("nullif(trim(json_extract_string(metadata, '$." ~ key ~ "')), '')") }}
{%- endmacro %}

{#- A time's text as a naive UTC timestamp, a zone or offset converted and a naive time read as
    UTC. DuckDB 1.5.5's cast keeps the zone of a value naming one (Europe/Paris) for the naive
    values after it: values naming a zone, the only ones holding '/', are cast in their own
    branch (source_types.utc_time is the same for sources). -#}
{% macro utc_timestamp(text) -%}
case when {{ text }} like '%/%'
    then cast(cast({{ text }} as timestamptz) at time zone 'UTC' as timestamp)
    else cast(cast({{ text }} as timestamptz) at time zone 'UTC' as timestamp) end
{%- endmacro %}
