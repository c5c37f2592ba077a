"""The source contract (SPEC §2) and how a source's values become its types, on either engine.

Text values (CSV, SQLite, PostgreSQL text columns) are cast to the declared type, never
inferred, so "00123" stays text and "SAT" never becomes a date. Each engine's cast
reads more than it should, and differently (DuckDB rounds '1.6' to 2 and reads
'24:00:00' as the next day, Spark reads '1.5d'), so a value must first have one of the
forms here, which both engines read alike. Integers are whole numbers only; booleans
accept true/false/t/f/1/0/yes/no (and native booleans, and numbers 0/1); timestamps
with a zone are converted to UTC and naive ones are read as UTC. Without campaign
sources, sends come from leads.metadata (SPEC §5), whose values follow the same rules.
sources.py (DuckDB) and engines/spark_sources.py (Spark) load by these rules.
"""

from __future__ import annotations

import re

from .errors import ConfigError
from .project import Project, Source
from .sql import quote_ident, quote_str, sql_literal

#: SPEC §2: column → (type, required). Extra columns are kept as they come.
CONTRACT = {
    "workspaces": {"id": ("BIGINT", True), "name": ("VARCHAR", True)},
    "leads": {
        "id": ("BIGINT", True), "workspace_id": ("BIGINT", True), "email": ("VARCHAR", True),
        "source": ("VARCHAR", True), "score": ("DOUBLE", True), "country": ("VARCHAR", True),
        "role": ("VARCHAR", True), "company_size": ("VARCHAR", True), "industry": ("VARCHAR", True),
        "tags": ("VARCHAR[]", True), "created_at": ("TIMESTAMP", True), "metadata": ("JSON", False),
    },
    "campaigns": {
        "id": ("BIGINT", True), "workspace_id": ("BIGINT", True), "name": ("VARCHAR", True),
        "segment_id": ("BIGINT", False), "sent_at": ("TIMESTAMP", True),
    },
    "campaign_leads": {
        "id": ("BIGINT", True), "campaign_id": ("BIGINT", True), "lead_id": ("BIGINT", True),
        "sent": ("BOOLEAN", True), "opened": ("BOOLEAN", True), "replied": ("BOOLEAN", True),
        "bounced": ("BOOLEAN", True), "clicked": ("BOOLEAN", False), "converted": ("BOOLEAN", False),
        "sent_at": ("TIMESTAMP", False), "replied_at": ("TIMESTAMP", False), "variant": ("VARCHAR", False),
    },
}
TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")
TEXT_TYPES = ("VARCHAR", "JSON")
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                 "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")
FRACTION_TYPES = ("FLOAT", "DOUBLE", "REAL")
#: Text forms a column of each kind takes, on both engines, before the engine's own cast
#: reads them: each engine's cast takes more (DuckDB '1_000' and '24:00:00', Spark '1.5d'
#: and '0x1p3'), each differently. Regexes for RE2 and Java alike, backslash-free; spaces around are allowed.
#: A UTC offset is ±18:00 at most: Java's limit (Spark refused '+19:00', DuckDB read it).
INTEGER_FORM = " *[+-]?[0-9]+([.]0*)? *"  # 2.0 too: pandas writes a nullable integer column so
NUMBER_FORM = " *([+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?|(?i:[+-]?inf(inity)?|nan)) *"
#: A zone or offset follows the seconds: DuckDB refuses '10:00+02' and '10:00 Europe/Paris'.
TIMESTAMP_FORM = (" *[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T]([01]?[0-9]|2[0-3]):[0-5]?[0-9](:[0-5]?[0-9]([.][0-9]+)?"
                  "(Z|[+-](0[0-9]|1[0-7])(:?[0-5][0-9])?|[+-]18(:?00)?| UTC| GMT| [A-Za-z_]+/[A-Za-z0-9_/+-]+)?)?)? *")
#: Why a value holding a NUL character is refused, and what to do
NUL_HINT = "a NUL character (\\x00) is no text; remove it (a file full of them is UTF-16: save it as UTF-8)"
#: SPEC §5: what the fallback reads from a send's leads.metadata (macros/metadata.sql), by type
METADATA_KEYS = {"sent_at": "TIMESTAMP", "replied_at": "TIMESTAMP", "opened": "BOOLEAN", "replied": "BOOLEAN",
                 "bounced": "BOOLEAN", "clicked": "BOOLEAN", "converted": "BOOLEAN"}


