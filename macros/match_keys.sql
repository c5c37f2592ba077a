{#- How a lead attribute is compared with a filter value: trimmed and case-folded. -#}
{% macro match_key(column) -%}
nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- Tags as a list of match keys, without blanks. -#}
{% macro tag_keys(column) -%}
list_filter(list_transform(coalesce({{ column }}, []), t -> lower(trim(t))), t -> t <> '')
{%- endmacro %}

{#- Whether text holds more than white space: blank is Python's str.isspace(), which trim()
    alone (Unicode space separators) misses for tabs, line breaks and their kin; translate()
    deletes those first. -#}
{% macro has_text(column) -%}
coalesce(trim(translate({{ column }}, {% for code in [9, 10, 11, 12, 13, 28, 29, 30, 31, 133, 8232, 8233] -%}
chr({{ code }}){% if not loop.last %} || {% endif %}{% endfor %}, '')), '') <> ''
{%- endmacro %}
