-- An example project model: each .sql file in models/ becomes a table of the
-- published file, named after the file. Change it, or delete it.
--
-- segpipe's built-in models (`segpipe ls` lists them) are not copied here: they
-- ship with segpipe, so upgrading segpipe upgrades them. A file here named like
-- one of them (say models/segment_performance.sql) replaces it; keep the columns
-- segpipe's commands read, or `segpipe run` stops before publishing and says
-- which one is missing.
select segment_id, segment_name, leads_sent, replied, reply_rate
from {{ ref('segment_performance') }}
where leads_sent >= 10
order by reply_rate desc, segment_id