def sends_from_metadata(project: Project) -> bool:
    """Whether sends are read from leads.metadata: the project has no campaign sources (SPEC §5)."""
    return "leads" in project.sources and "campaign_leads" not in project.sources


def loaded_contract(contract: dict, from_metadata: bool) -> dict:
    """The contract a source loads by: with campaign sources leads.metadata is not read
    (SPEC §5), so it stays text and JSON that does not parse stops nothing."""
    if from_metadata or "metadata" not in contract:
        return contract
    return {**contract, "metadata": ("VARCHAR", False)}


def metadata_values(column: str) -> str:
    """SQL: the texts of METADATA_KEYS in JSON `column`, one list (the JSON is parsed once)."""
    return f"json_extract_string({column}, [{', '.join(quote_str('$.' + key) for key in METADATA_KEYS)}])"


def metadata_value(values: str):
    """`value` for metadata_problem: a key's text in the list `values` (metadata_values)."""
    return lambda key: f"{values}[{list(METADATA_KEYS).index(key) + 1}]"


def full_match(text: str, pattern: str) -> str:
    """SQL (DuckDB): whether all of `text` matches `pattern`."""
    return f"regexp_full_match({text}, {quote_str(pattern)})"


def metadata_problem(value, zoned: str = "TIMESTAMPTZ", matches=full_match) -> str:
    """SQL: the first of METADATA_KEYS whose text, `value(key)`, a CSV column of its type would
    refuse, else NULL; blank is unknown, as in a CSV, and a JSON true/false/number arrives as
    its text. Both engines' rule (`zoned`: the engine's type for a zoned time, `matches`: its
    full_match). The cheap test comes first: trimming and lower-casing every value would
    double the check's time."""
    words = ", ".join(map(sql_literal, TRUE_WORDS + FALSE_WORDS))
    cases = []
    for key, type_ in METADATA_KEYS.items():
        text = value(key)
        bad = (f"(NOT {matches(text, TIMESTAMP_FORM)} OR TRY_CAST({text} AS {zoned}) IS NULL) AND trim({text}) <> ''"
               if type_ == "TIMESTAMP"
               else f"{text} NOT IN ({words}) AND lower(trim({text})) NOT IN ({words}, '')")
        cases.append(f"WHEN {bad} THEN {quote_str(key)}")
    return f"CASE {' '.join(cases)} END"


def utc_time(text: str) -> str:
    """SQL (DuckDB): a time's text as a naive UTC TIMESTAMP (a zone or offset converted, naive
    read as UTC). DuckDB 1.5.5's cast keeps the zone of a value naming one (Europe/Paris) for
    the naive values after it, which it then reads in that zone: values naming a zone (the
    only ones holding '/') are cast in their own CASE branch, so their zone reaches no other.
    macros/metadata.sql's utc_timestamp is the same for the metadata fallback."""
    cast = f"CAST(CAST({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)"
    return f"CASE WHEN {text} LIKE '%/%' THEN {cast} ELSE {cast} END"


