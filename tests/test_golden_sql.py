"""Golden SQL: the membership query for a small segments file, pinned in plain files.

tests/golden/<case>/segments.yml is the input, tests/golden/<case>/lead_segments.sql
the SQL `segment_membership(ref('stg_leads'))` must render for it, compared with
whitespace normalised (and SQL comment lines left out). The expected file was
checked by hand: each mask is the bits of the segments (ids 1, 2, 3, 5 → bits
0-3) that accept that value, and hostile filter values appear only quoted. What
the query *computes* is checked against plain Python in test_membership.py; this
test catches any change to the SQL itself, intended or not — when intended,
rewrite the expected file and say why in the commit.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from segpipe.membership import segment_membership
from segpipe.pipeline import compile_plan
from segpipe.project import load_project
from segpipe.segments import load_segments_file
from tests.conftest import make_project

GOLDEN = Path(__file__).with_name("golden")
CASES = sorted(path.name for path in GOLDEN.iterdir() if (path / "segments.yml").exists())


def normalised(sql: str) -> str:
    """Whitespace runs as one space, without `--` comment lines."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return re.sub(r"\s+", " ", "\n".join(lines)).strip()


@pytest.mark.parametrize("case", CASES)
def test_segment_membership_renders_the_golden_sql(case):
    segments = load_segments_file(GOLDEN / case / "segments.yml")
    expected = (GOLDEN / case / "lead_segments.sql").read_text(encoding="utf-8")
    assert normalised(segment_membership(segments, "staging.stg_leads")) == normalised(expected)


@pytest.mark.parametrize("case", CASES)
def test_the_built_in_model_is_that_query(tmp_path, case):
    """models/internal/lead_segments.sql compiles to exactly the golden query."""
    root = make_project(tmp_path / "p")
    shutil.copyfile(GOLDEN / case / "segments.yml", root / "seeds" / "segments.yml")
    plan = compile_plan(load_project(root), as_of=None)
    expected = (GOLDEN / case / "lead_segments.sql").read_text(encoding="utf-8")
    assert normalised(plan.models["lead_segments"].sql) == normalised(expected)


def test_hostile_filter_values_reach_the_sql_only_quoted():
    sql = (GOLDEN / "membership" / "lead_segments.sql").read_text(encoding="utf-8")
    assert "['o''brien; drop table x --']::VARCHAR[]" in sql
    assert "['webinar', '{{ 7*7 }}']::VARCHAR[]" in sql
