"""Segment validation (exact one-line errors) and filter → SQL predicates."""

from __future__ import annotations

import duckdb
import pytest

from segpipe.errors import ConfigError
from segpipe.segments import Segment, load_segments_file, segment_predicate, segments_from_rows, sql_literal


def load(tmp_path, text: str):
    path = tmp_path / "segments.yml"
    path.write_text(text)
    return path, load_segments_file(path)


@pytest.mark.parametrize("text, message", [
    ("segments:\n  - id: 1\n    name: A\n    filtres: {}\n",
     "{path}:2: segment 1: unknown key 'filtres' (did you mean 'filters'?)"),
    ("segments:\n  - id: 1\n    name: A\n    filters:\n      countrys: [US]\n",
     "{path}:2: segment 1: filters: unknown key 'countrys' (did you mean 'countries'?)"),
    ("segments:\n  - id: 1\n    name: A\n    filters: {min_score: high}\n",
     "{path}:2: segment 1: filters.min_score must be a number, got 'high'"),
    ("segments:\n  - id: 1\n    name: A\n    filters: {has_email: 'yes'}\n",
     "{path}:2: segment 1: filters.has_email must be true or false, got 'yes'"),
    ("segments:\n  - id: 1\n    name: A\n    filters: {roles: [[CEO]]}\n",
     "{path}:2: segment 1: filters.roles: expected a string or a list of strings, got ['CEO']"),
    ("segments:\n  - id: 1\n    name: A\n  - id: 1\n    name: B\n",
     "{path}:4: segment 1: duplicate id 1 (also used by 'A') — give each segment its own id"),
    ("segments:\n  - id: 3\n    description: no name\n",
     "{path}:2: segment 3: missing 'name' — every segment needs a non-empty name"),
    ("segments:\n  - id: 3\n    name: '  '\n",
     "{path}:2: segment 3: missing 'name' — every segment needs a non-empty name"),
    ("segments:\n  - name: A\n",
     "{path}:2: segment #1: missing 'id' — give a unique positive integer"),
    ("segments:\n  - id: -4\n    name: A\n",
     "{path}:2: segment -4: 'id' must be a positive integer, got -4"),
    ("segments:\n  - id: 1\n    name: A\n    workspace_id: two\n",
     "{path}:2: segment 1: 'workspace_id' must be an integer or omitted, got 'two'"),
    ("segmnts: []\n", "{path}: unknown top-level key 'segmnts' (did you mean 'segments'?)"),
    ("segments:\n  - id: 1\n   name: A\n", "{path}:3: invalid YAML in the segments file: did not find expected '-' indicator"),
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


def test_segments_from_rows_reject_malformed_json():
    with pytest.raises(ConfigError) as caught:
        segments_from_rows([(4, None, "A", None, "{countries: [US]")], "app:segments")
    assert str(caught.value).startswith("app:segments: segment 4: 'filters' is not valid JSON (Expecting property name")


@pytest.mark.parametrize("value", ["O'Brien", "back\\slash", "a -- comment", "x; drop table t", "{{ 7*7 }}", "'); --", "é ü 中"])
def test_sql_literal_round_trips_through_duckdb(value):
    assert duckdb.sql(f"select {sql_literal(value)}").fetchone()[0] == value


def test_predicate_for_every_filter_key_selects_the_right_rows():
    con = duckdb.connect()
    con.execute("""create table stg_leads as select * from (values
        (1, 1, 'linkedin', 'us', 'founder', '1-10', 'saas', ['webinar'], 80.0, true),
        (2, 1, 'linkedin', 'us', 'founder', '1-10', 'saas', ['x'], 80.0, true),
        (3, 2, 'linkedin', 'us', 'founder', '1-10', 'saas', ['webinar'], 80.0, true),
        (4, 1, 'linkedin', 'us', 'founder', '1-10', 'saas', ['webinar'], null, true),
        (5, 1, 'linkedin', 'us', 'founder', '1-10', 'saas', ['webinar'], 80.0, false),
        (6, 1, 'apollo', 'us', 'founder', '1-10', 'saas', ['webinar'], 80.0, true)
    ) t(lead_id, workspace_id, source_key, country_key, role_key, company_size_key, industry_key, tag_keys, score, has_email)""")
    segment = Segment(1, "A", 1, None, {"sources": ["linkedin"], "countries": ["us"], "roles": ["founder", "ceo"],
                                        "company_sizes": ["1-10"], "industries": ["saas"], "tags": ["webinar", "hiring"],
                                        "min_score": 60, "has_email": True})
    rows = con.execute(f"select lead_id from stg_leads where {segment_predicate(segment)} order by 1").fetchall()
    assert rows == [(1,)]
    everyone = Segment(2, "B", None, None, {})
    assert segment_predicate(everyone) == "true"
    no_email = Segment(3, "C", None, None, {"has_email": False})
    assert con.execute(f"select lead_id from stg_leads where {segment_predicate(no_email)}").fetchall() == [(5,)]


def test_vars_as_of_is_as_strict_as_the_option(tmp_path):
    from segpipe.errors import ConfigError
    from segpipe.project import load_project
    from segpipe.runner import resolve_vars

    (tmp_path / "project.yml").write_text("name: p\nvars:\n  days: 7\n  as_of: 2026-W46-7\n")
    with pytest.raises(ConfigError, match="^vars.as_of must be a date like 2025-01-31, got '2026-W46-7'$"):
        resolve_vars(load_project(tmp_path), None)
