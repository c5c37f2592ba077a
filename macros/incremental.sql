{#-
  The first day an incremental run recomputes: the relation's last built day minus
  vars.lookback_days (late replies and late-arriving sends land there), the last day being the
  as-of date at most: one send dated years ahead (a typo) would otherwise move the start past
  every send that comes later, and those went uncounted until a --full-refresh. Every table that sums
  the sends (macros/sends.sql) uses it, so they all recompute the same days. In a build a
  slice at a time (config `batches`), the slice's first day. A literal, not a subquery: DuckDB skips Parquet
  row groups only for constants. An incremental run also keeps it as config `recomputes_since`: files added
  to campaign_leads holding an older send get the model rebuilt in full (runner.py), not updated in place.
-#}
{% macro recompute_since(relation, day_column='day') -%}
{%- if batch -%}
{{ batch.start }}
{%- elif is_incremental() -%}
{%- set since = literal(run_query("select coalesce(cast(least(cast(max(" ~ day_column ~ ") as date), DATE "
                                  ~ literal(var('as_of')) ~ ") - " ~ (var('lookback_days', 3) | int)
                                  ~ " as varchar), '-infinity') from " ~ relation)[0][0]) -%}
{{ config(recomputes_since=since) }}{{ since }}
{%- else -%}
'-infinity'
{%- endif -%}
{%- endmacro %}

{#- The counts every performance table carries, summed from a finer-grained relation. -#}
{% macro summed_counts() -%}
    sum(leads_sent)::bigint             as leads_sent,
    sum(opened)::bigint                 as opened,
    sum(replied)::bigint                as replied,
    sum(bounced)::bigint                as bounced,
    sum(clicked)::bigint                as clicked,
    sum(converted)::bigint              as converted,
    sum(clicks_tracked)::bigint         as clicks_tracked,
    sum(conversions_tracked)::bigint    as conversions_tracked,
    sum(timed_replies)::bigint          as timed_replies,
    sum(response_micros_sum)::bigint    as response_micros_sum
{%- endmacro %}
