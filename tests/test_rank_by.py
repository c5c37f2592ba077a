"""`segpipe top --rank-by rate|wilson|shrunk` as a real process, against statsmodels and
SPEC §9's shrinkage written out with numpy (tests/test_stats.reference_shrinkage)."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from statsmodels.stats.proportion import proportion_confint

from tests.conftest import make_project, run_segpipe
from tests.test_stats import reference_shrinkage
from tests.test_top import country_dataset

# segment: id, workspace, country, sent, replied, bounced
PLAN = [
    (1, 1, "AA", 1, 1, 0),       # 1 of 1: first by rate, not by the Wilson bound
    (2, 1, "BB", 400, 110, 9),   # Wilson low 0.23 > 1 of 1's 0.21
    (3, 1, "CC", 400, 40, 4),
    (4, 1, "DD", 10, 3, 1),
    (5, 1, "EE", 400, 55, 0),
    (6, 1, "FF", 200, 30, 2),
    (7, 1, "GG", 5, 0, 0),       # 0 replies: Wilson low bound 0, like segment 9 -> sends decide
    (8, 1, "HH", 300, 45, 12),   # same rate as 6, more sends
    (9, 2, "II", 50, 0, 1),
]
AS_OF = "2025-01-31"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    leads, campaigns, sends, segments = country_dataset(PLAN)
    root = make_project(tmp_path_factory.mktemp("rank_by"), leads=leads, campaigns=campaigns,
                        campaign_leads=sends, segments=segments)
    run = run_segpipe("run", "--project-dir", root, "--as-of", AS_OF)
    assert run.returncode == 0, run.stderr
    return root


def top(root, *args):
    result = run_segpipe("top", "--project-dir", root, "--as-of", AS_OF, "--limit", 100, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def top_json(root, *args):
    return json.loads(top(root, "--format", "json", *args))["segments"]


def rounded(value):
    return float(Decimal(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def expected(metric="reply_rate", rank_by="rate", workspace=None, min_sent=1):
    """Each segment's (id, low, high, shrunk) in the expected order, computed from PLAN."""
    column = {"reply_rate": 4, "bounce_rate": 5}[metric]
    rows = [p for p in PLAN if p[3] >= min_sent and (workspace is None or p[1] == workspace)]
    shrunk = reference_shrinkage([(p[column], p[3]) for p in rows])
    table = []
    for p, s in zip(rows, shrunk):
        low, high = proportion_confint(p[column], p[3], alpha=0.05, method="wilson")
        table.append({"id": p[0], "n": p[3], "rate": Fraction(p[column], p[3]), "low": low, "high": high, "shrunk": s})
    ascending = metric == "bounce_rate"
    ranked = {"rate": "rate", "shrunk": "shrunk", "wilson": "high" if ascending else "low"}[rank_by]
    sign = 1 if ascending else -1
    return sorted(table, key=lambda r: (sign * r[ranked], -r["n"], r["id"]))


@pytest.mark.parametrize("metric", ["reply_rate", "bounce_rate"])
def test_wilson_ranks_by_the_bound_and_reports_the_interval(project, metric):
    got = top_json(project, "--metric", metric, "--rank-by", "wilson")
    want = expected(metric, "wilson")
    assert [s["segment_id"] for s in got] == [r["id"] for r in want]
    for segment, row in zip(got, want):
        assert list(segment)[-2:] == [f"{metric}_low", f"{metric}_high"]
        assert segment[f"{metric}_low"] == rounded(row["low"])
        assert segment[f"{metric}_high"] == rounded(row["high"])
        assert f"{metric}_shrunk" not in segment


def test_wilson_puts_the_one_of_one_segment_below_large_ones(project):
    by_rate = [s["segment_id"] for s in top_json(project)]
    by_wilson = [s["segment_id"] for s in top_json(project, "--rank-by", "wilson")]
    assert by_rate[0] == 1
    assert by_wilson.index(1) > by_wilson.index(2)
    assert by_wilson[-2:] == [9, 7]  # both bounds 0: more sends first


