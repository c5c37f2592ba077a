{{ config(schema='internal') }}

-- The sends the data-quality checks report (SPEC §12; the tests in internal.yml): to a
-- lead not in `leads`, of a campaign not in `campaigns`, or of a campaign of another
-- workspace than the lead's. Such a send counts for no segment (SPEC §4), so without a
-- warning the figures would just be quietly smaller. Usually empty: one pass over the
-- sends here, and the checks read a few rows instead of joining the sends again each.
select
    s.send_id,
    s.lead_id,
    s.campaign_id,
    s.sent_at,
    s.campaign_workspace_id,
    l.workspace_id                          as lead_workspace_id,
    l.lead_id is not null                   as lead_known,
    s.campaign_known
from {{ ref('stg_sends') }} as s
left join {{ ref('stg_leads') }} as l using (lead_id)
where l.lead_id is null
   or not s.campaign_known
   or s.campaign_workspace_id <> l.workspace_id
