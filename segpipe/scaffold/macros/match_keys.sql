{#- How a lead attribute is compared with a filter value: trimmed and case-folded. -#}
{% macro match_key(column) -%}
nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- Tags as a list of match keys, without blanks. -#}
{% macro tag_keys(column) -%}
list_filter(list_transform(coalesce({{ column }}, []), t -> lower(trim(t))), t -> t <> '')
{%- endmacro %}
