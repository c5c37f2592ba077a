"""Segment validation (exact one-line errors) and filter → SQL predicates."""

from __future__ import annotations

import duckdb
import pytest

from segpipe.errors import ConfigError
from segpipe.segments import Segment, load_segments_file, segment_predicate, segments_from_rows
from segpipe.sql import sql_literal


def load(tmp_path, text: str):
    path = tmp_path / "segments.yml"
    path.write_text(text)
    return path, load_segments_file(path)


@pytest.mark.parametrize("text, message", [
    # each message names the line of the key at fault (SPEC §12), else the segment's
    ("segments:\n  - id: 1\n    name: A\n    filtres: {}\n",
     "{path}:4: segment 1: unknown key 'filtres' (did you mean 'filters'?)"),
    ("segments:\n  - id: 1\n    name: A\n    filters:\n      countrys: [US]\n",
     "{path}:5: segment 1: filters: unknown key 'countrys' (did you mean 'countries'?)"),
    ("segments:\n  - id: 1\n    name: A\n    filters: {min_score: high}\n",
     "{path}:4: segment 1: filters.min_score must be a number such as 60 (scores are 0–100), got 'high'"),
    ("segments:\n  - id: 1\n    name: A\n    filters: {has_email: 'yes'}\n",
     "{path}:4: segment 1: filters.has_email must be true or false, got 'yes'"),
    ("segments:\n  - id: 1\n    name: A\n    filters: {roles: [[CEO]]}\n",
     "{path}:4: segment 1: filters.roles: expected a string or a list of strings, got ['CEO']"),
    ("segments:\n  - id: 1\n    name: A\n    filters:\n      company_sizes: ['  ', '']\n",
     "{path}:5: segment 1: filters.company_sizes: only blank values — give a value to match, or remove the key "
     "for no restriction"),
    ("segments:\n  - id: 1\n    name: A\n  - id: 1\n    name: B\n",
     "{path}:4: segment 1: duplicate id 1 (also used by 'A') — give each segment its own id"),
    # a number where text is meant: YAML has already changed 010 into 8 and 1.50 into 1.5
    ("segments:\n  - id: 1\n    name: A\n    filters:\n      company_sizes: ['11-50', 010]\n",
     "{path}:5: segment 1: filters.company_sizes: expected text, got the number 8 — quote each value as written, "
     "e.g. ['010', '1.50'] (unquoted, YAML reads 010 as 8 and 1.50 as 1.5)"),
    ("segments:\n  - id: 1\n    name: A\n    filters: {countries: 1.50}\n",
     "{path}:4: segment 1: filters.countries: expected text, got the number 1.5 — quote each value as written, "
     "e.g. ['010', '1.50'] (unquoted, YAML reads 010 as 8 and 1.50 as 1.5)"),
    ("segments:\n  - id: 3\n    name: 123\n",
     "{path}:3: segment 3: 'name' must be text, got 123 — quote it: name: '123'"),
    ("segments:\n  - id: 3\n    description: no name\n",
     "{path}:2: segment 3: missing 'name' — every segment needs a non-empty name"),
    ("segments:\n  - id: 3\n    name: '  '\n",
     "{path}:3: segment 3: missing 'name' — every segment needs a non-empty name"),
    ("segments:\n  - name: A\n",
     "{path}:2: segment #1: missing 'id' — give a unique positive integer"),
    ("segments:\n  - name: A\n    id: -4\n",
     "{path}:3: segment -4: 'id' must be a positive integer, got -4"),
    ("segments:\n  - id: 1\n    name: A\n    workspace_id: two\n",
     "{path}:4: segment 1: 'workspace_id' must be an integer or omitted, got 'two'"),
    # a mapping where a value belongs is shown as written, without the parse's line bookkeeping
    ("segments:\n  - id: 1\n    name: A\n    filters:\n      countries: {a: 1}\n",
     "{path}:5: segment 1: filters.countries: expected a string or a list of strings, got {{'a': 1}}"),
    # YAML 1.1 reads NO (Norway) as false: the message says so, not just "got False"
    ("segments:\n  - id: 1\n    name: A\n    filters:\n      countries: [SE, NO]\n",
     "{path}:5: segment 1: filters.countries: expected text, got false — YAML reads an unquoted no, off or false "
     "(any case) as false; quote each value as written, e.g. ['NO', 'SE']"),
    ("segments:\n  - id: 1\n    name: A\n    filters:\n      tags: On\n",
     "{path}:5: segment 1: filters.tags: expected text, got true — YAML reads an unquoted yes, on or true "
     "(any case) as true; quote each value as written, e.g. ['NO', 'SE']"),
    ("segments:\n  - id: {a: 1}\n    name: A\n",
     "{path}:2: segment #1: 'id' must be a positive integer, got {{'a': 1}}"),
    ("segmnts: []\n", "{path}:1: unknown top-level key 'segmnts' (did you mean 'segments'?)"),
    ("segments:\n  - id: 1\n   name: A\n", "{path}:3: invalid YAML in the segments file: did not find expected '-' indicator"),
    # a typo on line 7 of the second segment is reported at line 7, not at the segment's line 5
    ("segments:\n  - id: 1\n    name: A\n\n  - id: 2\n    name: B\n    descripton: typo\n",
     "{path}:7: segment 2: unknown key 'descripton' (did you mean 'description'?)"),
    # numbers beyond 64 bits and NUL characters (SPEC §8): one line naming file, segment and key
    ("segments:\n  - name: A\n    id: 99999999999999999999\n",
     "{path}:3: segment 99999999999999999999: 'id' must be a positive integer that fits in 64 bits "
     "(at most 9223372036854775807), got 99999999999999999999"),
    ("segments:\n  - id: 1\n    name: A\n    workspace_id: -99999999999999999999\n",
     "{path}:4: segment 1: 'workspace_id' must be an integer that fits in 64 bits (at most 9223372036854775807) "
     "or omitted, got -99999999999999999999"),
    ("segments:\n  - id: 1\n    name: A\n    filters:\n      min_score: 1e400\n",
     "{path}:5: segment 1: filters.min_score: inf is beyond the range of a 64-bit number — scores are 0–100, "
     "use a number such as 60"),
    ("segments:\n  - id: 1\n    name: A\n    filters:\n      min_score: -1.0e+400\n",
     "{path}:5: segment 1: filters.min_score: -inf is beyond the range of a 64-bit number — scores are 0–100, "
     "use a number such as 60"),
    ("segments:\n  - id: 1\n    name: A\n    filters:\n      countries: [DE, \"U\\0S\"]\n",
     "{path}:5: segment 1: filters.countries: 'U\\x00S' contains a NUL character (\\0) — remove it"),
    ("segments:\n  - id: 1\n    name: \"A\\0B\"\n",
     "{path}:3: segment 1: name contains a NUL character (\\0) — remove it"),
    # a key named like the parse's line bookkeeping was overwritten by it and skipped: the filter lost
    ("segments:\n  - id: 1\n    name: A\n    filters:\n      __line__: 3\n      countries: [US]\n",
     "{path}:5: invalid YAML in the segments file: '__line__' is no key segpipe reads (the name is reserved); remove it"),
])
def test_invalid_segments_give_one_line_naming_file_segment_and_key(tmp_path, text, message):
    path = tmp_path / "segments.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_segments_file(path)
    assert str(caught.value) == message.format(path=path)


