"""Segment definitions: load and validate them, and turn filters into SQL predicates.

Filter values are user data. They never pass through Jinja as template text and
reach SQL only through `sql_literal`, which quotes them, so a value such as
`O'Brien; drop table x -- {{ 7*7 }}` is matched literally.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .project import Project, Source, parse_cache_file
from .yaml_files import LINE_KEYS, read_yaml, without_lines
from .sources import Loader
from .sql import SPACE_SEPARATORS, connect, sql_literal
from .suggest import did_you_mean

SEGMENT_KEYS = ("id", "name", "workspace_id", "description", "filters")
#: list filters → the staging column holding the lead's trimmed, lower-cased value
LIST_FILTERS = {
    "sources": "source_key",
    "countries": "country_key",
    "roles": "role_key",
    "company_sizes": "company_size_key",
    "industries": "industry_key",
}
FILTER_KEYS = (*LIST_FILTERS, "tags", "min_score", "has_email")
#: Segments kept in a table, as an app stores them; `filters` is JSON text (or jsonb).
SEGMENT_COLUMNS = {
    "id": ("BIGINT", True), "workspace_id": ("BIGINT", False), "name": ("VARCHAR", True),
    "description": ("VARCHAR", False), "filters": ("VARCHAR", False),
}


@dataclass(frozen=True)
class Segment:
    id: int
    name: str
    workspace_id: int | None
    description: str | None
    filters: dict  # normalised: list filters hold lower-cased, trimmed strings
    #: the filters as the user wrote them (a single value as a one-item list, no-restriction
    #: keys left out): what the published `segments.filters` shows, "US" rather than "us"
    written: dict | None = field(default=None, compare=False)

    @property
    def filters_json(self) -> str:
        return json.dumps(self.filters if self.written is None else self.written, sort_keys=True)


def segment_predicate(segment: Segment) -> str:
    """SQL boolean over `stg_leads` columns: true when the lead belongs to the segment
    (one segment at a time; segment_membership() does all of them at once)."""
    def values_sql(key: str) -> str:
        return ", ".join(sql_literal(v) for v in segment.filters[key])

    terms = []
    if segment.workspace_id is not None:
        terms.append(f"workspace_id = {sql_literal(segment.workspace_id)}")
    for key, column in LIST_FILTERS.items():
        if segment.filters.get(key):
            terms.append(f"{column} IN ({values_sql(key)})")
    if segment.filters.get("tags"):
        terms.append(f"list_has_any(tag_keys, [{values_sql('tags')}]::VARCHAR[])")
    if segment.filters.get("min_score") is not None:
        terms.append(f"(score >= {sql_literal(segment.filters['min_score'])} and not isnan(score))")
    if segment.filters.get("has_email") is not None:
        terms.append("has_email" if segment.filters["has_email"] else "NOT has_email")
    return " AND ".join(terms) or "true"


def load_segments(project: Project) -> list[Segment]:
    """The project's segments, from its YAML file or its table. A missing file is an error,
    not zero segments: a run would publish empty figures for what is a typo in a path."""
    if isinstance(project.segments, Path):
        if not project.segments.exists():
            raise ConfigError(f"{project.relpath(project.segments)}: no such segments file — write your "
                              "segments there (`segpipe init DIR` makes an example) or point 'segments' "
                              "in project.yml at yours")
        return load_segments_file(project.segments, cache=parse_cache_file(project, project.segments))
    return read_segments_table(project, project.segments)


def load_segments_file(path: Path, cache: Path | None = None) -> list[Segment]:
    """Read and validate a segments YAML file (SPEC §3); any problem is one ConfigError.
    With `cache`, an unchanged file's parse is reused (see parse_cache.py)."""
    path = Path(path)
    document = read_yaml(path, "the segments file", cache=cache, lines=True)
    if document is None:
        return []
    if not isinstance(document, dict) or not isinstance(document.get("segments", []), (list, type(None))):
        raise ConfigError(f"{path}: expected a top-level 'segments:' list")
    extra = [k for k in _keys(document) if k != "segments"]
    if extra:
        raise ConfigError(f"{path}:{_line_of(document, extra[0])}: unknown top-level key '{extra[0]}'"
                          f"{did_you_mean(extra[0], ['segments'])}")
    entries = document.get("segments") or []
    return validate_segments(entries, lambda i, entry, line=None: _where_in_file(path, i, entry, line))


def _where_in_file(path: Path, index: int, entry, line: int | None = None) -> str:
    """`file:line: segment N`: the line of the key at fault, else of the segment."""
    line = line or (entry.get("__line__") if isinstance(entry, dict) else None)
    named = isinstance(entry, dict) and isinstance(entry.get("id"), (int, float, str))  # not a list or mapping
    label = f"segment {entry['id']}" if named else f"segment #{index + 1}"
    return f"{path}:{line}: {label}" if line else f"{path}: {label}"


def _keys(mapping: dict) -> list:
    """A parsed mapping's own keys, without the line bookkeeping of yaml_files.yaml_loader."""
    return [key for key in mapping if key not in LINE_KEYS]


