{#- How a lead attribute is compared with a filter value: trimmed and case-folded. -#}
{% macro match_key(column) -%}
nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- Tags as a list of match keys, without blanks. -#}
{% macro tag_keys(column) -%}
list_filter(list_transform(coalesce({{ column }}, []), t -> lower(trim(t))), t -> t <> '')
{%- endmacro %}

{#- Whether text holds more than white space: trim() strips the Unicode space separators but
    keeps tabs and line breaks, so translate() deletes those (codes 9-13, 28-31 and 133, which
    Python's str.isspace() counts too) first. Spark's chr() only takes codes below 256. -#}
{% macro has_text(column) -%}
coalesce(trim(translate({{ column }}, {% for code in [9, 10, 11, 12, 13, 28, 29, 30, 31, 133] -%}
chr({{ code }}){% if not loop.last %} || {% endif %}{% endfor %}, '')), '') <> ''
{%- endmacro %}
