{#-
  The ids of the segments a lead belongs to, as one list per lead.

  Each segment's filters become one SQL predicate over the staging columns
  (`segment_predicate`, which quotes every filter value as a literal); a lead
  is checked against all segments in a single pass over the leads.
-#}
{% macro segment_ids_matching(segments) -%}
{%- if segments -%}
list_filter([
    {%- for segment in segments %}
    CASE WHEN {{ segment_predicate(segment) }} THEN {{ segment.id }} END{{ "," if not loop.last }}
    {%- endfor %}
], id -> id IS NOT NULL)
{%- else -%}
CAST([] AS BIGINT[])
{%- endif -%}
{%- endmacro %}
