{#-
  The (segment, send) pairs every per-segment performance table sums, as the CTEs
  `timed_sends`, `sends` and `attributed` (write `with {{ attributed_sends(since) }} select …
  from attributed`).
  Attribution (vars.attribution): 'matching' counts a send for every segment its lead
  matches now; 'campaign' only for its campaign's segment. `since`: the first day an
  incremental run recomputes (recompute_since()).
-#}
{% macro attributed_sends(since) -%}
{{ narrow_sends(since) }},

attributed as (
    -- SPEC §4: a send to a lead not in `leads` counts for no segment (the joins to the
    -- leads drop it), nor does one whose campaign is of another workspace than its lead
{%- if var('attribution') == 'campaign' %}
    -- nor, for the campaign's segment, one to a lead of another workspace than the segment's
    {{ campaign_sends('sends.campaign_segment_id as segment_id') }}
{%- elif is_incremental() %}
    -- a few days of sends, joined to the membership rows of their leads alone (hashing a
    -- million lead lists cost twice as much). Joined to all of segment_leads, DuckDB hashed those
    -- rows instead of the sends whenever it estimated the sends' rows wider (the campaign table's:
    -- 0.25 s against 0.12 s at scale m); this way either side it hashes is small.
    select members.segment_id, sends.*
    from sends
    join (select lead_id, workspace_id, segment_id from {{ ref('segment_leads') }}
          where lead_id in (select lead_id from sends)) as members using (lead_id)
    where {{ same_workspace('sends.campaign_workspace_id', 'members.workspace_id') }}
{%- else %}
    -- depends_on: {{ ref('segment_leads') }} (read by the incremental branch above)
    -- all sends joined to one list per lead (not to every membership row), then unnested;
    -- leads in no segment are left out first, which also makes DuckDB build its hash
    -- table on the leads, not on the ten times larger sends
    select unnest(leads.segment_ids) as segment_id, sends.*
    from sends
    join (select lead_id, workspace_id, segment_ids from {{ ref('lead_segments') }} where array_length(segment_ids) > 0) as leads
      using (lead_id)
    where {{ same_workspace('sends.campaign_workspace_id', 'leads.workspace_id') }}
{%- endif %}
)
{%- endmacro %}

{#- The CTEs `timed_sends` (stg_sends with a send time, from `since`) and `sends` (one
    narrow row per send, the columns the counts need). -#}
{% macro narrow_sends(since) -%}
timed_sends as (
    {{ sends_since(since) }}
),

sends as (
    -- one row per send, narrow: attributed_sends' pairs are ~5 rows per send at scale m,
    -- and each column of a pair costs time in the join, the unnest and the aggregation
    select
        lead_id,
        campaign_segment_id,
        campaign_workspace_id,
        campaign_id,
        variant,
        sent_at,
        -- truncated once per send rather than once per (segment, send) pair: 0.5 s at scale m
        date_trunc('hour', sent_at)                   as sent_hour,
        opened,
        replied,
        bounced,
        coalesce(clicked, false)                      as clicked,
        coalesce(converted, false)                    as converted,
        -- a NULL flag: this send does not track clicks (conversions), so it is no denominator
        clicked is not null                           as clicks_tracked,
        converted is not null                         as conversions_tracked,
        -- response time in whole microseconds (NULL without a timed reply): exact, so any
        -- window's average is reproducible
        case when replied and replied_at is not null
             then datediff('microsecond', sent_at, replied_at) end as response_micros
    from timed_sends
)
{%- endmacro %}