def convert(column: str, raw_type: str, target: str, *, strict: bool = True, finite_times: bool = True) -> str:
    """SQL turning `column` of raw_type into target; a bad value fails the load.
    With strict=False a bad boolean, number or time is NULL instead, so TRY() can find it.
    `finite_times`: a time column of the source's own (a database's) must not be infinity;
    False for a Parquet file read in place, whose view must keep its time columns bare so
    that DuckDB pushes an incremental run's filters into the scan."""
    col = quote_ident(column)
    raw_type, target = raw_type.upper(), target.upper()
    if target == "VARCHAR[]":
        return _text_list(col, raw_type)
    if finite_times and target == "TIMESTAMP" and (raw_type.startswith("TIMESTAMP") or raw_type == "DATE"):
        return _checked(col, col, f"isfinite({col})", _utc(col, raw_type), "a time", strict)
    if target == "TIMESTAMP" and raw_type.startswith("TIMESTAMP WITH"):
        return _utc(col, raw_type)
    if raw_type == target:
        return col
    text = raw_type in TEXT_TYPES
    cleaned = f"nullif(trim({col}), '')" if text else col
    numeric = raw_type in INTEGER_TYPES or raw_type in FRACTION_TYPES or raw_type.startswith("DECIMAL")
    if target == "BOOLEAN" and (text or numeric):
        # only 0/1 (1.0 too: pandas writes a flag column with gaps as doubles); DuckDB's own
        # cast reads any other number, 2.5 or -1, as true
        word = f"lower(trim({col}))" if text else col
        trues, falses = (TRUE_WORDS, FALSE_WORDS) if text else ((1,), (0,))
        bad = f"error('not a boolean: ' || {col})" if strict else "NULL"
        return (f"CASE WHEN {cleaned} IS NULL THEN NULL WHEN {word} IN ({', '.join(map(sql_literal, trues))}) THEN true "
                f"WHEN {word} IN ({', '.join(map(sql_literal, falses))}) THEN false ELSE {bad} END")
    if target in INTEGER_TYPES and (text or raw_type in FRACTION_TYPES or raw_type.startswith("DECIMAL")):
        # DuckDB's cast rounds '1.6' (and 1.6) to 2 and reads '1e3', '0x10', '1_000': a wrong id, silently.
        # The pattern takes the untrimmed text: skipping trim() pays for the match (1M values: 0.2 s CPU either way)
        whole = full_match(col, INTEGER_FORM) if text else f"{col} = trunc({col})"
        digits = f"CASE WHEN contains({col}, '.') THEN split_part({col}, '.', 1) ELSE {col} END" if text else col
        return _checked(col, cleaned, whole, f"CAST({digits} AS {target})", "a whole number", strict)
    if target == "TIMESTAMP" and text:  # DuckDB reads '24:00:00' as the next day, Spark refuses it
        return _checked(col, cleaned, full_match(col, TIMESTAMP_FORM), utc_time(cleaned), "a time", strict)
    if target in FRACTION_TYPES and text:  # DuckDB reads '1_000' as 1000, Spark refuses it
        form = f"{full_match(col, NUMBER_FORM)} AND {in_float_range(col, cleaned, lambda x: f'isinf({x})')}"
        return _checked(col, cleaned, form, f"CAST({cleaned} AS {target})", "a number", strict)
    return f"CAST({cleaned} AS {target})"


def in_float_range(col: str, cleaned: str, is_infinite) -> str:
    """SQL: false for a number written in digits beyond a 64-bit float's range, which each
    engine's cast reads as infinity without a word (SPEC §8: 1e400 is an error); `inf`
    written out stays infinity, as pandas writes it. `is_infinite`: the engine's test."""
    return f"NOT ({is_infinite(f'TRY_CAST({cleaned} AS DOUBLE)')} AND lower({col}) NOT LIKE '%inf%')"


def _utc(col: str, raw_type: str) -> str:
    """SQL: a time column as naive UTC (one with a zone converted, a naive one as it is);
    PostgreSQL's infinity, which both would keep, is refused by the caller (_checked)."""
    if raw_type.startswith("TIMESTAMP WITH"):
        return f"CAST(CAST({col} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)"
    return col if raw_type == "TIMESTAMP" else f"CAST({col} AS TIMESTAMP)"


def _checked(col: str, cleaned: str, form: str, cast: str, what: str, strict: bool) -> str:
    """SQL: `cast` when `form` holds, NULL for blank text, else an error (strict) or NULL."""
    bad = f"error('not {what}: ' || CAST({col} AS VARCHAR))" if strict else "NULL"
    return f"CASE WHEN {form} THEN {cast} WHEN {cleaned} IS NULL THEN NULL ELSE {bad} END"


def cannot_fail(raw_type: str, target: str, finite_times: bool = True) -> bool:
    """True when `convert` is the column itself or a list clean-up, which no value can fail."""
    raw_type, target = raw_type.upper(), target.upper()
    if finite_times and target == "TIMESTAMP" and (raw_type.startswith("TIMESTAMP") or raw_type == "DATE"):
        return False  # PostgreSQL's (and DuckDB's) infinity
    return raw_type == target or (target == "VARCHAR[]" and raw_type.endswith("[]"))