def test_filters_are_normalised_and_empty_filters_mean_no_restriction(tmp_path):
    _, segments = load(tmp_path, "segments:\n  - id: 1\n    name: A\n    filters:\n"
                                 "      countries: ' US '\n      roles: []\n      tags: null\n      min_score: 60\n")
    assert segments == [Segment(1, "A", None, None, {"countries": ["us"], "min_score": 60})]


def test_segments_from_rows_reject_a_filter_named_like_the_yaml_bookkeeping():
    """Validation skips `__line__` and `__keys__` (what a YAML parse with lines adds), so in a
    table's JSON they were dropped silently and the segment matched every lead."""
    with pytest.raises(ConfigError) as caught:
        segments_from_rows([(4, None, "A", None, '{"__keys__": {"countries": ["US"]}}')], "app:segments")
    assert str(caught.value).startswith("app:segments: segment 4: filters: unknown key '__keys__' (valid keys: sources,")


def test_segments_from_rows_reject_malformed_json():
    with pytest.raises(ConfigError) as caught:
        segments_from_rows([(4, None, "A", None, "{countries: [US]")], "app:segments")
    assert str(caught.value).startswith("app:segments: segment 4: 'filters' is not valid JSON (Expecting property name")


@pytest.mark.parametrize("value", ["O'Brien", "back\\slash", "a -- comment", "x; drop table t", "{{ 7*7 }}", "'); --", "é ü 中"])
def test_sql_literal_round_trips_through_duckdb(value):
    assert duckdb.sql(f"select {sql_literal(value)}").fetchone()[0] == value