{#- Each send counted for at least one segment, once, as the CTE `counted` (after
    narrow_sends' two): the same sends as `attributed`, not repeated per segment, with the
    lead's `workspace_id` and `in_workspace_segment`: whether a segment it counts for is the
    workspace's own rather than a global one (what `--workspace-id` ranks). -#}
{% macro counted_sends(since) -%}
{{ narrow_sends(since) }},

counted as (
{%- if var('attribution') == 'campaign' %}
    {{ campaign_sends('leads.workspace_id, segments.workspace_id is not null as in_workspace_segment') }}
{%- else %}
    select leads.workspace_id, leads.in_workspace_segment, sends.*
    from sends
    join {{ ref('lead_scopes') }} as leads using (lead_id)
    where {{ same_workspace('sends.campaign_workspace_id', 'leads.workspace_id') }}
{%- endif %}
)
{%- endmacro %}

{#- Under campaign attribution, each send its campaign's segment counts (SPEC §4, as in
    attributed_sends), with `columns` of its lead (`leads`) and that segment (`segments`). -#}
{% macro campaign_sends(columns) -%}
select {{ columns }}, sends.*
    from sends
    join {{ ref('lead_segments') }} as leads using (lead_id)
    join {{ ref('segments') }} as segments on segments.segment_id = sends.campaign_segment_id
    where {{ same_workspace('sends.campaign_workspace_id', 'leads.workspace_id') }}
      and {{ same_workspace('segments.workspace_id', 'leads.workspace_id') }}
{%- endmacro %}

{#- The sends with a send time, and in an incremental run only those of the days from
    `since` (in a build a slice at a time, those of the slice): sends timed by their own
    sent_at, then those timed by their campaign's (two selects, each a filter DuckDB pushes
    into the Parquet scan, so other row groups are skipped; `sent_at >= …` on the coalesced
    time would read every row). -#}
{% macro sends_since(since) -%}
{%- if is_incremental() or batch -%}
select * from {{ ref('stg_sends') }} where {{ sent_from(since, 'own_sent_at') }}
    union all
    select * from {{ ref('stg_sends') }} where own_sent_at is null and {{ sent_from(since, 'campaign_sent_at') }}
{%- else -%}
select * from {{ ref('stg_sends') }} where sent_at is not null
{%- endif -%}
{%- endmacro %}

{#- `column` from `since` on, and before the slice's end in a build a slice at a time. -#}
{% macro sent_from(since, column) -%}
{{ column }} >= TIMESTAMP {{ since }}{% if batch %} and {{ column }} < TIMESTAMP {{ batch.end }}{% endif %}
{%- endmacro %}

{#- The counts every performance table carries, from `attributed` pairs. count(*) FILTER
    over booleans, not sum() over 0/1 integers nor count_if(): DuckDB keeps those in 128-bit
    states and returns HUGEINT, which made the hourly aggregation 6.0 s against 4.4 s at
    scale m, and every later sum of the table 5x slower. -#}
{% macro send_counts() -%}
    count(*)                                        as leads_sent,
    count(*) filter (where opened)                  as opened,
    count(*) filter (where replied)                 as replied,
    count(*) filter (where bounced)                 as bounced,
    count(*) filter (where clicked)                 as clicked,
    count(*) filter (where converted)               as converted,
    count(*) filter (where clicks_tracked)          as clicks_tracked,
    count(*) filter (where conversions_tracked)     as conversions_tracked,
    count(response_micros)                          as timed_replies,
    coalesce(sum(response_micros), 0)::bigint       as response_micros_sum
{%- endmacro %}

{#- config(batches=…) of the tables that sum the sends: a full build aggregates one slice of
    whole months at a time (materialize.replace_in_batches), each slice starting once the
    months before it hold another `sends_per_batch` sends (the first slice also takes
    earlier sends, the last later ones). Memory grows with the sends of a slice, not of all
    history; each slice costs a join of its sends to the leads, so they are not smaller.
    `vars.sends_per_batch` (default 4M) sets the size. -#}
{% macro send_batches() -%}
select min(month) from (
    select month, coalesce(sum(sends) over (order by month rows between unbounded preceding and 1 preceding), 0)
                  // {{ var('sends_per_batch', 4000000) | int }} as batch
    from (select cast(date_trunc('month', own_sent_at) as date) as month, count(*) as sends
          from {{ ref('stg_sends') }} where own_sent_at is not null group by 1)
) group by batch
{%- endmacro %}