def _text_list(col: str, raw_type: str) -> str:
    """A list of trimmed, non-blank strings, empty (never NULL) when there are none.
    Text holds ';'-separated values or a JSON array (as apps store lists in text)."""
    if raw_type in TEXT_TYPES:
        cleaned = f"nullif(trim({col}), '')"
        values = (f"CASE WHEN starts_with({cleaned}, '[') THEN CAST(CAST({cleaned} AS JSON) AS VARCHAR[]) "
                  f"ELSE string_split({col}, ';') END")
    else:
        values = f"CAST({col} AS VARCHAR[])"
    return f"list_filter(list_transform(coalesce({values}, []), t -> trim(t)), t -> coalesce(t, '') <> '')"


def declared_types(source: Source, contract: dict, columns, where: str) -> dict[str, str]:
    """column → type a source's columns are cast to (the contract's, then column_types);
    a one-line ConfigError when a required contract column is missing. Both engines' rule."""
    lower = {c.lower() for c in columns}
    missing = [c for c, (_, required) in contract.items() if required and c.lower() not in lower]
    if missing:
        needed = ", ".join(c for c, (_, required) in contract.items() if required)
        raise ConfigError(f"{where}: missing required column{'s' if len(missing) > 1 else ''} "
                          f"{', '.join(repr(c) for c in missing)} — a {source.name} source needs columns {needed}")
    return {**{c: t for c, (t, _) in contract.items()}, **source.column_types}


def typed_columns(columns: dict, declared: dict, contract: dict, *, convert, quote, type_name=lambda t: t,
                  extra=None) -> list[str]:
    """The SELECT list that loads a source: its columns in its own order, each declared
    one through `convert(column, raw type, declared type)` (the others through `extra`, if
    given), then each optional contract column it lacks as a typed NULL. Both engines'
    rule; they differ in `convert`."""
    by_lower = {c.lower(): (c, t) for c, t in declared.items()}
    lower = {c.lower() for c in columns}
    select = []
    for actual, raw_type in columns.items():
        if actual.lower() in by_lower:
            column, type_ = by_lower[actual.lower()]
            select.append(f"{convert(actual, raw_type, type_)} AS {quote(column)}")
        else:
            select.append(f"{extra(actual)} AS {quote(actual)}" if extra else quote(actual))
    for column, type_ in declared.items():
        if column.lower() not in lower and column in contract:
            select.append(f"CAST(NULL AS {type_name(type_)}) AS {quote(column)}")
    return select


def accepted_forms(type_: str) -> str:
    """What a column of this type accepts, for a message about a value it could not read."""
    type_ = type_.upper()
    if type_ == "BOOLEAN":
        return "true/false, t/f, yes/no, y/n or 1/0"
    if type_.startswith("TIMESTAMP") or type_ == "DATE":
        return "a date or time such as 2025-01-31, 2025-01-31 09:30:00 or 2025-01-31T09:30:00Z (naive times are UTC; a zone or offset needs the seconds)"
    if type_ in INTEGER_TYPES:
        return "a whole number such as 42"
    if type_ in FRACTION_TYPES or type_.startswith("DECIMAL") or type_.startswith("NUMERIC"):
        return "a number such as 72.5"
    if type_ == "JSON":
        return 'JSON such as {"sent_at": "2025-01-31"}'
    if type_ == "VARCHAR[]":
        return ('text separated by ; such as webinar;hiring, or a JSON array such as ["webinar","hiring"] '
                "(text starting with [ is read as JSON)")
    return f"a {type_} value"


def is_glob(source: Source) -> bool:
    """Whether the source's path is a glob: a message about one of its files then names the file."""
    return bool(re.search(r"[*?[]", str(source.path or "")))


def nul_refusal(line: int, column: str, value: str) -> str:
    """What a message says of a value holding a NUL character (csv_files.nul_value's finding)."""
    return f"line {line}, column '{column}': cannot read {value[:80]!r} — {NUL_HINT}"


def file_format(source: Source) -> str:
    if source.kind == "database":
        return "database"
    path = str(source.seed if source.kind == "seed" else source.path)
    return source.format or ("parquet" if re.search(r"\.parquet$", path, re.IGNORECASE) else "csv")
