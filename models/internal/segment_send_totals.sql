{%- set since = recompute_since(this) %}
{{ config(
    schema='internal',
    materialized='incremental',
    incremental_predicates=["day >= DATE " ~ since],
    full_refresh_on=['lead_segments', 'segments'],
) }}
-- The one pass over the sends that every performance table is derived from.
-- Attribution (vars.attribution): 'matching' counts a send for every segment its lead
-- matches now; 'campaign' only for its campaign's segment.
--
-- Each (segment, send) pair is summed at two grains in the same hash aggregation
-- (GROUPING SETS: one scan and one join of the sends, not one per table):
--   grain 'hour':     segment x UTC hour of send  -> segment_performance_hourly and _daily
--   grain 'campaign': segment x campaign x variant x UTC day -> segment_campaign_daily
-- A finest grain (segment x campaign x variant x hour) would do too, but at scale m it
-- has nearly as many rows as there are (segment, send) pairs.
--
-- Incremental: a rerun recomputes only the days from the last built day minus
-- vars.lookback_days; when segments or lead attributes change, membership changes and
-- the whole table is rebuilt. `segpipe run --full-refresh` always rebuilds it.

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
    -- one row per send, its outcomes already as the counts to sum (summed_counts())
    select
        lead_id,
        campaign_segment_id,
        campaign_workspace_id,
        campaign_id,
        variant,
        sent_at,
        date_trunc('hour', sent_at)                               as hour,
        cast(sent_at as date)                                     as day,
        1                                                         as leads_sent,
        opened::int                                               as opened,
        replied::int                                              as replied,
        bounced::int                                              as bounced,
        coalesce(clicked, false)::int                             as clicked,
        coalesce(converted, false)::int                           as converted,
        -- a NULL flag: this send does not track clicks (conversions), so it is no denominator
        (clicked is not null)::int                                as clicks_tracked,
        (converted is not null)::int                              as conversions_tracked,
        (replied and replied_at is not null)::int                 as timed_replies,
        -- response time in whole microseconds: exact, so any window's average is reproducible
        case when replied and replied_at is not null
             then datediff('microsecond', sent_at, replied_at) else 0 end as response_micros_sum
    from timed_sends
),

attributed as (
    -- SPEC §4: a send to a lead not in `leads` counts for no segment (the joins to the
    -- leads drop it), nor does one whose campaign is of another workspace than its lead
{%- if var('attribution') == 'campaign' %}
    -- nor, for the campaign's segment, one to a lead of another workspace than the segment's
    select sends.campaign_segment_id as segment_id, sends.*
    from sends
    join {{ ref('lead_segments') }} as leads using (lead_id)
    join {{ ref('segments') }} as segments on segments.segment_id = sends.campaign_segment_id
    where {{ same_workspace('sends.campaign_workspace_id', 'leads.workspace_id') }}
      and {{ same_workspace('segments.workspace_id', 'leads.workspace_id') }}
{%- elif is_incremental() %}
    -- a few days of sends: joined to the membership rows, so DuckDB hashes these sends
    -- and streams segment_leads past them (hashing a million lead lists cost twice as much)
    select members.segment_id, sends.*
    from sends
    join {{ ref('segment_leads') }} as members using (lead_id)
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

select
    case when grouping(hour) = 0 then 'hour' else 'campaign' end as grain,
    segment_id::bigint                              as segment_id,
    coalesce(day, cast(hour as date))               as day,
    hour,
    campaign_id,
    variant,
    -- bigint, not sum()'s hugeint: readers sum these again, and hugeint sums are slow
    {{ summed_counts() }},
    min(sent_at)                                    as first_sent_at,
    max(sent_at)                                    as last_sent_at
from attributed
group by grouping sets ((segment_id, hour), (segment_id, day, campaign_id, variant))