def _line_of(mapping, key) -> int | None:
    """The line of `key` in a mapping parsed with lines (None for one from a table)."""
    return mapping.get("__keys__", {}).get(key) if isinstance(mapping, dict) else None


def segments_from_rows(rows, table: str) -> list[Segment]:
    """Segments stored as an app keeps them: (id, workspace_id, name, description, filters JSON)."""
    entries = []
    for row_id, workspace_id, name, description, filters in rows:
        if isinstance(filters, str):
            try:
                filters = json.loads(filters) if filters.strip() else None
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{table}: segment {row_id}: 'filters' is not valid JSON ({exc.msg} at char {exc.pos}) — store a JSON object such as {{\"countries\": [\"US\"]}}") from None
        reserved = [key for key in LINE_KEYS if isinstance(filters, dict) and key in filters]
        if reserved:  # a name the YAML bookkeeping uses, which validation skips: not a key to lose silently
            raise ConfigError(f"{table}: segment {row_id}: filters: unknown key '{reserved[0]}' "
                              f"(valid keys: {', '.join(FILTER_KEYS)})")
        entries.append({"id": row_id, "workspace_id": workspace_id, "name": name,
                        "description": description, "filters": filters})
    return validate_segments(entries, lambda i, entry, line=None: f"{table}: segment {entry.get('id', f'#{i + 1}')}")


def read_segments_table(project: Project, source: Source) -> list[Segment]:
    """Segments kept in a table or file (id, workspace_id, name, description, filters
    as JSON), validated exactly like segments.yml."""
    con = connect()
    loader = Loader(con, project)
    try:
        where = loader.where(source)
        loader.load(source, "raw_segments", SEGMENT_COLUMNS)
        rows = con.execute("SELECT id, workspace_id, name, description, filters FROM raw_segments ORDER BY id").fetchall()
    finally:
        loader.detach_all()
        con.close()
    return segments_from_rows(rows, where)


def write_segments_table(con, segments: list[Segment]) -> int:
    """`src.segments` from validated segments, every value a bound parameter; its rows."""
    con.execute("CREATE SCHEMA IF NOT EXISTS src")
    con.execute("CREATE OR REPLACE TABLE src.segments (segment_id BIGINT, segment_name VARCHAR, "
                "workspace_id BIGINT, description VARCHAR, filters JSON)")
    rows = [[s.id, s.name, s.workspace_id, s.description, s.filters_json] for s in segments]
    # One JSON parameter: executemany costs a round trip per row (0.4 s for 200 segments),
    # and binding 1,000 Python values one by one still 0.1 s; this takes 3 ms.
    con.execute("INSERT INTO src.segments SELECT (r->>0)::BIGINT, r->>1, (r->>2)::BIGINT, r->>3, (r->>4)::JSON "
                "FROM (SELECT unnest(CAST($rows AS JSON[])) AS r)", {"rows": json.dumps(rows)})
    return len(segments)


def validate_segments(entries, where_of) -> list[Segment]:
    """Validate raw segment mappings; `where_of(index, entry, line=None)` names one in
    messages (at `line`, the line of the key at fault, when the source has lines)."""
    if not isinstance(entries, list):
        raise ConfigError(f"{where_of(0, {})}: expected a list of segments")
    segments, seen = [], {}
    for index, entry in enumerate(entries):
        segment = _segment(entry, lambda line=None, i=index, e=entry: where_of(i, e, line))
        if segment.id in seen:
            raise ConfigError(f"{where_of(index, entry, _line_of(entry, 'id'))}: duplicate id {segment.id} (also used "
                              f"by '{seen[segment.id]}') — give each segment its own id")
        seen[segment.id] = segment.name
        segments.append(segment)
    return segments


#: ids and workspace ids are stored as BIGINT: a signed 64-bit integer
BIGINT_MAX = 2**63 - 1


def _segment(entry, where) -> Segment:
    """One validated segment; `where(line)` names it in messages (see validate_segments)."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{where()}: expected a mapping with id, name and filters")
    at = lambda key: where(_line_of(entry, key))  # noqa: E731  the place of one key
    _reject_unknown(entry, SEGMENT_KEYS, where, "")
    seg_id = entry.get("id")
    if seg_id is None:
        raise ConfigError(f"{where()}: missing 'id' — give a unique positive integer")
    if isinstance(seg_id, bool) or not isinstance(seg_id, int) or not 0 < seg_id <= BIGINT_MAX:
        raise ConfigError(f"{at('id')}: 'id' must be a positive integer{_beyond_64_bits(seg_id)}, got {without_lines(seg_id)!r}")
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"{at('name')}: 'name' must be text, got {without_lines(name)!r} — quote it: name: '{name}'")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{at('name') if 'name' in entry else where()}: missing 'name' — every segment needs a non-empty name")
    _no_nul(name, at("name"), "name")
    workspace_id = entry.get("workspace_id")
    if workspace_id is not None and (isinstance(workspace_id, bool) or not isinstance(workspace_id, int)
                                     or not -BIGINT_MAX - 1 <= workspace_id <= BIGINT_MAX):
        raise ConfigError(f"{at('workspace_id')}: 'workspace_id' must be an integer{_beyond_64_bits(workspace_id)} "
                          f"or omitted, got {without_lines(workspace_id)!r}")
    description = entry.get("description")
    if description is not None and not isinstance(description, str):
        raise ConfigError(f"{at('description')}: 'description' must be text")
    _no_nul(description, at("description"), "description")
    filters = _filters(entry.get("filters"), at("filters"), where)
    return Segment(seg_id, name, workspace_id, description, filters, _as_written(entry.get("filters"), filters))


def _beyond_64_bits(value) -> str:
    too_large = isinstance(value, int) and not isinstance(value, bool) and abs(value) > BIGINT_MAX
    return f" that fits in 64 bits (at most {BIGINT_MAX})" if too_large else ""


def _no_nul(text, where: str, key: str) -> None:
    """A NUL character ends a string in C and SQL: never a valid name or value."""
    if isinstance(text, str) and "\0" in text:
        raise ConfigError(f"{where}: {key} contains a NUL character (\\0) — remove it")


def _reject_unknown(mapping: dict, allowed, where, prefix: str) -> None:
    for key in _keys(mapping):
        if key not in allowed:
            hint = did_you_mean(key, allowed) or f" (valid keys: {', '.join(allowed)})"
            raise ConfigError(f"{where(_line_of(mapping, key))}: {prefix}unknown key '{key}'{hint}")


#: a number as YAML 1.2 writes it; PyYAML (YAML 1.1) reads `1e5` or `6e1` as text
NUMBER_TEXT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def _filters(raw, where_filters: str, where) -> dict:
    """Validated filters; `where(line)` names the segment at a line (the key's own)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where_filters}: 'filters' must be a mapping of filter keys")
    _reject_unknown(raw, FILTER_KEYS, where, "filters: ")
    filters = {}
    for key in _keys(raw):
        value = raw[key]
        at = f"{where(_line_of(raw, key))}: filters.{key}"
        if value is None or value == []:
            continue  # no restriction
        if key in LIST_FILTERS or key == "tags":
            filters[key] = _text_list(value, at)
        elif key == "min_score":
            filters[key] = _min_score(value, at)
        elif key == "has_email":
            if not isinstance(value, bool):
                raise ConfigError(f"{at} must be true or false, got {without_lines(value)!r}")
            filters[key] = value
    return filters


def _as_written(raw, filters: dict) -> dict:
    """The validated `filters` with each list filter's values as the user wrote them."""
    def written(key):
        values = without_lines(raw[key])
        return values if isinstance(values, list) else [values]
    return {key: written(key) if isinstance(value, list) else value for key, value in filters.items()}


def _min_score(value, at: str):
    """A number (scores are 0–100); numeric text such as `6e1` is read as YAML 1.2 would."""
    if isinstance(value, str) and NUMBER_TEXT.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{at} must be a number such as 60 (scores are 0–100), got {without_lines(value)!r}")
    if not math.isfinite(value) or abs(value) > BIGINT_MAX:
        raise ConfigError(f"{at}: {value!r} is beyond the range of a 64-bit number — scores are 0–100, use a number such as 60")
    return value


def match_key(value: str) -> str:
    """A filter value as stg_leads' match keys hold the leads' values (DuckDB's
    `lower(trim(…))`): space separators trimmed (a no-break space too), and each character
    lower-cased on its own. Python's str.lower() looks at whole words: it ends a word's Σ
    as ς and turns İ into i + U+0307, so 'ΔΙΕΥΘΥΝΤΗΣ' in a filter could never match the
    same word in a lead."""
    return "".join("i" if char == "\u0130" else char.lower() for char in value.strip(SPACE_SEPARATORS))


def _text_list(value, where: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    result = []
    for item in values:
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            # YAML reads an unquoted 010 as 8, 0x10 as 16 and 1.50 as 1.5: the text the user
            # meant is gone, and the segment would match none of the leads' '010'
            raise ConfigError(f"{where}: expected text, got the number {item!r} — quote each value as written, "
                              "e.g. ['010', '1.50'] (unquoted, YAML reads 010 as 8 and 1.50 as 1.5)")
        if isinstance(item, bool):
            # YAML 1.1 reads NO (Norway), yes, on and off unquoted as booleans: the text is gone
            written = "yes, on or true" if item else "no, off or false"
            raise ConfigError(f"{where}: expected text, got {str(item).lower()} — YAML reads an unquoted {written} "
                              f"(any case) as {str(item).lower()}; quote each value as written, e.g. ['NO', 'SE']")
        if not isinstance(item, str):
            raise ConfigError(f"{where}: expected a string or a list of strings, got {without_lines(item)!r}")
        if isinstance(item, str) and "\0" in item:
            raise ConfigError(f"{where}: {item!r} contains a NUL character (\\0) — remove it")
        normalised = match_key(item)
        if normalised and normalised not in result:
            result.append(normalised)
    if not result:  # '  ' is no value to match, and no restriction would match every lead
        raise ConfigError(f"{where}: only blank values — give a value to match, or remove the key for no restriction")
    return result
