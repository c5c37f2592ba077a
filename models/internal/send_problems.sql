{#- the days segment_performance_daily recomputes: its last day minus vars.lookback_days, read
    *before* it is updated (it is built after this model: its depends_on). Read after, new sends
    days later moved the start past late sends the performance tables still pick up, and their
    problems went unreported. A send older than that cannot have become a problem unless leads
    or campaigns changed, and then this table is rebuilt in full (full_refresh_on). The ref only
    in an incremental run, so the DAG holds no cycle. -#}
{%- set since = recompute_since(ref('segment_performance_daily') if is_incremental() else none) %}
{#- The sends without a send time have no day to recompute, and finding them reads every row of
    every file (0.15-0.3 s at scale m). An incremental run keeps those found before instead: only
    new sends can add one (leads, campaigns and segments rebuild this table in full), and new
    files or changed rows holding one rebuild it in full (full_refresh_on_untimed_sends, as older
    sends do through recompute_since). Unless a campaign id both has a send time from `since` and
    belongs to a campaign without one: the untimed copy of such a send (below, `reported`) is the
    one reported, so the run looks at every untimed send again. -#}
{%- set keeps_untimed = is_incremental() and run_query(
        "select count(*) from (select campaign_id from " ~ ref('stg_campaigns') ~ " group by campaign_id "
        ~ "having bool_or(sent_at >= TIMESTAMP " ~ since ~ ") and bool_or(sent_at is null))")[0][0] == 0 %}
{{ config(
    schema='internal',
    materialized='incremental',
    incremental_predicates=["day >= DATE " ~ since ~ ("" if keeps_untimed else " or day is null")],
    full_refresh_on=['lead_segments', 'campaigns', 'segments'],
    full_refresh_on_untimed_sends=keeps_untimed,
) }}
-- segment_performance_daily's last day, before this run, is where an incremental run starts

-- The sends the data-quality checks report (SPEC §12; the tests in internal.yml): to a
-- lead not in `leads`, of a campaign not in `campaigns`, or of a campaign of another
-- workspace than the lead's; under campaign attribution also of a campaign whose
-- segment_id names no segment, or a segment of another workspace than the lead's. Such a
-- send counts for no segment (SPEC §4), so without a warning the figures would just be
-- quietly smaller. And the sends without a send time (left out of every window), here
-- rather than tested on stg_sends: that has a row per campaign holding the send's
-- campaign id, and another workspace's campaign 10 without a sent_at made each send of
-- this workspace's campaign 10 (which has one) a send without a time, or one without
-- any two. Usually empty: one pass over the
-- sends here, and the checks read a few rows instead of joining the sends again each.
-- Incremental like segment_performance_daily: a rerun looks only at the recent sends.
with sends as (
    {{ sends_since(since) }}
{%- if not keeps_untimed %}
    union all
    select * from {{ ref('stg_sends') }} where own_sent_at is null and campaign_sent_at is null
{%- endif %}
),

-- the sent campaign_leads rows with their own sent_at whose id an earlier such row holds too
-- (an export appended twice): every row counts, so the figures grow without a word. Each copy
-- after the first (by that time; identical copies are all flagged, and merge below) is
-- reported, so the first keeps its report whatever copy comes later: an incremental run,
-- which recomputes only the recent days, then reports as a full build does (a copy of an
-- older send in a new file rebuilds this table in full). It looks at every row holding an id
-- of those days' rows, found by their own time in the Parquet scan, and within the range of
-- those ids: constants, so DuckDB skips the row groups of other ids (ids grow with time in an
-- export): 0.03 s at scale m, where reading every id took 0.2 s.
duplicate_rows as (
{%- if source_exists('campaign_leads') %}
    select id as send_id, sent_at as own_sent_at,
           sum(count(*)) over (partition by id order by sent_at) as copies_so_far
    from {{ source('campaign_leads') }}
    where sent and sent_at is not null and id in (
{%- if is_incremental() %}
{%- set recent_ids = "from " ~ source('campaign_leads') ~ " where sent and sent_at >= TIMESTAMP " ~ since %}
{%- set first_id, last_id = run_query("select min(id), max(id) " ~ recent_ids)[0] %}
        select id {{ recent_ids }})
      and id between {{ literal(first_id) }} and {{ literal(last_id) }}
{%- else %}
        select id from {{ source('campaign_leads') }}
        where sent and sent_at is not null
        group by id
        having count(*) > 1)
{%- endif %}
    group by id, sent_at
{%- else %}
    -- sends from lead metadata: one per lead
    select cast(null as bigint) as send_id, cast(null as timestamp) as own_sent_at,
           cast(null as bigint) as copies_so_far
    where false
{%- endif %}
),

candidates as (
    select
        s.send_id,
        s.lead_id,
        s.campaign_id,
        s.sent_at,
        s.campaign_workspace_id,
        l.workspace_id                          as lead_workspace_id,
        l.lead_id is not null                   as lead_known,
        s.campaign_known,
        s.campaign_segment_id,
        s.own_sent_at,
        d.send_id is not null                   as duplicate_id,
        case when s.replied then s.replied_at end as replied_at,
{%- if var('attribution') == 'campaign' %}
        seg.segment_id is not null              as campaign_segment_known,
        seg.workspace_id                        as campaign_segment_workspace_id,
{%- else %}
        -- a campaign's segment_id counts for nothing under matching attribution
        true                                    as campaign_segment_known,
        cast(null as bigint)                    as campaign_segment_workspace_id,
{%- endif %}
        cast(s.sent_at as date)                 as day
    from sends as s
    -- lead_segments: every lead of stg_leads, as a table (stg_leads is a view that would
    -- normalise a million leads again on every incremental run)
    left join {{ ref('lead_segments') }} as l using (lead_id)
    left join duplicate_rows as d
      on d.send_id = s.send_id and d.own_sent_at = s.own_sent_at and d.copies_so_far > 1
{%- if var('attribution') == 'campaign' %}
    left join {{ ref('segments') }} as seg on seg.segment_id = s.campaign_segment_id
{%- else %}
    -- depends_on: {{ ref('segments') }} (read under campaign attribution)
{%- endif %}
    where l.lead_id is null
       or not s.campaign_known
       or s.campaign_workspace_id <> l.workspace_id
       -- without a send time: this row is the send's own unless another workspace's copy (below)
       or s.sent_at is null
       or d.send_id is not null
       -- a reply timed before its send: counted, but its response time is negative
       or (s.replied and s.replied_at < s.sent_at)
{%- if var('attribution') == 'campaign' %}
       or (s.campaign_segment_id is not null and seg.segment_id is null)
       or seg.workspace_id <> l.workspace_id
{%- endif %}
),

-- Campaign ids are numbered per workspace, so stg_sends has one row per campaign holding the
-- send's id. The row of another workspace's campaign is no problem when the lead's own
-- workspace has a campaign of that id (the send counted, by that row, and has that row's
-- send time), and a send reported is reported once: by its copy of the latest send time (no
-- time counting as the latest), then of the lowest workspace. Copies timed by their campaigns
-- can straddle the days an incremental run recomputes; the latest is the one it sees whenever
-- it sees any, so it never adds a second copy beside one kept from before (the lowest
-- workspace's could lie before those days).
-- The copies of one row share its own sent_at: two rows of one id with their own times (a send
-- exported again, re-timed) are two sends, as the performance tables count them, each reported
-- in its own days (merged, the older one was kept beside the newer one an incremental run adds).
reported as (
    select
        p.*,
        row_number() over (partition by p.send_id, p.lead_id, p.campaign_id, p.own_sent_at
                           order by p.sent_at desc nulls first, p.campaign_workspace_id nulls first) as copy
    from candidates as p
    left join {{ ref('stg_campaigns') }} as own
      on own.campaign_id = p.campaign_id and own.workspace_id = p.lead_workspace_id
    where own.campaign_id is null or not coalesce(p.campaign_workspace_id <> p.lead_workspace_id, false)
)

select
    send_id, lead_id, campaign_id, sent_at, campaign_workspace_id, lead_workspace_id, lead_known, campaign_known,
    campaign_segment_id, campaign_segment_known, campaign_segment_workspace_id, duplicate_id, replied_at, day
from reported
where copy = 1
