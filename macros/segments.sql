{#-
  Encoding lead attributes for segment membership (models/internal/lead_segments.sql).

  `encode(column, values)`: a lead's match key as its 1-based position among the
  values the filters mention (0 = no filter mentions it), so that each filter
  compares small integers instead of strings. Values are quoted literals.
-#}
{% macro encode(column, values) -%}
coalesce(list_position({{ literal(values) }}::VARCHAR[], {{ column }}), 0)
{%- endmacro %}

{% macro encode_tags(column, values) -%}
list_filter(list_transform({{ column }}, t -> list_position({{ literal(values) }}::VARCHAR[], t)), t -> t IS NOT NULL)
{%- endmacro %}
