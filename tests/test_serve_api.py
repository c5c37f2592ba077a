"""`segpipe serve` over HTTP, against a real server process (tests/conftest_serve.py).

Every endpoint is compared with the CLI's JSON for the same options (the CLI run
as a user runs it, in a subprocess); bad parameters with the CLI's error line;
tenancy on every endpoint with tokens limited to workspaces.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from tests import datasets
from tests.conftest import run_segpipe
from tests.conftest_serve import AS_OF, SCOPES, SEGMENTS
from tests.serve_server import get

ALL = "tok-all"
SEGMENT_WORKSPACE = {s["id"]: s.get("workspace_id") for s in SEGMENTS}
CAMPAIGN_WORKSPACE = {c["name"]: c["workspace_id"] for c in datasets.CAMPAIGNS}


def cli_json(project, *args):
    done = run_segpipe(*args, "--project-dir", project, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def cli_error(project, *args) -> str:
    """The CLI's error line, from the `segpipe` console script (click names the program in some)."""
    done = subprocess.run([str(Path(sys.executable).parent / "segpipe"), *map(str, args), "--project-dir", str(project)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("Error: "), done.stderr
    return done.stderr[len("Error: "):].rstrip("\n")


def api(server, path, token=ALL, **params):
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return get(f"{server.base_url}{path}{'?' + query if query else ''}", token)


def options(params: dict) -> list[str]:
    return [part for key, value in params.items() for part in (f"--{key.replace('_', '-')}", str(value))]


# --- every endpoint equals the CLI's JSON -------------------------------------------------------

@pytest.mark.parametrize("params", [
    {"as_of": AS_OF},
    {"as_of": AS_OF, "days": 60, "metric": "open_rate", "limit": 3},
    {"as_of": AS_OF, "metric": "bounce_rate", "min_sent": 0, "limit": 100},
    {"as_of": AS_OF, "metric": "click_rate", "workspace_id": 1},
    {"as_of": AS_OF, "metric": "conversion_rate", "min_sent": 2},
    {"as_of": AS_OF, "rank_by": "wilson", "limit": 10},
    {"as_of": AS_OF, "rank_by": "shrunk", "metric": "open_rate", "limit": 10},
])
def test_top_segments_is_the_cli_json(server, served_project, params):
    status, headers, body = api(server, "/api/dashboard/top-segments", **params)
    assert (status, headers["content-type"]) == (200, "application/json")
    assert body == cli_json(served_project, "top", *options(params))
    assert body["segments"], "the case should rank something"


def test_top_segments_defaults_are_the_clis(server, served_project):
    """No parameters at all, and the seed's empty ones (`workspace_id=&as_of=`), mean the CLI's defaults."""
    plain = api(server, "/api/dashboard/top-segments")[2]
    empty = get(f"{server.base_url}/api/dashboard/top-segments?days=30&metric=reply_rate&limit=5&workspace_id=&as_of="
                "&min_sent=", ALL)[2]
    assert plain == empty == cli_json(served_project, "top")


@pytest.mark.parametrize("params", [{"limit": 2}, {"limit": 2, "offset": 2}, {"offset": 0}, {"limit": 50, "offset": 1}])
def test_leads_are_the_cli_json_paged(server, served_project, params):
    body = api(server, "/api/segments/1/leads", **params)[2]
    assert body == cli_json(served_project, "leads", "1", *options(params))
    full = cli_json(served_project, "leads", "1", "--limit", 100)["leads"]
    offset, limit = params.get("offset", 0), params.get("limit", 20)
    assert body["leads"] == full[offset:offset + limit]


@pytest.mark.parametrize("segment", ["1", "2", "3", "5"])
def test_campaigns_are_the_cli_json(server, served_project, segment):
    body = api(server, f"/api/segments/{segment}/campaigns", as_of=AS_OF, days=60)[2]
    assert body == cli_json(served_project, "campaigns", segment, "--as-of", AS_OF, "--days", 60)


@pytest.mark.parametrize("params", [
    {"as_of": AS_OF},
    {"as_of": AS_OF, "by": "day", "days": 25, "metric": "open_rate"},
    {"as_of": AS_OF, "by": "month", "days": 90, "metric": "click_rate"},
])
@pytest.mark.parametrize("segment", ["1", "3"])
def test_trend_is_the_cli_json(server, served_project, params, segment):
    body = api(server, f"/api/segments/{segment}/trend", **params)[2]
    assert body == cli_json(served_project, "trend", segment, *options(params))
    assert any(point["leads_sent"] for point in body["series"][0]["points"])


@pytest.mark.parametrize("params", [
    {"as_of": AS_OF, "min_sent": 1},
    {"as_of": AS_OF, "by": "weekday", "tz": "America/New_York", "days": 60, "metric": "open_rate", "min_sent": 0},
    {"as_of": AS_OF, "by": "weekday-hour", "tz": "Asia/Kolkata", "metric": "bounce_rate"},
])
def test_best_time_is_the_cli_json(server, served_project, params):
    body = api(server, "/api/segments/1/best-time", **params)[2]
    assert body == cli_json(served_project, "best-time", "1", *options(params))
    overall = api(server, "/api/best-time", **params)[2]
    assert overall == cli_json(served_project, "best-time", *options(params))
    assert any(bucket["leads_sent"] for bucket in overall["buckets"])


@pytest.mark.parametrize("a,b,params", [
    ("1", "4", {"as_of": AS_OF}),
    ("3", "9", {"as_of": AS_OF, "days": 60, "metric": "open_rate"}),
    ("Acme everyone", "2", {"as_of": AS_OF, "metric": "bounce_rate"}),
])
def test_compare_is_the_cli_json(server, served_project, a, b, params):
    body = api(server, "/api/segments/compare", a=a, b=b, **params)[2]
    assert body == cli_json(served_project, "compare", a, b, *options(params))


@pytest.mark.parametrize("params", [{"as_of": AS_OF}, {"as_of": AS_OF, "campaign": 10, "days": 60},
                                    {"as_of": AS_OF, "metric": "open_rate"}])
def test_variants_are_the_cli_json(server, served_project, params):
    body = api(server, "/api/segments/1/variants", **params)[2]
    assert body == cli_json(served_project, "variants", "1", *options(params))


def test_a_segment_by_name_as_in_the_cli(server, served_project):
    name = "Quote ' \\ -- ; {{ 7*7 }} segment"
    body = api(server, f"/api/segments/{quote(name, safe='')}/leads")[2]
    assert body == cli_json(served_project, "leads", name)
    assert body["segment_name"] == name and [lead["lead_id"] for lead in body["leads"]] == [9]


def test_segments_list(server):
    body = api(server, "/api/segments")[2]
    assert [s["segment_id"] for s in body["segments"]] == sorted(s["id"] for s in SEGMENTS)
    by_id = {s["segment_id"]: s for s in body["segments"]}
    assert by_id[5]["segment_name"] == "Quote ' \\ -- ; {{ 7*7 }} segment"
    assert by_id[3] == {"segment_id": 3, "segment_name": "Acme everyone", "workspace_id": 1, "description": None,
                        "filters": {}}
    assert by_id[1]["filters"]["min_score"] == 60 and by_id[1]["description"] == "founders"
    # the filters as written in segments.yml ("US", not the "us" leads are matched by); one value is a list of one
    written = {s["id"]: s.get("filters") or {} for s in SEGMENTS}
    assert {i: s["filters"] for i, s in by_id.items() if i in written} == {**written, 2: {**written[2], "roles": ["CMO"]}}
    only_two = api(server, "/api/segments", workspace_id=2)[2]
    assert [s["segment_id"] for s in only_two["segments"]] == [8]


def test_segment_page_figures_are_tops(server, served_project):
    """A segment's figures over a window are the counts and rates `segpipe top` shows for it."""
    ranked = cli_json(served_project, "top", "--as-of", AS_OF, "--days", 45, "--min-sent", 0, "--limit", 100)
    for row in ranked["segments"]:
        status, _, body = api(server, f"/api/segments/{row['segment_id']}", as_of=AS_OF, days=45)
        assert status == 200
        assert (body["time_range_from"], body["time_range_to"]) == (ranked["time_range_from"], ranked["time_range_to"])
        assert {k: body["performance"][k] for k in row if k not in ("segment_id", "segment_name")} == \
               {k: v for k, v in row.items() if k not in ("segment_id", "segment_name")}
        assert (body["segment_id"], body["segment_name"]) == (row["segment_id"], row["segment_name"])


def test_segment_page_response_hours(server):
    """Segment 1 in January: lead 1's reply 6 h after its 09:00 send; the other replies have no replied_at."""
    body = api(server, "/api/segments/1", as_of=AS_OF, days=31)[2]
    assert body["performance"]["avg_response_hours"] == 6.0


def test_segment_page_rounds_response_hours_half_away_from_zero():
    """0.00015 h (one 0.54 s reply) is 0.0002 h, as a rate would round; the float 0.00015 lies
    below the half, so rounding the float gave 0.0001."""
    import duckdb

    from segpipe.segment_pages import COUNTS, segment_report

    con = duckdb.connect()
    con.execute("create table segments as select 1::bigint as segment_id, 'A' as segment_name, "
                "null::bigint as workspace_id, null as description, '{}' as filters")
    con.execute(f"create table segment_performance_daily as select 1::bigint as segment_id, date '2025-01-10' as day, "
                f"{', '.join(f'1::bigint as {c}' for c in COUNTS)}, 1::bigint as timed_replies, "
                f"540000::bigint as response_micros_sum")
    assert round(540000 / 3_600_000_000, 4) == 0.0001  # the float rounded
    assert segment_report(con, "1", days=30, as_of="2025-01-31")["performance"]["avg_response_hours"] == 0.0002


def test_healthz_and_docs(server):
    status, _, body = get(server.base_url + "/healthz")
    assert status == 200 and body["status"] == "ok" and body["published_at"].endswith("Z")
    schema = get(server.base_url + "/openapi.json")[2]
    top = {p["name"]: p for p in schema["paths"]["/api/dashboard/top-segments"]["get"]["parameters"]}
    assert top["metric"]["schema"]["enum"] == ["reply_rate", "open_rate", "bounce_rate", "click_rate", "conversion_rate"]
    assert (top["days"]["schema"]["minimum"], top["days"]["schema"]["maximum"], top["days"]["schema"]["default"]) == (1, 365, 30)
    # the error bodies are described as they are sent, one `detail` line, and the token as a bearer scheme
    responses = schema["paths"]["/api/dashboard/top-segments"]["get"]["responses"]
    assert {status: responses[status]["content"]["application/json"]["schema"] for status in ("401", "403", "404", "422")} \
        == dict.fromkeys(("401", "403", "404", "422"), {"$ref": "#/components/schemas/Problem"})
    assert schema["components"]["schemas"]["Problem"]["properties"] == {"detail": {"title": "Detail", "type": "string"}}
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert get(server.base_url + "/docs")[0] == 200


@pytest.mark.parametrize("path", ["/healthz", "/", "/api/dashboard/top-segments", "/api/segments/1/leads",
                                  "/api/segments/nope"])
def test_head_answers_as_get_without_a_body(server, path):
    """Uptime checks and caches send HEAD: the GET's status and headers, no body."""
    import urllib.error
    import urllib.request

    status, headers, _ = get(server.base_url + path, ALL)
    request = urllib.request.Request(server.base_url + path, method="HEAD", headers={"Authorization": f"Bearer {ALL}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            head = (response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        head = (exc.code, dict(exc.headers), exc.read())
    assert head[0] == status and head[2] == b""
    assert {k.lower(): v for k, v in head[1].items() if k.lower() != "date"} == {
        k: v for k, v in headers.items() if k != "date"}


# --- bad parameters: the CLI's line --------------------------------------------------------------

@pytest.mark.parametrize("path,params,cli", [
    ("/api/dashboard/top-segments", {"days": 0}, ["top", "--days", "0"]),
    ("/api/dashboard/top-segments", {"days": 366}, ["top", "--days", "366"]),
    ("/api/dashboard/top-segments", {"days": "abc"}, ["top", "--days", "abc"]),
    ("/api/dashboard/top-segments", {"limit": 0}, ["top", "--limit", "0"]),
    ("/api/dashboard/top-segments", {"min_sent": -1}, ["top", "--min-sent=-1"]),
    ("/api/dashboard/top-segments", {"metric": "reply"}, ["top", "--metric", "reply"]),
    ("/api/dashboard/top-segments", {"rank_by": "wilsn"}, ["top", "--rank-by", "wilsn"]),
    ("/api/dashboard/top-segments", {"metric": "x'; drop table segments; --"}, ["top", "--metric", "x'; drop table segments; --"]),
    ("/api/dashboard/top-segments", {"as_of": "2025-02-30"}, ["top", "--as-of", "2025-02-30"]),
    ("/api/dashboard/top-segments", {"workspace_id": "one"}, ["top", "--workspace-id", "one"]),
    ("/api/dashboard/top-segments", {"workspace_id": 2**63}, ["top", "--workspace-id", str(2**63)]),
    ("/api/segments/1/leads", {"limit": 0}, ["leads", "1", "--limit", "0"]),
    ("/api/segments/1/leads", {"offset": -1}, ["leads", "1", "--offset=-1"]),
    ("/api/segments/1/leads", {"limit": "many"}, ["leads", "1", "--limit", "many"]),
    ("/api/segments/1/campaigns", {"days": 400}, ["campaigns", "1", "--days", "400"]),
    ("/api/segments/1/campaigns", {"as_of": "yesterday"}, ["campaigns", "1", "--as-of", "yesterday"]),
    ("/api/segments/1/trend", {"by": "year"}, ["trend", "1", "--by", "year"]),
    ("/api/segments/1/trend", {"metric": "reply"}, ["trend", "1", "--metric", "reply"]),
    ("/api/segments/1/trend", {"days": "x"}, ["trend", "1", "--days", "x"]),
    ("/api/segments/3/trend", {"workspace_id": 2}, ["trend", "3", "--workspace-id", "2"]),
    ("/api/segments/1/best-time", {"tz": "Mars/Base"}, ["best-time", "1", "--tz", "Mars/Base"]),
    ("/api/segments/1/best-time", {"by": "minute"}, ["best-time", "1", "--by", "minute"]),
    ("/api/best-time", {"min_sent": -1}, ["best-time", "--min-sent=-1"]),
    ("/api/dashboard/top-segments", {"rank_by": "bayes"}, ["top", "--rank-by", "bayes"]),
    ("/api/segments/compare", {"a": 1}, ["compare", "1"]),
    ("/api/segments/compare", {"a": 1, "b": "US SaaS Founders"}, ["compare", "1", "US SaaS Founders"]),
    ("/api/segments/compare", {"a": 1, "b": 2, "metric": "x"}, ["compare", "1", "2", "--metric", "x"]),
    ("/api/segments/1/variants", {"campaign": "x"}, ["variants", "1", "--campaign", "x"]),
    ("/api/segments/1/variants", {"campaign": 2**64}, ["variants", "1", "--campaign", str(2**64)]),
])
def test_bad_parameters_are_422_with_the_cli_line(server, served_project, path, params, cli):
    status, _, body = api(server, path, **params)
    assert (status, body) == (422, {"detail": cli_error(served_project, *cli)})


@pytest.mark.parametrize("path,name,value,cli", [
    ("/api/dashboard/top-segments", "limit", "3.0", ["top"]),
    ("/api/dashboard/top-segments", "days", "7.0", ["top"]),
    ("/api/dashboard/top-segments", "limit", "\uff13", ["top"]),  # a full-width 3: Python's int() reads it
    ("/api/segments/1/leads", "offset", "1.0", ["leads", "1"]),
    ("/api/segments/1/variants", "campaign", "2.0", ["variants", "1"]),
])
def test_an_integer_text_is_read_as_the_cli_reads_it(server, served_project, path, name, value, cli):
    """'3.0' is no int to the CLI (click: int() of the text), so not to the API either."""
    status, _, body = api(server, path, as_of=AS_OF if cli[0] != "leads" else None, **{name: value})
    args = [*cli, f"--{name.replace('_', '-')}", value, *(["--as-of", AS_OF] if cli[0] != "leads" else [])]
    done = run_segpipe(*args, "--project-dir", served_project, "--format", "json")
    if done.returncode == 0:
        assert (status, body) == (200, json.loads(done.stdout))
    else:
        assert (status, body) == (422, {"detail": cli_error(served_project, *args)})


@pytest.mark.parametrize("path", ["/api/segments/99", "/api/segments/99/leads", "/api/segments/99/campaigns",
                                  "/api/segments/Founders/leads", "/api/segments/99/trend",
                                  "/api/segments/99/best-time", "/api/segments/99/variants",
                                  "/api/segments/compare?a=99&b=1",
                                  "/api/segments/" + "1" * 4301 + "/leads"])  # beyond int()'s 4300 digits: no id
def test_unknown_segment_is_404_with_the_cli_line(server, served_project, path):
    status, _, body = api(server, path)
    ref = "99" if "compare" in path else path.split("/")[3]
    assert (status, body) == (404, {"detail": cli_error(served_project, "leads", ref)})


# --- tokens ---------------------------------------------------------------------------------------

ENDPOINTS = ["/api/dashboard/top-segments", "/api/segments", "/api/segments/1", "/api/segments/1/leads",
             "/api/segments/1/campaigns", "/api/segments/1/trend", "/api/segments/1/best-time", "/api/best-time",
             "/api/segments/1/variants", "/api/segments/compare?a=1&b=2"]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic tok-all"},
                                     {"Authorization": "Bearer tok-all2"}, {"Authorization": "Bearer tok-al"},
                                     {"Authorization": "Bearer"}])
def test_api_needs_a_known_token(server, path, headers):
    status, head, body = get(server.base_url + path + ("&" if "?" in path else "?") + "days=0", headers=headers)  # 401 before any 422
    assert (status, head.get("www-authenticate")) == (401, "Bearer")
    assert body == {"detail": "a known token is required: send 'Authorization: Bearer <token>'"}


@pytest.mark.parametrize("method,path", [("GET", "/api/nope"), ("GET", "/api/segments/1/nope"),
                                         ("GET", "/api/segments/1/leads/"),  # no redirect to the slashless path
                                         ("POST", "/api/segments"), ("DELETE", "/api/segments/1")])
def test_every_api_request_needs_a_known_token_even_to_no_endpoint(server, method, path):
    """A stranger is told 401 on any /api path, not which paths and methods exist (404, 405);
    with a known token those answers are as before."""
    request = urllib.request.Request(server.base_url + path, method=method)
    try:
        urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, json.loads(exc.read())
    assert (status, body) == (401, {"detail": "a known token is required: send 'Authorization: Bearer <token>'"})
    request.add_header("Authorization", f"Bearer {ALL}")
    try:
        urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status == (404 if method == "GET" else 405)


@pytest.mark.parametrize("query", ["metric=reply%0Arate", "as_of=2025%0D%0A01", "x%0Ay=1"])
def test_a_line_break_in_a_parameter_keeps_the_detail_one_line(server, query):
    """SPEC §10: a one-line `detail`; the value's line break is shown as \\n, as the CLI shows it."""
    status, _, body = get(f"{server.base_url}/api/dashboard/top-segments?{query}", ALL)
    assert status == 422 and "\n" not in body["detail"] and "\r" not in body["detail"]
    assert "\\n" in body["detail"], body


def test_health_docs_and_widget_need_no_token(server):
    for path in ("/healthz", "/", "/openapi.json", "/static/vendor/uplot/uPlot.iife.min.js"):
        assert get(server.base_url + path)[0] == 200, path


@pytest.mark.parametrize("token,workspace", [("tok-ws1", 2), ("tok-ws1", 3), ("tok-ws2", 1), ("tok-ws12", 3)])
@pytest.mark.parametrize("path", ["/api/dashboard/top-segments", "/api/segments", "/api/segments/9/trend",
                                  "/api/best-time"])
def test_a_workspace_outside_the_tokens_list_is_403(server, token, workspace, path):
    status, _, body = api(server, path, token=token, workspace_id=workspace)
    assert (status, body) == (403, {"detail": f"this token may not see workspace {workspace}"})


@pytest.mark.parametrize("token", ["tok-ws1", ALL])
def test_a_workspace_id_no_workspace_can_have_is_422_for_every_token(server, token):
    """A bad value (SPEC §10: 422), not a workspace outside the token's list (403), whatever the token."""
    status, _, body = api(server, "/api/dashboard/top-segments", token=token, workspace_id=2**63)
    assert (status, body) == (422, {"detail": f"--workspace-id must be from {-2**63} to {2**63 - 1}, got {2**63}"})


def visible(token: str, segment_id: int) -> bool:
    scope = SCOPES[token]
    return scope is None or SEGMENT_WORKSPACE[segment_id] in scope


def segment_ids_in(body) -> set[int]:
    """Every segment id anywhere in a JSON answer."""
    found = set()
    if isinstance(body, dict):
        found |= {v for k, v in body.items() if k == "segment_id"}
        for v in body.values():
            found |= segment_ids_in(v)
    elif isinstance(body, list):
        for v in body:
            found |= segment_ids_in(v)
    return found


@pytest.mark.parametrize("token", sorted(SCOPES))
def test_tokens_see_only_their_workspaces_on_every_endpoint(server, served_project, token):
    scope = SCOPES[token]
    ids = sorted(s["id"] for s in SEGMENTS)
    mine = [i for i in ids if visible(token, i)]
    # top: only the token's segments are ranked; with one workspace exactly `top --workspace-id W`
    top = api(server, "/api/dashboard/top-segments", token=token, as_of=AS_OF, min_sent=0, limit=100)[2]
    assert sorted(s["segment_id"] for s in top["segments"]) == mine
    if scope is not None and len(scope) == 1:
        (workspace,) = scope
        assert top == cli_json(served_project, "top", "--as-of", AS_OF, "--min-sent", 0, "--limit", 100,
                               "--workspace-id", workspace)
    listed = api(server, "/api/segments", token=token)[2]
    assert [s["segment_id"] for s in listed["segments"]] == mine
    # best time over every segment in scope: with one workspace, the buckets of `best-time --workspace-id W`
    overall = api(server, "/api/best-time", token=token, as_of=AS_OF, days=60)[2]
    if scope is not None and len(scope) == 1:
        assert overall["buckets"] == cli_json(served_project, "best-time", "--as-of", AS_OF, "--days", 60,
                                              "--workspace-id", workspace)["buckets"]
    for segment_id in ids:
        for suffix in ("", "/leads", "/campaigns", "/trend", "/best-time", "/variants"):
            window = {} if suffix == "/leads" else {"as_of": AS_OF, "days": 60}  # leads take no window
            status, _, body = api(server, f"/api/segments/{segment_id}{suffix}", token=token, **window)
            if visible(token, segment_id):
                assert status == 200, (segment_id, suffix, body)
                assert segment_ids_in(body) == {segment_id}
                if suffix == "/leads":
                    assert all(scope is None or lead["workspace_id"] in scope for lead in body["leads"])
                if suffix == "/campaigns":
                    assert all(scope is None or CAMPAIGN_WORKSPACE[c["campaign_name"]] in scope
                               for c in body["campaigns"])
                if suffix == "/variants":
                    assert all(scope is None or CAMPAIGN_WORKSPACE[c["campaign_name"]] in scope
                               for c in body["campaigns"])
            else:
                assert status == 404, (segment_id, suffix, body)
                assert body == {"detail": f"no segment with id or name '{segment_id}' — "
                                          "`segpipe top --min-sent 0 --limit 1000` lists them"}


@functools.lru_cache
def cli_compare(project, a, b):
    return cli_json(project, "compare", a, b, "--as-of", AS_OF, "--days", 60)


@pytest.mark.parametrize("token", sorted(SCOPES))
def test_compare_only_within_the_tokens_segments(server, served_project, token):
    ids = [1, 3, 8, 9]  # global, workspace 1, workspace 2, workspace 1
    shared = []
    for a, b in [(a, b) for a in ids for b in ids if a < b]:
        status, _, body = api(server, "/api/segments/compare", token=token, a=a, b=b, as_of=AS_OF, days=60)
        if visible(token, a) and visible(token, b):
            assert status == 200 and body == cli_compare(served_project, a, b)
            shared.append(body["shared_sends"])
        else:
            hidden = a if not visible(token, a) else b
            assert (status, body["detail"].split(" — ")[0]) == (404, f"no segment with id or name '{hidden}'")
    # the sends two segments share come through the tenant's view of the set table
    assert any(shared) or token == "tok-ws2", shared


def test_an_unknown_segments_hint_names_only_the_tokens_segments(server):
    """Asking workspace 1's token for workspace 2's segment by name: 404, and no other tenant's name in the hint."""
    status, _, body = api(server, f"/api/segments/{quote('Workspace 2 CMO')}", token="tok-ws1")
    assert status == 404 and "Workspace 2" not in body["detail"].split("'")[3:] and "did you mean" not in body["detail"]
    status, _, body = api(server, f"/api/segments/{quote('Acme founder')}", token="tok-ws1")
    assert (status, body["detail"].split(" — ")[0]) == (404, "no segment with id or name 'Acme founder' (did you mean 'Acme founders'?)")


# --- caching --------------------------------------------------------------------------------------

def test_etag_gives_304_until_the_next_run(server, served_project):
    url = f"{server.base_url}/api/dashboard/top-segments?as_of={AS_OF}"
    status, headers, body = get(url, ALL)
    assert status == 200 and headers["etag"].startswith('W/"')
    # it names the run by a digest: the published file's size would tell every tenant how much data all have
    file_size = (served_project / "out.duckdb").stat().st_size
    assert f"{file_size:x}" not in headers["etag"]
    again = get(url, ALL, headers={"If-None-Match": headers["etag"]})
    assert (again[0], again[1]["etag"], again[2]) == (304, headers["etag"], "")
    other_tenant = get(url, "tok-ws1", headers={"If-None-Match": headers["etag"]})
    assert other_tenant[0] == 200 and other_tenant[1]["etag"] != headers["etag"]
    assert get(url, ALL, headers={"If-None-Match": 'W/"stale"'})[0] == 200
    # If-None-Match compares weakly (RFC 9110 §13.1.2): the tag without W/, in a list, or *
    for header in [headers["etag"].removeprefix("W/"), f'"other", {headers["etag"]}', "*"]:
        assert get(url, ALL, headers={"If-None-Match": header})[0] == 304, header
    # another URL is another answer: its own ETag, and its checks still run
    tag = {"If-None-Match": headers["etag"]}
    other = get(f"{url}&metric=open_rate", ALL, headers=tag)
    assert other[0] == 200 and other[1]["etag"] != headers["etag"]
    assert other[2] == cli_json(served_project, "top", "--as-of", AS_OF, "--metric", "open_rate")
    assert get(f"{url}&days=0", ALL, headers=tag)[0] == 422
    # a tag forged for a bad request (the run's tag, this URL's digest) does not skip its checks either
    path_query = f"/api/dashboard/top-segments?as_of={AS_OF}&days=0"
    digest = hashlib.blake2b(path_query.encode(), digest_size=6).hexdigest()
    forged = {"If-None-Match": f'{headers["etag"].rsplit("-", 1)[0]}-{digest}"'}
    assert get(f"{server.base_url}{path_query}", ALL, headers=forged)[0] == 422
    assert get(f"{server.base_url}/api/segments/999", ALL, headers=tag)[0] == 404


@pytest.mark.parametrize("path, query, detail", [
    ("/api/dashboard/top-segments", "workspaceId=2", "unknown parameter 'workspaceId' (did you mean 'workspace_id'?) — "
     "this endpoint takes days, metric, limit, workspace_id, as_of, min_sent, rank_by"),
    ("/api/segments/1/leads", "limit=1&ofset=2", "unknown parameter 'ofset' (did you mean 'offset'?) — "
     "this endpoint takes limit, offset"),
])
def test_an_unknown_parameter_is_422_like_an_unknown_cli_option(server, path, query, detail):
    status, _, body = get(f"{server.base_url}{path}?{query}", ALL)
    assert (status, body) == (422, {"detail": detail})
    assert get(f"{server.base_url}{path}?{query}")[0] == 401  # the token first


def test_access_log_lines(server):
    api(server, "/api/segments/1/leads", limit=1)
    line = '"GET /api/segments/1/leads?limit=1 HTTP/1.1" 200 '
    deadline = time.monotonic() + 10  # the line is written just after the answer is sent
    while line not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert re.search(r'127\.0\.0\.1:\d+ "GET /api/segments/1/leads\?limit=1 HTTP/1\.1" 200 \d+ \d+\.\dms', server.log())
    assert "tok-all" not in server.log()


def test_a_newline_in_the_path_never_forges_an_access_log_line(server):
    """The path is logged percent-encoded (as uvicorn's own access log): `%0A` stays `%0A`."""
    forged = '127.0.0.1:1 "GET /api/forged HTTP/1.1" 200 0 0.1ms'
    assert api(server, "/api/segments/" + quote(f"x\n{forged}\n", safe="") + "/leads")[0] == 404
    line = '"GET /api/segments/x%0A127.0.0.1%3A1%20%22GET%20/api/forged'
    deadline = time.monotonic() + 10
    while line not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert line in server.log() and not any(row.startswith(forged) for row in server.log().splitlines())
