-- Outcomes per segment, campaign, variant and UTC day of send, over all history: the
-- one pass over the sends. segment_performance_daily sums it per segment and day, so
-- `segpipe campaigns` (which reads this table) agrees with `segpipe top` by construction.
-- Attribution (vars.attribution): 'matching' counts a send for every segment
-- its lead matches now; 'campaign' only for its campaign's segment.
--
-- Incremental: a rerun recomputes only the days from the last built day minus
-- vars.lookback_days (late replies and late-arriving sends land there); when
-- segments or lead attributes change, membership changes and the whole table
-- is rebuilt. `segpipe run --full-refresh` always rebuilds it.
{%- if is_incremental() %}
{#- a literal date, not a subquery: DuckDB skips Parquet row groups only for constants #}
{%- set since = literal(run_query("select coalesce(cast(max(day) - " ~ (var('lookback_days', 3) | int)
                                  ~ " as varchar), '-infinity') from " ~ this)[0][0]) %}
{%- else %}
{%- set since = "'-infinity'" %}
{%- endif %}
{{ config(
    materialized='incremental',
    unique_key=['segment_id', 'campaign_id', 'variant', 'day'],
    incremental_predicates=["day >= DATE " ~ since],
    full_refresh_on=['lead_segments', 'segments'],
) }}

with timed_sends as (
{%- if is_incremental() %}
    -- the days from `since` only: sends timed by their own sent_at, then those timed by
    -- their campaign's (two selects, each a filter DuckDB pushes into the Parquet scan)
    select * from {{ ref('stg_sends') }} where own_sent_at >= TIMESTAMP {{ since }}
    union all
    select * from {{ ref('stg_sends') }} where own_sent_at is null and campaign_sent_at >= TIMESTAMP {{ since }}
{%- else %}
    select * from {{ ref('stg_sends') }} where sent_at is not null
{%- endif %}
),

sends as (
    -- one row per send, its outcomes already as the numbers to sum
    select
        lead_id,
        campaign_id,
        campaign_segment_id,
        variant,
        sent_at,
        cast(sent_at as date)                                     as day,
        opened::int                                               as opened,
        replied::int                                              as replied,
        bounced::int                                              as bounced,
        clicked::int                                              as clicked,
        converted::int                                            as converted,
        -- response time in whole microseconds: exact, so any window's average is reproducible
        case when replied then datediff('microsecond', sent_at, replied_at) end as response_micros
    from timed_sends
),

attributed as (
{%- if var('attribution') == 'campaign' %}
    select sends.campaign_segment_id as segment_id, sends.*
    from sends
    where sends.campaign_segment_id in (select segment_id from {{ ref('segments') }})
{%- elif is_incremental() %}
    -- a few days of sends: joined to the membership rows, so DuckDB hashes these sends
    -- and streams segment_leads past them (hashing a million lead lists cost twice as much)
    select members.segment_id, sends.*
    from sends
    join {{ ref('segment_leads') }} as members using (lead_id)
{%- else %}
    -- depends_on: {{ ref('segment_leads') }} (read by the incremental branch above)
    -- all sends joined to one list per lead (not to every membership row), then unnested;
    -- leads in no segment are left out first, which also makes DuckDB build its hash
    -- table on the leads, not on the ten times larger sends
    select unnest(leads.segment_ids) as segment_id, sends.*
    from sends
    join (select lead_id, segment_ids from {{ ref('lead_segments') }} where len(segment_ids) > 0) as leads
      using (lead_id)
{%- endif %}
),

per_campaign as (
    select
        segment_id::bigint                              as segment_id,
        campaign_id,
        variant,
        day,
        min(sent_at)                                    as first_sent_at,
        max(sent_at)                                    as last_sent_at,
        count(*)                                        as leads_sent,
        -- bigint, not sum()'s hugeint: readers sum these again, and hugeint sums are slow
        sum(opened)::bigint                             as opened,
        sum(replied)::bigint                            as replied,
        sum(bounced)::bigint                            as bounced,
        sum(clicked)::bigint                            as clicked,
        sum(converted)::bigint                          as converted,
        count(response_micros)                          as timed_replies,
        coalesce(sum(response_micros), 0)::bigint       as response_micros_sum
    from attributed
    group by segment_id, campaign_id, variant, day
)

-- the campaign's name joined after aggregating: one lookup per row here, not per send
select
    p.segment_id,
    p.campaign_id,
{%- if source_exists('campaigns') %}
    c.name                                          as campaign_name,
{%- else %}
    cast(null as varchar)                           as campaign_name,
{%- endif %}
    p.variant,
    p.day,
    p.first_sent_at,
    p.last_sent_at,
    p.leads_sent,
    p.opened,
    p.replied,
    p.bounced,
    p.clicked,
    p.converted,
    p.timed_replies,
    p.response_micros_sum
from per_campaign as p
{%- if source_exists('campaigns') %}
left join {{ source('campaigns') }} as c on c.id = p.campaign_id
{%- endif %}
