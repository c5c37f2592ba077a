{#-
  Segment membership, computed in one pass over the leads.

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

{#-
  The ids of the segments a lead belongs to, as one list per lead. Each
  segment's filters become one predicate (`segment_predicate`, every value a
  quoted literal or its integer code); a lead is tested only against the
  segments of its own workspace and the global ones.
-#}
{% macro segment_ids_matching(segments, vocabulary) -%}
{%- set global_segments = segments | selectattr('workspace_id', 'none') | list -%}
{%- set workspace_ids = segments | rejectattr('workspace_id', 'none') | map(attribute='workspace_id') | unique | sort -%}
{%- if workspace_ids %}
case workspace_id
    {%- for workspace_id in workspace_ids %}
    when {{ workspace_id }} then {{ matching_list(global_segments + (segments | selectattr('workspace_id', 'equalto', workspace_id) | list), vocabulary) }}
    {%- endfor %}
    else {{ matching_list(global_segments, vocabulary) }}
end
{%- else -%}
{{ matching_list(global_segments, vocabulary) }}
{%- endif -%}
{%- endmacro %}

{% macro matching_list(segments, vocabulary) -%}
{%- if segments -%}
list_filter([
        {%- for segment in segments %}
        case when {{ segment_predicate(segment, vocabulary) }} then {{ segment.id }} end{{ "," if not loop.last }}
        {%- endfor %}
    ], id -> id is not null)
{%- else -%}
cast([] as bigint[])
{%- endif -%}
{%- endmacro %}
