"""Bitmask membership over many segments (several 64-bit words) equals the plain-Python reading."""

from __future__ import annotations

import random

import duckdb
import pytest

from tests import reference
from tests.conftest import make_project

VALUES = {
    "source": ["linkedin", "Apollo", " webinar", "referral", "o'brien"],
    "country": ["US", " us", "US\t", "DE", "FR", "UK", "ES", "BR"],  # a tab is kept on both sides
    "role": ["Founder", "CEO", "cto", "CMO ", "Engineer"],
    "company_size": ["1-10", "11-50", "51-200", "1000+"],
    "industry": ["SaaS", "saas ", "Fintech", "Agency", "Health"],
}
TAGS = ["webinar", "Hiring", "funding", "{{ x }}", "partner"]
FILTER_OF = {"source": "sources", "country": "countries", "role": "roles",
             "company_size": "company_sizes", "industry": "industries"}


def random_leads(rng: random.Random, n: int) -> list[dict]:
    leads = []
    for i in range(1, n + 1):
        lead = {"id": i, "workspace_id": rng.choice([1, 2, 3]),
                "email": rng.choice([f"l{i}@x.io", "", "  ", "\t", " \r\n", None, f"m{i}@y.io"]),
                "score": rng.choice([None, 0, 35, 59.5, 60, 60.25, 75, 100, "nan"]),
                "tags": ";".join(rng.sample(TAGS, rng.randint(0, 3)))}
        for column, values in VALUES.items():
            lead[column] = rng.choice(values + [None])
        leads.append(lead)
    return leads


def random_segments(rng: random.Random, n: int, first_id: int = 0) -> list[dict]:
    segments = []
    for i in range(1, n + 1):
        filters = {}
        for column in rng.sample(list(VALUES), rng.randint(0, 3)):
            filters[FILTER_OF[column]] = rng.sample(VALUES[column], rng.randint(1, 3))
        if rng.random() < 0.3:
            filters["tags"] = rng.sample(TAGS, rng.randint(1, 2))
        if rng.random() < 0.3:
            filters["min_score"] = rng.choice([0, 50, 60, 60.25, 99])
        if rng.random() < 0.3:
            filters["has_email"] = rng.choice([True, False])
        segment = {"id": first_id + i * 3, "name": f"segment {i}", "filters": filters}
        if rng.random() < 0.5:
            segment["workspace_id"] = rng.choice([1, 2, 3, 4])
        segments.append(segment)
    return segments


@pytest.mark.parametrize(("first_id", "id_type"), [(0, "USMALLINT[]"), (65_300, "UINTEGER[]"), (2**33, "BIGINT[]")])
def test_many_segments_across_words_match_reference(tmp_path, cli, first_id, id_type):
    """Also with ids past 65535 and 2^32: lead_segments keeps them in the narrowest type."""
    rng = random.Random(20261123)
    leads, segments = random_leads(rng, 400), random_segments(rng, 150, first_id)
    root = make_project(tmp_path / "proj", leads=leads, segments=segments)
    result = cli("run", "--project-dir", root, "--as-of", "2025-01-31")
    assert result.exit_code == 0, result.stderr
    con = duckdb.connect(str(root / "out.duckdb"), read_only=True)
    assert con.execute("select typeof(segment_ids) from internal.lead_segments limit 1").fetchone() == (id_type,)
    assert con.execute("select data_type from information_schema.columns where column_name = 'segment_id' "
                       "and table_name in ('segment_leads', 'segment_performance_daily')").fetchall() == [("BIGINT",)] * 2
    # each lead's list is its words' lists in order: ascending and distinct, as documented
    assert con.execute("select count(*) from internal.lead_segments "
                       "where segment_ids <> list_sort(list_distinct(segment_ids))").fetchone() == (0,)
    actual = set(con.execute("select segment_id, lead_id from segment_leads").fetchall())
    expected = reference.membership(segments, leads)
    assert len(expected) > 1000  # the random filters do select a lot
    assert actual == expected


def test_no_segments_builds_empty_membership(tmp_path, cli):
    root = make_project(tmp_path / "proj", leads=random_leads(random.Random(1), 10), segments=[])
    result = cli("run", "--project-dir", root, "--as-of", "2025-01-31")
    assert result.exit_code == 0, result.stderr
    con = duckdb.connect(str(root / "out.duckdb"), read_only=True)
    assert con.execute("select count(*) from segment_leads").fetchone() == (0,)
    assert con.execute("select count(*) from segment_performance").fetchone() == (0,)


def test_a_filter_value_matches_the_same_word_in_any_script(tmp_path, cli):
    """Case-insensitive letter by letter, as DuckDB lower-cases the leads' values: Python's
    word-aware lower() would end ΔΙΕΥΘΥΝΤΗΣ's Σ as ς and turn İ into two characters, and
    such a filter matched no lead, not even one spelled exactly like it."""
    leads = [{"id": 1, "workspace_id": 1, "role": "ΔΙΕΥΘΥΝΤΗΣ"}, {"id": 2, "workspace_id": 1, "country": "İzmir"},
             {"id": 3, "workspace_id": 1, "industry": "ΤΡΑΠΕΖΙΚΟΣ"}, {"id": 4, "workspace_id": 1, "role": "Founder"},
             # a no-break space and an ideographic space are spaces, trimmed; a tab is not
             {"id": 5, "workspace_id": 1, "country": "DE\u00a0", "email": "\u3000"},
             {"id": 6, "workspace_id": 1, "country": "DE\t", "email": "x@y.io"}]
    segments = [{"id": 1, "name": "as written", "filters": {"roles": ["ΔΙΕΥΘΥΝΤΗΣ"]}},
                {"id": 2, "name": "dotted capital I", "filters": {"countries": ["İzmir"]}},
                {"id": 3, "name": "lower case", "filters": {"industries": ["τραπεζικοσ"]}},
                {"id": 4, "name": "plain i", "filters": {"countries": ["IZMIR"]}},
                {"id": 5, "name": "ascii", "filters": {"roles": ["FOUNDER"]}},
                {"id": 6, "name": "spaced filter", "filters": {"countries": ["\u3000de"]}},
                {"id": 7, "name": "no email", "filters": {"has_email": False, "countries": ["DE"]}}]
    root = make_project(tmp_path / "proj", leads=leads, segments=segments)
    result = cli("run", "--project-dir", root, "--as-of", "2025-01-31")
    assert result.exit_code == 0, result.stderr
    con = duckdb.connect(str(root / "out.duckdb"), read_only=True)
    assert sorted(con.execute("select segment_id, lead_id from segment_leads").fetchall()) == [
        (1, 1), (2, 2), (3, 3), (4, 2), (5, 4), (6, 5), (7, 5)]
