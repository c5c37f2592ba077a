{#- The reporting window: vars.days whole UTC days ending on the run's as-of date. -#}
{% macro window_end() -%}
DATE {{ literal(var('as_of')) }}
{%- endmacro %}

{% macro window_start() -%}
({{ window_end() }} - INTERVAL {{ var('days') | int }} DAY + INTERVAL 1 DAY)::DATE
{%- endmacro %}

{#- numerator / denominator, NULL when nothing was sent. -#}
{% macro rate(numerator, denominator) -%}
{{ numerator }} / nullif({{ denominator }}, 0)
{%- endmacro %}
