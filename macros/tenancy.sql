{#- SPEC §4 tenancy: a send counts only where the workspaces it touches agree.
    True when either workspace is unknown (NULL): an unknown campaign is reported
    by the data-quality checks instead. -#}
{% macro same_workspace(left, right) -%}
coalesce({{ left }} = {{ right }}, true)
{%- endmacro %}