#: a stg_leads row (its match keys already trimmed and lower-cased) that segment FULL selects
MATCHING = {"workspace_id": 1, "source_key": "linkedin", "country_key": "us", "role_key": "founder",
            "company_size_key": "1-10", "industry_key": "saas", "tag_keys": ["webinar"], "score": 80.0,
            "has_email": True}
FULL = Segment(1, "A", 1, None, {"sources": ["linkedin"], "countries": ["us"], "roles": ["founder", "ceo"],
                                 "company_sizes": ["1-10"], "industries": ["saas"], "tags": ["webinar", "hiring"],
                                 "min_score": 60, "has_email": True})
#: rows that differ from MATCHING in exactly one key (lead id, key, value), each missing FULL's filter
MISSES = [
    (2, "tag_keys", ["x"]), (3, "workspace_id", 2), (4, "score", None), (5, "has_email", False),
    (6, "source_key", "apollo"), (7, "country_key", "de"), (8, "role_key", "cmo"),
    (9, "company_size_key", "11-50"), (10, "industry_key", "fintech"), (11, "score", 59.5),
    (12, "tag_keys", []), (13, "source_key", None),
]
#: and rows that differ in one key but still match (another listed value, the bound itself)
STILL_MATCHING = [(14, "role_key", "ceo"), (15, "tag_keys", ["x", "hiring"]), (16, "score", 60.0)]


def leads_table(rows: dict[int, dict]):
    con = duckdb.connect()
    con.execute("create table stg_leads (lead_id int, workspace_id int, source_key varchar, country_key varchar, "
                "role_key varchar, company_size_key varchar, industry_key varchar, tag_keys varchar[], "
                "score double, has_email boolean)")
    for lead_id, row in rows.items():
        con.execute("insert into stg_leads values ($lead_id, $workspace_id, $source_key, $country_key, $role_key, "
                    "$company_size_key, $industry_key, $tag_keys, $score, $has_email)", {"lead_id": lead_id, **row})
    return con


def test_predicate_for_every_filter_key_selects_the_right_rows():
    rows = {1: MATCHING, **{lead_id: {**MATCHING, key: value} for lead_id, key, value in MISSES + STILL_MATCHING}}
    assert {key for _, key, _ in MISSES} == set(MATCHING)  # every key of the segment is missed once
    con = leads_table(rows)
    selected = con.execute(f"select lead_id from stg_leads where {segment_predicate(FULL)} order by 1").fetchall()
    assert selected == [(1,), *((lead_id,) for lead_id, _, _ in STILL_MATCHING)]
    everyone = Segment(2, "B", None, None, {})
    assert segment_predicate(everyone) == "true"
    assert con.execute(f"select count(*) from stg_leads where {segment_predicate(everyone)}").fetchone() == (len(rows),)
    no_email = Segment(3, "C", None, None, {"has_email": False})
    assert con.execute(f"select lead_id from stg_leads where {segment_predicate(no_email)}").fetchall() == [(5,)]


def test_vars_as_of_is_as_strict_as_the_option(tmp_path):
    from segpipe.errors import ConfigError
    from segpipe.project import load_project
    from segpipe.plan import resolve_vars

    (tmp_path / "project.yml").write_text("name: p\nvars:\n  days: 7\n  as_of: 2026-W46-7\n")
    with pytest.raises(ConfigError, match="^vars.as_of must be a date like 2025-01-31, got '2026-W46-7'$"):
        resolve_vars(load_project(tmp_path), None)


def test_min_score_written_as_yaml_1_2_number_text_is_a_number(tmp_path):
    """PyYAML reads `6e1` as text (YAML 1.1); the user meant 60."""
    path = tmp_path / "segments.yml"
    path.write_text("segments:\n  - id: 1\n    name: A\n    filters: {min_score: 6e1}\n")
    assert load_segments_file(path)[0].filters == {"min_score": 60.0}
