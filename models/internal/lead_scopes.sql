{{ config(schema='internal') }}
-- Each lead in at least one segment, with its workspace and whether one of its segments is
-- the workspace's own rather than a global one (a lead matches a workspace's segment only
-- in that workspace, SPEC §3): whose ranked scope its sends belong to, as
-- workspace_performance_hourly counts them. A table built once per run: computed in that
-- model, each slice of sends repeated it (25 s of a scale-l run, 11 slices). And the number
-- of its set of segments (segment_sets; none for a lead in one segment), which
-- segment_set_sends_daily counts sends by: looked up once here, not by each slice there.
select l.lead_id, l.workspace_id, own.lead_id is not null as in_workspace_segment, sets.set_id
from {{ ref('lead_segments') }} as l
left join (select distinct lead_id from {{ ref('segment_leads') }}
           where segment_id in (select segment_id from {{ ref('segments') }} where workspace_id is not null)) as own
  using (lead_id)
left join {{ ref('segment_sets') }} as sets using (segment_ids)
where array_length(l.segment_ids) > 0
