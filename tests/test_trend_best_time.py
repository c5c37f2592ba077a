"""`segpipe trend` and `segpipe best-time`, run as a user runs them (a real process),
against figures computed here in plain Python from the same rows, with statsmodels'
Wilson interval and explicit UTC offsets (not zoneinfo) for the local hours."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.metadata
import io
import json
import os
import random
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from statsmodels.stats.proportion import proportion_confint

from tests.conftest import make_project, run_segpipe

AS_OF = dt.date(2025, 4, 6)  # a Sunday; Europe/Berlin went to summer time on 2025-03-30 01:00 UTC
NAME_WITH_QUOTES = "Quote ' \\ -- ; {{ 7*7 }} leads"
SEGMENTS = [
    {"id": 1, "name": "US founders", "workspace_id": 1, "filters": {"countries": ["US"]}},
    {"id": 2, "name": "DE buyers", "workspace_id": 2, "filters": {"countries": ["DE"]}},
    {"id": 3, "name": NAME_WITH_QUOTES},  # every lead of every workspace
]
LEADS = [{"id": i, "workspace_id": 1 if i <= 40 else 2, "email": f"l{i}@x.io", "country": "US" if i <= 40 else "DE",
          "role": "Founder", "industry": "SaaS", "score": 50} for i in range(1, 81)]
# in workspace 1 but in the global segment only: in the scope of every segment, not of workspace 1's
LEADS.append({"id": 81, "workspace_id": 1, "email": "l81@x.io", "country": "FR", "role": "Founder",
              "industry": "SaaS", "score": 50})
CAMPAIGNS = [{"id": 1, "workspace_id": 1, "name": "one", "segment_id": 1, "sent_at": "2025-02-01 09:00:00"},
             {"id": 2, "workspace_id": 2, "name": "two", "segment_id": 2, "sent_at": "2025-02-01 09:00:00"}]


def make_sends() -> list[dict]:
    """~900 sends from 2025-02-20 to 2025-04-06 at every hour; replies likelier in the
    morning (UTC) so one hour stands out; clicks tracked on about half."""
    rng = random.Random(12)
    sends = []
    start = dt.datetime(2025, 2, 20)
    for i in range(1, 901):
        lead = rng.randint(1, 81)
        at = start + dt.timedelta(minutes=rng.randint(0, 46 * 24 * 60 - 1), seconds=rng.randint(0, 59))
        replied = rng.random() < (0.35 if 7 <= at.hour <= 9 else 0.08)
        tracked = rng.random() < 0.5
        sends.append({"id": i, "campaign_id": 2 if 41 <= lead <= 80 else 1, "lead_id": lead, "sent": True,
                      "opened": replied or rng.random() < 0.4, "replied": replied, "bounced": rng.random() < 0.03,
                      "clicked": (rng.random() < 0.3) if tracked else None, "sent_at": at.isoformat(sep=" ")})
    return sends


SENDS = make_sends()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("analyses") / "proj", leads=LEADS, campaigns=CAMPAIGNS,
                        campaign_leads=SENDS, segments=SEGMENTS)
    done = run_segpipe("run", "--project-dir", root, "--as-of", AS_OF.isoformat())
    assert done.returncode == 0, done.stderr
    return root


def segpipe_json(project, *args) -> dict:
    done = run_segpipe(*args, "--project-dir", project, "--as-of", AS_OF.isoformat(), "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def rounded(value: float | None) -> float | None:
    return None if value is None else float(Decimal(repr(value)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def expected_rate(metric: str, x: int, n: int) -> dict:
    if n == 0:
        return {metric: None, f"{metric}_low": None, f"{metric}_high": None}
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    return {metric: rounded(x / n), f"{metric}_low": rounded(low), f"{metric}_high": rounded(high)}


def assert_rates_equal(actual: dict, expected: dict) -> None:
    """Rates exactly; interval ends to the 4th decimal (statsmodels' floats may differ in the 16th)."""
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        if key.endswith(("_low", "_high")) and value is not None:
            assert actual[key] == pytest.approx(value, abs=1.01e-4), key
        else:
            assert actual[key] == value, key


def sends_of(segment_id: int) -> list[dict]:
    if segment_id == 3:
        return SENDS
    return [s for s in SENDS if s["lead_id"] <= 40] if segment_id == 1 else [s for s in SENDS if 41 <= s["lead_id"] <= 80]


def window_sends(segment_ids, days: int):
    """The window's sends of those segments, each once however many of them it counts for."""
    start = AS_OF - dt.timedelta(days=days - 1)
    once = {s["id"]: s for seg in segment_ids for s in sends_of(seg)}
    return [s for s in once.values() if start <= dt.datetime.fromisoformat(s["sent_at"]).date() <= AS_OF]


# ---------------------------------------------------------------- trend

@pytest.mark.parametrize("by", ["day", "week", "month"])
def test_trend_points_match_a_plain_count(project, by):
    days = 60  # from 2025-02-06, two weeks before the first send
    result = segpipe_json(project, "trend", "1", NAME_WITH_QUOTES, "--by", by, "--days", str(days))
    start = AS_OF - dt.timedelta(days=days - 1)
    assert (result["metric"], result["by"]) == ("reply_rate", by)
    assert (result["time_range_from"], result["time_range_to"]) == (f"{start}T00:00:00Z", f"{AS_OF}T23:59:59Z")
    # the periods, written out independently: every day; Mondays; 1sts — the first cut to the window
    if by == "day":
        starts = [start + dt.timedelta(days=i) for i in range(days)]
    elif by == "week":
        starts = [start] + [d for d in (start + dt.timedelta(days=i) for i in range(1, days)) if d.weekday() == 0]
    else:
        starts = [start, dt.date(2025, 3, 1), dt.date(2025, 4, 1)]
    assert [s["segment_id"] for s in result["series"]] == [1, 3]
    assert result["series"][1]["segment_name"] == NAME_WITH_QUOTES
    for series in result["series"]:
        points = series["points"]
        assert [p["period_start"] for p in points] == [d.isoformat() for d in starts]
        for i, point in enumerate(points):
            end = starts[i + 1] if i + 1 < len(starts) else AS_OF + dt.timedelta(days=1)
            inside = [s for s in sends_of(series["segment_id"])
                      if starts[i] <= dt.datetime.fromisoformat(s["sent_at"]).date() < end]
            x = sum(s["replied"] for s in inside)
            assert list(point) == ["period_start", "leads_sent", "replied", "reply_rate", "reply_rate_low",
                                   "reply_rate_high"]
            assert (point["leads_sent"], point["replied"]) == (len(inside), x)
            assert_rates_equal({k: v for k, v in point.items() if k.startswith("reply_rate")},
                               expected_rate("reply_rate", x, len(inside)))
    empty = result["series"][0]["points"][0]
    if by != "month":  # the cut first week (a Thursday to Sunday) and the first day are empty
        assert (empty["leads_sent"], empty["replied"], empty["reply_rate"], empty["reply_rate_low"]) == (0, 0, None, None)


@pytest.mark.parametrize("command", [["trend", "1", "--by", "day"], ["trend", "1", "--by", "week"],
                                     ["trend", "1", "--by", "month"], ["best-time"], ["best-time", "1"]])
def test_the_last_date_is_a_window_like_any_other(project, command):
    """--as-of 9999-12-31 is a valid date (top and compare take it): a window ending there
    lists its periods and buckets, all without sends, instead of failing on the day after."""
    done = run_segpipe(*command, "--project-dir", project, "--as-of", "9999-12-31", "--days", "14",
                       "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["time_range_to"] == "9999-12-31T23:59:59Z"
    if command[0] == "best-time":
        assert len(result["buckets"]) == 24 and result["best"] is None
        assert all(b["leads_sent"] == 0 and b["reply_rate"] is None for b in result["buckets"])
        return
    start = dt.date(9999, 12, 18)
    days = [start + dt.timedelta(days=i) for i in range(14)]
    starts = {"day": days, "week": [start] + [d for d in days[1:] if d.weekday() == 0], "month": [start]}[command[3]]
    points = result["series"][0]["points"]
    assert [p["period_start"] for p in points] == [d.isoformat() for d in starts]
    assert all(p["leads_sent"] == 0 and p["reply_rate"] is None for p in points)


@pytest.mark.parametrize("sent_at, as_of, tz, bucket", [
    # UTC+14 (the rule past 2037): Friday 9999-12-31 23:00 UTC is 13:00 on a Saturday past the calendar's end
    ("9999-12-31 23:00:00", "9999-12-31", "Pacific/Kiritimati", {"weekday": 6, "hour": 13}),
    # UTC-12: Monday 0001-01-01 00:30 UTC is 12:30 on a Sunday before it
    ("0001-01-01 00:30:00", "0001-01-01", "Etc/GMT+12", {"weekday": 7, "hour": 12}),
])
def test_best_time_at_the_calendars_ends(tmp_path, sent_at, as_of, tz, bucket):
    """A send's local hour may fall outside Python's dates (years 1 to 9999): it still has its
    bucket, and the answer is not an unexpected OverflowError."""
    sends = [{"id": 1, "campaign_id": 1, "lead_id": 1, "sent": True, "opened": True, "replied": True,
              "bounced": False, "sent_at": sent_at}]
    root = make_project(tmp_path / "p", leads=LEADS[:1], campaigns=CAMPAIGNS[:1], campaign_leads=sends,
                        segments=SEGMENTS[:1])
    assert run_segpipe("run", "--project-dir", root, "--as-of", as_of, "--vars", "{days: 1}").returncode == 0
    done = run_segpipe("best-time", "1", "--project-dir", root, "--as-of", as_of, "--days", "1", "--tz", tz,
                       "--by", "weekday-hour", "--min-sent", "1", "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [{k: b[k] for k in ("weekday", "hour")} for b in result["buckets"] if b["leads_sent"]] == [bucket]
    assert {k: result["best"][k] for k in ("weekday", "hour")} == bucket
    listed = run_segpipe("campaigns", "1", "--project-dir", root, "--as-of", as_of, "--days", "1", "--format", "json")
    assert json.loads(listed.stdout)["campaigns"][0]["first_sent_at"] == sent_at.replace(" ", "T") + "Z"  # 0001, not 1


def test_time_zones_need_no_zone_files_on_the_machine(project):
    """Windows and slim images have no /usr/share/zoneinfo: the tzdata package answers instead,
    which segpipe itself requires (not only a test dependency that happens to bring it)."""
    assert any(re.match(r"tzdata\b", r) for r in importlib.metadata.requires("segpipe"))
    env = {**os.environ, "PYTHONTZPATH": ""}  # no system zone folder at all
    for tz in ("UTC", "Europe/Berlin"):
        done = run_segpipe("best-time", "--project-dir", project, "--as-of", AS_OF.isoformat(), "--tz", tz,
                           "--format", "json", env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout == run_segpipe("best-time", "--project-dir", project, "--as-of", AS_OF.isoformat(),
                                          "--tz", tz, "--format", "json").stdout


def test_a_run_refuses_a_window_before_the_calendar_as_top_does(tmp_path):
    root = make_project(tmp_path / "p", leads=LEADS[:1], segments=SEGMENTS[:1])
    done = run_segpipe("run", "--project-dir", root, "--as-of", "0001-01-01", "--vars", "{days: 2}")
    assert (done.returncode, done.stderr) == (2, "Error: --as-of 0001-01-01 is too early for a 2-day window (vars.days)\n")
    assert not (root / "out.duckdb").exists()


def test_trend_click_rate_divides_by_tracked_sends(project):
    result = segpipe_json(project, "trend", "2", "--by", "month", "--days", "60", "--metric", "click_rate")
    for point in result["series"][0]["points"]:
        first = dt.date.fromisoformat(point["period_start"])
        last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        inside = [s for s in sends_of(2) if first <= dt.datetime.fromisoformat(s["sent_at"]).date() < last]
        tracked = [s for s in inside if s["clicked"] is not None]
        assert (point["leads_sent"], point["clicked"]) == (len(inside), sum(s["clicked"] for s in tracked))
        assert_rates_equal({k: v for k, v in point.items() if k.startswith("click_rate")},
                           expected_rate("click_rate", sum(s["clicked"] for s in tracked), len(tracked)))


def test_trend_table_shows_intervals_and_csv_has_one_row_per_period(project):
    table = run_segpipe("trend", "1", "--project-dir", project, "--as-of", AS_OF.isoformat(), "--by", "month",
                        "--days", "40")
    assert table.returncode == 0, table.stderr
    inside = [s for s in sends_of(1) if dt.datetime.fromisoformat(s["sent_at"]).date() >= dt.date(2025, 4, 1)]
    x, n = sum(s["replied"] for s in inside), len(inside)
    low, high = proportion_confint(x, n, method="wilson")
    assert f"{100 * x / n:.1f} % ({100 * low:.1f}–{100 * high:.1f})" in table.stdout
    done = run_segpipe("trend", "1", "3", "--project-dir", project, "--as-of", AS_OF.isoformat(), "--format", "csv",
                       "--days", "15", "--by", "week")  # a cut Sunday and two whole weeks
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == 2 * 3 and rows[0].keys() == {"segment_id", "segment_name", "period_start", "leads_sent",
                                                     "replied", "reply_rate", "reply_rate_low", "reply_rate_high"}


# ---------------------------------------------------------------- best-time

def berlin_offset(utc: dt.datetime) -> int:
    """CET +1, CEST +2 from 2025-03-30 01:00 UTC (written out, not from zoneinfo)."""
    return 2 if utc >= dt.datetime(2025, 3, 30, 1) else 1


@pytest.mark.parametrize("tz, offset", [("UTC", lambda t: 0), ("America/Bogota", lambda t: -5),
                                        ("Europe/Berlin", berlin_offset)])
@pytest.mark.parametrize("by", ["hour", "weekday", "weekday-hour"])
def test_best_time_buckets_are_local_hours_and_weekdays(project, tz, offset, by):
    min_sent = 8 if by == "weekday-hour" else 20  # ~5 sends per weekday-hour bucket
    result = segpipe_json(project, "best-time", "--by", by, "--tz", tz, "--days", "45", "--min-sent", str(min_sent))
    buckets = {}
    # without SEGMENT: every send of the segments in scope, once (each counts for 1 or 2, and 3)
    for send in window_sends([1, 2, 3], 45):
        utc = dt.datetime.fromisoformat(send["sent_at"])
        local = utc + dt.timedelta(hours=offset(utc.replace(minute=0, second=0)))
        key = {"hour": (local.hour,), "weekday": (local.isoweekday(),),
               "weekday-hour": (local.isoweekday(), local.hour)}[by]
        buckets.setdefault(key, []).append(send)
    keys = {"hour": [(h,) for h in range(24)], "weekday": [(d,) for d in range(1, 8)],
            "weekday-hour": [(d, h) for d in range(1, 8) for h in range(24)]}[by]
    names = {"hour": ("hour",), "weekday": ("weekday",), "weekday-hour": ("weekday", "hour")}[by]
    assert (result["by"], result["tz"], result["metric"], result["segment_id"]) == (by, tz, "reply_rate", None)
    assert len(result["buckets"]) == len(keys)
    best, best_key = None, None
    for key, bucket in zip(keys, result["buckets"]):
        inside = buckets.get(key, [])
        x = sum(s["replied"] for s in inside)
        assert {k: bucket[k] for k in names} == dict(zip(names, key))
        assert (bucket["leads_sent"], bucket["replied"]) == (len(inside), x)
        assert_rates_equal({k: v for k, v in bucket.items() if k.startswith("reply_rate")},
                           expected_rate("reply_rate", x, len(inside)))
        if len(inside) >= min_sent:
            low = proportion_confint(x, len(inside), method="wilson")[0]
            if best is None or low > best:
                best, best_key = low, key
    assert best_key is not None
    assert tuple(result["best"][k] for k in names) == best_key


def test_best_time_of_one_segment_bounce_rate_and_min_sent(project):
    result = segpipe_json(project, "best-time", "DE buyers", "--metric", "bounce_rate", "--days", "45",
                          "--min-sent", "10")
    assert (result["segment_id"], result["segment_name"]) == (2, "DE buyers")
    by_hour = {}
    for send in window_sends([2], 45):
        by_hour.setdefault(dt.datetime.fromisoformat(send["sent_at"]).hour, []).append(send)
    eligible = {h: proportion_confint(sum(s["bounced"] for s in v), len(v), method="wilson")[1]
                for h, v in by_hour.items() if len(v) >= 10}
    lowest = min(eligible.values())
    # ties on the upper bound: more sends first, then the earlier hour
    tied = sorted((h for h, high in eligible.items() if abs(high - lowest) < 1e-12), key=lambda h: (-len(by_hour[h]), h))
    assert result["best"]["hour"] == tied[0]
    nobody = segpipe_json(project, "best-time", "2", "--days", "45", "--min-sent", "100000")
    assert nobody["best"] is None


@pytest.mark.parametrize("args, message", [
    (["best-time", "--tz", "Europe/Berln"], "--tz must be an IANA time zone"),
    (["best-time", "--tz", "../../etc/passwd"], "--tz must be an IANA time zone"),
    # files of the system's zoneinfo folder that name no IANA zone (localtime: this machine's)
    (["best-time", "--tz", "localtime"], "--tz must be an IANA time zone"),
    (["best-time", "--tz", "posixrules"], "--tz must be an IANA time zone"),
    (["best-time", "--tz", "posix/Europe/Berlin"], "got 'posix/Europe/Berlin' (did you mean 'Europe/Berlin'?)"),
    (["best-time", "--tz", "EUROPE/BERLIN"], "got 'EUROPE/BERLIN' (did you mean 'Europe/Berlin'?)"),
    (["best-time", "--tz", "america/new_york"], "(did you mean 'America/New_York'?)"),
    (["best-time", "--by", "minute"], "--by must be one of hour, weekday, weekday-hour"),
    (["best-time", "--min-sent", "-1"], "--min-sent must be 0 or more"),
    (["trend", "1", "--by", "year"], "--by must be one of day, week, month"),
    (["trend", "nobody"], "no segment with id or name 'nobody'"),
    (["trend", "1", "--workspace-id", "2"], "segment 1 'US founders' belongs to workspace 1, not to --workspace-id 2"),
    (["best-time", "3", "--workspace-id", "1"], "belongs to every workspace, not to --workspace-id 1"),
    (["trend", "1", "--metric", "reply"], "--metric must be one of"),
    (["trend", "1", "--days", "0"], "--days must be from 1 to 365"),
])
def test_bad_options_are_one_line_errors(project, args, message):
    done = run_segpipe(*args, "--project-dir", project, "--as-of", AS_OF.isoformat())
    assert done.returncode == 2
    assert done.stderr.startswith("Error: ") and message in done.stderr and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("workspace, segment", [(1, 1), (2, 2)])
def test_workspace_scope_sums_only_that_workspaces_segments(project, workspace, segment):
    result = segpipe_json(project, "best-time", "--workspace-id", str(workspace), "--days", "45", "--by", "weekday")
    # the workspace's only segment; the global one is out of scope, and with it lead 81's sends
    sends = window_sends([segment], 45)
    assert [(b["weekday"], b["leads_sent"], b["replied"]) for b in result["buckets"]] == [
        (day, len(inside := [s for s in sends if dt.datetime.fromisoformat(s["sent_at"]).isoweekday() == day]),
         sum(s["replied"] for s in inside)) for day in range(1, 8)]
    assert result["workspace_id"] == workspace
    everyone = segpipe_json(project, "best-time", "--days", "45", "--by", "weekday")
    assert sum(b["leads_sent"] for b in everyone["buckets"]) == len(window_sends([3], 45)) > len(sends)
    assert any(s["lead_id"] == 81 for s in window_sends([3], 45))
