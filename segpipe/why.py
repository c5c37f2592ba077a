"""`segpipe why SEGMENT LEAD_ID`: why a lead is (or is not) in a segment, rule by rule.

Reads the published file only: the segment's filters as the run stored them
(`segments.filters`, values as written, compared trimmed and lower-cased), the lead's attributes, and
whether `segment_leads` lists the pair. Each rule of SPEC §3 that the segment
sets is checked on its own — the workspace rule, then every filter key — with
the lead's value as stored, the segment's values and whether it passes; the
verdict is that all pass. The lead's values are matched exactly as the
staging model does (DuckDB's `lower(trim(…))`), so the verdict agrees with the
published membership; `in_segment_leads` shows that it does.
"""

from __future__ import annotations

import json

from .contract import LEADS, SEGMENT_LEADS, SEGMENTS
from .drilldown import SCORE, find_segment, shown_score
from .errors import ConfigError
from .published import query
from .sql import SPACE_SEPARATORS
from .segments import FILTER_KEYS, LIST_FILTERS, match_key

#: list filter → the leads column it compares
LEAD_COLUMN = {"sources": "source", "countries": "country", "roles": "role",
               "company_sizes": "company_size", "industries": "industry"}
COLUMNS = ("rule", "lead_value", "segment_values", "passes")
#: what a blank email holds, as macros/match_keys.sql's has_text() sees it
BLANK = SPACE_SEPARATORS + "".join(map(chr, (9, 10, 11, 12, 13, 28, 29, 30, 31, 133)))

#: the lead's values, and its match keys computed as stg_leads computes them
LEAD_SQL = f"""
select workspace_id, email, source, {SCORE} as score, country, role, company_size, industry, tags,
       {', '.join(f"nullif(lower(trim({c})), '')" for c in LEAD_COLUMN.values())},
       list_filter(list_transform(coalesce(tags, []), t -> lower(trim(t))), t -> t <> '')
from {LEADS} as l
where l.lead_id = $lead_id
"""


def explain(con, segment: str, lead_id: int) -> dict:
    """The JSON value of `segpipe why`: the segment, the lead, one check per rule, the verdict."""
    found = find_segment(con, segment)
    filters = json.loads(query(con, f"select filters from {SEGMENTS} where segment_id = $id", {"id": found.id})[0][0] or "{}")
    rows = query(con, LEAD_SQL, {"lead_id": lead_id})
    if not rows:
        raise ConfigError(f"no lead with id {lead_id} in the published leads — `segpipe leads {found.id}` lists the segment's leads")
    lead = dict(zip(("workspace_id", "email", "source", "score", "country", "role", "company_size", "industry",
                     "tags", *LEAD_COLUMN, "tag_keys"), rows[0]))
    lead["has_email"] = bool((lead["email"] or "").strip(BLANK))
    filters = {key: _compared(values) if isinstance(values, list) else values for key, values in filters.items()}
    checks = [_check("workspace_id", lead["workspace_id"], found.workspace_id,
                     found.workspace_id is None or lead["workspace_id"] == found.workspace_id)]
    checks += [_filter_check(key, filters[key], lead) for key in sorted(filters, key=_spec_order)]
    listed = query(con, f"select count(*) from {SEGMENT_LEADS} where segment_id = $id and lead_id = $lead_id",
                   {"id": found.id, "lead_id": lead_id})[0][0] > 0
    return {"segment_id": found.id, "segment_name": found.name, "lead_id": lead_id,
            "member": all(check["passes"] for check in checks), "in_segment_leads": listed, "checks": checks}


def _compared(values: list) -> list:
    """A list filter's values as written, as the run compares them: trimmed, lower-cased, once each."""
    return list(dict.fromkeys(key for value in values if (key := match_key(value))))


def _spec_order(key: str) -> int:
    """Filter keys in SPEC §3's order (an unknown one last, to be reported)."""
    return FILTER_KEYS.index(key) if key in FILTER_KEYS else len(FILTER_KEYS)


def _check(rule: str, lead_value, segment_values, passes: bool) -> dict:
    return {"rule": rule, "lead_value": lead_value, "segment_values": segment_values, "passes": bool(passes)}


def _filter_check(key: str, values, lead: dict) -> dict:
    """One filter key of SPEC §3 applied to the lead (its match keys are already normalised)."""
    if key in LIST_FILTERS:
        return _check(key, lead[LEAD_COLUMN[key]], values, lead[key] in values)
    if key == "tags":
        return _check(key, lead["tags"], values, any(tag in values for tag in lead["tag_keys"]))
    if key == "min_score":
        score = lead["score"]
        return _check(key, shown_score(score), values, score is not None and score >= values)
    if key == "has_email":
        return _check(key, lead["email"], values, lead["has_email"] == values)
    raise ConfigError(f"segment filter '{key}' is not one segpipe knows — rebuild the file with `segpipe run`")


def render(result: dict, output_format: str) -> str:
    """The explanation as JSON, CSV (one row per check) or a table under its verdict."""
    from .output import formatted

    rows = [[check[c] for c in COLUMNS] for check in result["checks"]]
    if output_format == "table":
        rows = [[rule, _shown(value), "(any)" if rule == "workspace_id" and values is None else _shown(values),
                 "yes" if passes else "NO"] for rule, value, values, passes in rows]
    envelope = {k: v for k, v in result.items() if k != "checks"}
    return formatted(output_format, COLUMNS, rows, key="checks", envelope=envelope, title=_verdict(result),
                     text_columns=set(COLUMNS))


def _verdict(result: dict) -> str:
    who = (f"Lead {result['lead_id']} {'is' if result['member'] else 'is not'} in segment {result['segment_id']} "
           f"{result['segment_name']}")
    failed = [check["rule"] for check in result["checks"] if not check["passes"]]
    reason = f": it fails {', '.join(failed)}" if failed else ": it passes every rule"
    listed = "listed" if result["in_segment_leads"] else "not listed"
    return f"{who}{reason} (segment_leads: {listed})"


def _shown(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) if value else "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