@pytest.mark.parametrize("args, workspace, min_sent", [
    ((), None, 1),
    (("--workspace-id", "1"), 1, 1),
    (("--min-sent", "10"), None, 10),
])
def test_shrunk_ranks_by_the_shrunk_rate_over_the_ranked_segments(project, args, workspace, min_sent):
    got = top_json(project, "--rank-by", "shrunk", *args)
    want = expected("reply_rate", "shrunk", workspace, min_sent)
    assert [s["segment_id"] for s in got] == [r["id"] for r in want]
    for segment, row in zip(got, want):
        assert list(segment)[-3:] == ["reply_rate_low", "reply_rate_high", "reply_rate_shrunk"]
        assert segment["reply_rate_shrunk"] == rounded(row["shrunk"])
        assert segment["reply_rate_low"] == rounded(row["low"])


def test_shrinkage_uses_every_ranked_segment_not_only_the_shown_ones(project):
    shown = top_json(project, "--rank-by", "shrunk", "--limit", "2")
    assert shown == top_json(project, "--rank-by", "shrunk")[:2]


def test_bounce_rate_without_evidence_of_differences_ties_at_the_pooled_rate(project):
    got = top_json(project, "--rank-by", "shrunk", "--metric", "bounce_rate")
    want = expected("bounce_rate", "shrunk")
    assert [s["segment_id"] for s in got] == [r["id"] for r in want]
    assert {s["bounce_rate_shrunk"] for s in got} == {rounded(want[0]["shrunk"])}


def test_rate_is_the_default_and_adds_no_keys(project):
    assert top_json(project) == top_json(project, "--rank-by", "rate")
    assert list(top_json(project)[0])[-1] == "bounce_rate"


def test_table_shows_the_rate_with_its_interval(project):
    lines = top(project, "--rank-by", "wilson").splitlines()
    assert lines[0].startswith("Top 9 segments by the 95 % Wilson bound of reply_rate")
    row = next(line for line in lines if line.split()[1] == "2")
    low, high = proportion_confint(110, 400, method="wilson")
    assert f"27.5 % ({low * 100:.1f}–{high * 100:.1f})" in row


def test_csv_has_the_json_keys(project):
    header = top(project, "--rank-by", "shrunk", "--format", "csv").splitlines()[0]
    assert header.split(",")[-3:] == ["reply_rate_low", "reply_rate_high", "reply_rate_shrunk"]


def test_unknown_rank_by_is_a_usage_error(project):
    result = run_segpipe("top", "--project-dir", project, "--rank-by", "wilsn")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("Error: --rank-by must be one of rate, wilson, shrunk; got 'wilsn'")
    assert "wilson" in result.stderr and "Traceback" not in result.stderr


def test_shrunk_with_a_tau2_of_exactly_zero_ranks_by_the_tie_breaks(tmp_path):
    """2/2, 2/2 and 4/8 replies: τ² = s² − m = 1/12 − 1/12 = 0 exactly, so SPEC §9 gives every
    segment μ = 2/3 and the tie-breaks rank (most sends first). Float τ² came out 2.8e-17 > 0,
    and the rates a huge κ left a few ulps apart put the two 2-send segments first."""
    leads, campaigns, sends, segments = country_dataset([(1, 1, "AA", 2, 2, 0), (2, 1, "BB", 2, 2, 0),
                                                         (3, 1, "CC", 8, 4, 0)])
    root = make_project(tmp_path / "tau", leads=leads, campaigns=campaigns, campaign_leads=sends, segments=segments)
    assert run_segpipe("run", "--project-dir", root, "--as-of", AS_OF).returncode == 0
    got = top_json(root, "--rank-by", "shrunk")
    assert [s["segment_id"] for s in got] == [3, 1, 2]
    assert {s["reply_rate_shrunk"] for s in got} == {0.6667}
