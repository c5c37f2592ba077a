{{ config(schema='internal') }}

-- Each lead with the ids of the segments it matches now (`segment_ids`, ascending):
-- its filters and the workspace rule of SPEC §3, evaluated for every segment in one
-- pass over the leads. How: segpipe/membership.py; why a lead is in or out:
-- `segpipe why SEGMENT LEAD_ID`.
{{ segment_membership(ref('stg_leads')) }}
