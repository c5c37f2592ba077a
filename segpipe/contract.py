"""The contract of the published file: the relations segpipe's commands read, and their columns.

The built-in models publish these relations; a project may replace any of those
models (see overrides.py), so a run checks the built file against this list
before publishing it (`check`): a replaced model that drops a column `top` or
the drill-downs read stops the run with one line naming the relation and the
column, and the published file stays as it was. Every command reads these
relations through the names declared here, never through a name of its own:
`f"select … from {SEGMENTS}"`.

A new published table that a command or the HTTP API reads is declared here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import RunError
from .sql import META_SCHEMA, quote_ident

#: the counts every performance table carries (bigint, never null)
COUNTS = ("leads_sent", "opened", "replied", "bounced", "clicked", "converted",
          "clicks_tracked", "conversions_tracked", "timed_replies", "response_micros_sum")


@dataclass(frozen=True)
class Relation:
    """A published table: its schema, name, and the columns segpipe reads from it."""

    name: str
    columns: tuple[str, ...]
    schema: str = "main"
    #: the model that builds it; None for what the runner writes itself
    model: str | None = None

    def __str__(self) -> str:
        """The qualified name, ready for SQL."""
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"


SEGMENTS = Relation("segments", ("segment_id", "segment_name", "workspace_id", "description", "filters"),
                    model="segments")
SEGMENT_LEADS = Relation("segment_leads", ("segment_id", "lead_id", "workspace_id"), model="segment_leads")
LEADS = Relation("leads", ("lead_id", "workspace_id", "email", "source", "score", "country", "role",
                           "company_size", "industry", "tags"), model="leads")
SEGMENT_PERFORMANCE_DAILY = Relation("segment_performance_daily", ("segment_id", "day", *COUNTS),
                                     model="segment_performance_daily")
SEGMENT_PERFORMANCE_HOURLY = Relation("segment_performance_hourly", ("segment_id", "hour", *COUNTS),
                                      model="segment_performance_hourly")
#: every send counted for some segment, once, by UTC hour and lead workspace: best-time without a segment
WORKSPACE_PERFORMANCE_HOURLY = Relation("workspace_performance_hourly",
                                        ("hour", "workspace_id", "in_workspace_segment", *COUNTS),
                                        model="workspace_performance_hourly")
#: what segment_performance computes from its counts over the window
WINDOW_FIGURES = ("open_rate", "reply_rate", "bounce_rate", "click_rate", "conversion_rate", "avg_response_hours")
SEGMENT_PERFORMANCE = Relation("segment_performance", (
    "segment_id", "segment_name", "workspace_id", *COUNTS[:8], *WINDOW_FIGURES), model="segment_performance")
SEGMENT_CAMPAIGN_DAILY = Relation("segment_campaign_daily", (
    "segment_id", "campaign_id", "campaign_workspace_id", "campaign_name", "variant", "day", "first_sent_at",
    "last_sent_at", *COUNTS),
    model="segment_campaign_daily")
#: sends per UTC day and set of segments (2+) their lead is in: what `compare` counts shared sends from
SEGMENT_SET_SENDS_DAILY = Relation("segment_set_sends_daily", ("day", "set_id", "leads_sent"),
                                   schema="internal", model="segment_set_sends_daily")
#: the sets, numbered: `compare` finds the sets holding both segments here
SEGMENT_SETS = Relation("segment_sets", ("set_id", "segment_ids"), schema="internal", model="segment_sets")
#: written by every run: what the file was built with (`vars` holds attribution, days, as_of;
#: `sources` the names of the sources it read)
RUN_INFO = Relation("run_info", ("built_at", "segpipe_version", "vars", "sources"), schema=META_SCHEMA)

RELATIONS = (SEGMENTS, SEGMENT_LEADS, LEADS, SEGMENT_PERFORMANCE_DAILY, SEGMENT_PERFORMANCE_HOURLY,
             WORKSPACE_PERFORMANCE_HOURLY, SEGMENT_PERFORMANCE, SEGMENT_CAMPAIGN_DAILY, SEGMENT_SET_SENDS_DAILY,
             SEGMENT_SETS, RUN_INFO)


#: what segpipe's commands compute with, by column name: a count or rate as text, or a day
#: as a timestamp, would be published and break every command that reads it. Ids are not
#: among them: a source may type its ids as text (`column_types`), and they pass through.
KINDS = {**dict.fromkeys((*COUNTS, *WINDOW_FIGURES), "a number"),
         "day": "a date", "hour": "a timestamp"}
NUMBER_TYPE = re.compile(r"U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL\(\d+,\s*\d+\)")


def _is(kind: str, data_type: str) -> bool:
    """Whether DuckDB's `data_type` holds `kind` (a KINDS value)."""
    if kind == "a number":
        return bool(NUMBER_TYPE.fullmatch(data_type))
    return data_type == "DATE" if kind == "a date" else data_type.startswith("TIMESTAMP")


KEEP = "keep the built-in model's columns when replacing it"


def missing(con, relations=RELATIONS) -> list[tuple[Relation, str | None, str, str]]:
    """(relation, column, what is wrong, how to fix it) for each break of the contract among
    `relations` in the database `con` is using; the column is None when the whole relation is missing."""
    present: dict[tuple[str, str], dict[str, str]] = {}
    for schema, table, column, data_type in con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_catalog = current_database() and table_name in (select unnest($names))",
            {"names": [r.name for r in relations]}).fetchall():
        present.setdefault((schema, table), {})[column] = data_type
    breaks = []
    for relation in relations:
        columns = present.get((relation.schema, relation.name))
        if columns is None:
            breaks.append((relation, None, f"is missing from {relation.schema}", _elsewhere(relation, present)))
            continue
        for column in relation.columns:
            kind = KINDS.get(column)
            if column not in columns:
                breaks.append((relation, column, f"has no column '{column}'", KEEP))
            elif kind and not _is(kind, columns[column]):
                breaks.append((relation, column, f"has column '{column}' as {columns[column]}, not {kind}",
                               "keep the built-in model's column types when replacing it"))
    return breaks


def _elsewhere(relation: Relation, present) -> str:
    """How to fix a missing relation: a model built into another schema (a config(schema=…))
    is moved back to the one the commands read."""
    schemas = sorted(schema for schema, table in present if table == relation.name and schema != relation.schema)
    if not schemas:
        return KEEP
    fix = "remove its config(schema=…)" if relation.schema == "main" else f"give it config(schema='{relation.schema}')"
    return f"it was built into schema {schemas[0]}: {fix}"


def check(con, relations=RELATIONS, origin_of=lambda model: None) -> None:
    """Raise RunError (exit 1) naming the first relation and column the built file lacks or
    holds with a type the commands cannot read. `origin_of(model name)` says which file
    built it, for the message."""
    breaks = missing(con, relations)
    if not breaks:
        return
    relation, _, what, fix = breaks[0]
    origin = origin_of(relation.model) if relation.model else None
    built_by = f" (built by {origin})" if origin else ""
    more = f" (and {len(breaks) - 1} more)" if len(breaks) > 1 else ""
    raise RunError(f"{relation.name}{built_by} {what}{more}, which segpipe's commands read — {fix}; nothing published")
