"""The `/api` endpoints of SPEC §10: each calls the library function its CLI command calls.

Route functions are plain `def`, so FastAPI runs them in its thread pool and the
DuckDB work never blocks the event loop. Each request reads one snapshot of the
published file (snapshots.py) through its tenant's view of it (tenancy.py), and
answers with the CLI's JSON text, so an endpoint and `segpipe X --format json`
give the same bytes. A response carries an ETag naming the published run, the
tenant, the UTC day (a window without `as_of` ends today) and the request's path
and query (another URL is another answer), so a dashboard polling every minute
gets `304 Not Modified` until the next run publishes. A query parameter the
endpoint does not take is refused (422), as the CLI refuses an unknown option,
rather than silently ignored: `workspaceId=2` would otherwise rank every
workspace. The answers computed on a snapshot are kept with it (a published file
never changes), so many dashboards asking the same thing cost one query per run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Callable

from fastapi import APIRouter, Depends, HTTPException, Request, Security
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from .. import drilldown, segment_pages, top
from ..analyses.best_time import best_time as best_time_analysis
from ..analyses.compare import compare_segments
from ..analyses.variants import segment_variants
from ..analyses.trend import trend as trend_analysis
from ..errors import single_line
from ..output import json_text
from ..suggest import did_you_mean
from ..top import BIGINT_MAX, check_metric, check_range, window_ending
from .params import (AsOf, Bucket, BucketMinSent, CampaignId, Days, Limit, Metric, MinSent, Offset, Period, RankBy,
                     SegmentA, SegmentB, SegmentRef, TimeZone, WorkspaceId)
from .tenancy import Scope


class Problem(BaseModel):
    """Every error answer: one line, the CLI's message for a bad parameter (SPEC §10)."""

    detail: str


#: the error answers the OpenAPI document describes (FastAPI's default 422 body is not segpipe's)
PROBLEMS = {401: "no known token (with `serve --tokens`)", 403: "a `workspace_id` outside the token's list",
            404: "no such segment (or not the token's)", 422: "a bad parameter: the CLI's one-line message"}
router = APIRouter(prefix="/api", responses={status: {"model": Problem, "description": description}
                                             for status, description in PROBLEMS.items()})
#: `Authorization: Bearer <token>`, needed with `serve --tokens` (the OpenAPI document's scheme)
bearer = HTTPBearer(auto_error=False, description="A token of the `serve --tokens` file (not needed without one).")


def tenant(request: Request, credentials: HTTPAuthorizationCredentials | None = Security(bearer)) -> Scope | None:
    """The workspaces the request's bearer token may see (None: all of them).

    Without `--tokens` every request may see everything; with it, a request
    without a known token is refused (401)."""
    tokens, scope = request.app.state.tokens, None
    if tokens is not None:
        known, scope = tokens.scope_of(credentials.credentials.strip()) if credentials else (False, None)
        if not known:
            raise unauthorized()
    refuse_unknown_parameters(request)  # after the token: a stranger learns nothing of the API
    return scope


def unauthorized() -> HTTPException:
    return HTTPException(401, "a known token is required: send 'Authorization: Bearer <token>'",
                         headers={"WWW-Authenticate": "Bearer"})


async def is_stranger(request: Request) -> bool:
    """With `--tokens`, whether the request lacks a known token."""
    tokens = request.app.state.tokens
    if tokens is None:
        return False
    credentials = await bearer(request)
    return credentials is None or not tokens.scope_of(credentials.credentials.strip())[0]


def refuse_unknown_parameters(request: Request) -> None:
    """422 for a query parameter the endpoint does not take, naming the closest one it does."""
    taken = [param.alias for param in request.scope["route"].dependant.query_params]
    for name in request.query_params:
        if name not in taken:
            raise HTTPException(422, f"unknown parameter '{single_line(name[:60])}'{did_you_mean(name, taken)} — "
                                     f"this endpoint takes {', '.join(taken) or 'no parameters'}")


Tenant = Depends(tenant)


def cli(command: str | None):
    """Name the CLI command whose options an endpoint takes (for the CLI's messages; None: no such command)."""
    def mark(endpoint):
        endpoint.cli_command = command
        return endpoint
    return mark


def answer(request: Request, scope: Scope | None, compute: Callable, workspace_id: int | None = None) -> Response:
    """`compute(connection)` on the current snapshot as the CLI's JSON text (segpipe.output.json_text,
    byte for byte) with an ETag, or 304 once it is known to be a good answer; an answer already computed on this
    snapshot is sent again."""
    if workspace_id is not None:  # a value no workspace can have is a bad parameter (422) for every token
        check_range("--workspace-id", workspace_id, -BIGINT_MAX - 1)
    if scope is not None and workspace_id is not None and not scope.allows(workspace_id):
        raise HTTPException(403, f"this token may not see workspace {workspace_id}")
    with request.app.state.snapshots.reading() as snapshot:
        scope_tag = scope.tag if scope else "all"
        url = hashlib.blake2b(f"{request.url.path}?{request.url.query}".encode(), digest_size=6).hexdigest()
        etag = f'W/"{snapshot.identity.tag}-{scope_tag}-{dt.datetime.now(dt.timezone.utc).date():%Y%m%d}-{url}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Authorization"}
        key = (etag, request.url.path, request.url.query)
        body = snapshot.answers.get(key)
        if body is None:  # computed before any 304: a tag sent with a bad request must not skip its checks
            body = json_text(compute(snapshot.cursor(scope))).encode("utf-8")
            snapshot.answers.put(key, body)
    if not_modified(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def not_modified(if_none_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: If-None-Match compares weakly (a tag with or without `W/` is the same
    tag), and `*` matches any current answer."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


@router.get("/dashboard/top-segments", summary="Top segments (the seed dashboard's endpoint)")
@cli("top")
def top_segments(request: Request, days: Days = 30, metric: Metric = "reply_rate", limit: Limit = 5,
                 workspace_id: WorkspaceId = None, as_of: AsOf = None, min_sent: MinSent = 1,
                 rank_by: RankBy = "rate", scope=Tenant) -> Response:
    """Segments ranked by `metric` over the window: `segpipe top --format json`."""
    return answer(request, scope, lambda con: top.report(
        con, days=days, metric=metric, limit=limit, workspace_id=workspace_id, as_of=as_of, min_sent=min_sent,
        rank_by=rank_by), workspace_id)


@router.get("/segments", summary="Every segment")
@cli(None)
def segments(request: Request, workspace_id: WorkspaceId = None, scope=Tenant) -> Response:
    """The published segments with their filters (only workspace W's with `workspace_id`)."""
    return answer(request, scope, lambda con: segment_pages.segments_list(con, workspace_id=workspace_id),
                  workspace_id)


def analysis_window(metric: str, as_of: str | None, days: int):
    """compare's and variants' window, checked in the CLI's order (the metric first)."""
    check_metric(metric)
    return window_ending(as_of, days)


@router.get("/segments/compare", summary="Do two segments differ on a rate?")
@cli("compare")
def compare(request: Request, a: SegmentA, b: SegmentB, days: Days = 30, as_of: AsOf = None,
            metric: Metric = "reply_rate", workspace_id: WorkspaceId = None, scope=Tenant) -> Response:
    """Both segments' rates, their difference with its interval and test: `segpipe compare A B --format json`."""
    return answer(request, scope, lambda con: compare_segments(
        con, a, b, analysis_window(metric, as_of, days), metric, workspace_id), workspace_id)


@router.get("/segments/{segment}", summary="One segment and its figures")
@cli(None)
def segment(request: Request, segment: SegmentRef, days: Days = 30, as_of: AsOf = None,
            scope=Tenant) -> Response:
    """The segment and its counts and rates over the window."""
    return answer(request, scope, lambda con: segment_pages.segment_report(con, segment, days=days, as_of=as_of))


@router.get("/segments/{segment}/leads", summary="A segment's leads")
@cli("leads")
def leads(request: Request, segment: SegmentRef, limit: Limit = 20, offset: Offset = 0, scope=Tenant) -> Response:
    """The leads the segment matches, best score first, paged: `segpipe leads --format json`."""
    return answer(request, scope, lambda con: drilldown.leads_report(con, segment, limit=limit, offset=offset))


@router.get("/segments/{segment}/campaigns", summary="The campaigns that sent to a segment")
@cli("campaigns")
def campaigns(request: Request, segment: SegmentRef, days: Days = 30, as_of: AsOf = None,
              scope=Tenant) -> Response:
    """Per campaign, the segment's sends and outcomes in the window: `segpipe campaigns --format json`."""
    return answer(request, scope, lambda con: drilldown.campaigns_report(con, segment, days=days, as_of=as_of))


@router.get("/segments/{segment}/trend", summary="A segment's rate per day, week or month")
@cli("trend")
def trend(request: Request, segment: SegmentRef, by: Period = "week", days: Days = 30, as_of: AsOf = None,
          metric: Metric = "reply_rate", workspace_id: WorkspaceId = None, scope=Tenant) -> Response:
    """The rate per period with its 95 % Wilson interval: `segpipe trend SEGMENT --format json`."""
    return answer(request, scope, lambda con: trend_analysis(
        con, [segment], window=window_ending(as_of, days), by=by, metric=metric, workspace_id=workspace_id),
        workspace_id)


def _best_time(request, segment, by, tz, min_sent, days, as_of, metric, workspace_id, scope) -> Response:
    return answer(request, scope, lambda con: best_time_analysis(
        con, segment, window=window_ending(as_of, days), by=by, tz=tz, metric=metric, workspace_id=workspace_id,
        min_sent=min_sent), workspace_id)


@router.get("/segments/{segment}/best-time", summary="When a segment's sends do best")
@cli("best-time")
def best_time(request: Request, segment: SegmentRef, by: Bucket = "hour", tz: TimeZone = "UTC",
              min_sent: BucketMinSent = 30, days: Days = 30, as_of: AsOf = None, metric: Metric = "reply_rate",
              workspace_id: WorkspaceId = None, scope=Tenant) -> Response:
    """The rate per local hour, weekday or both, and the best bucket: `segpipe best-time SEGMENT --format json`."""
    return _best_time(request, segment, by, tz, min_sent, days, as_of, metric, workspace_id, scope)


@router.get("/best-time", summary="When the sends of every segment in scope do best")
@cli("best-time")
def best_time_overall(request: Request, by: Bucket = "hour", tz: TimeZone = "UTC", min_sent: BucketMinSent = 30,
                      days: Days = 30, as_of: AsOf = None, metric: Metric = "reply_rate",
                      workspace_id: WorkspaceId = None, scope=Tenant) -> Response:
    """`segpipe best-time --format json` without a segment: every send of the ranked scope."""
    return _best_time(request, None, by, tz, min_sent, days, as_of, metric, workspace_id, scope)


@router.get("/segments/{segment}/variants", summary="A/B variants of the campaigns that sent to a segment")
@cli("variants")
def variants(request: Request, segment: SegmentRef, campaign: CampaignId = None, days: Days = 30, as_of: AsOf = None,
             metric: Metric = "reply_rate", workspace_id: WorkspaceId = None, scope=Tenant) -> Response:
    """Each variant against its campaign's control: `segpipe variants SEGMENT --format json`."""
    return answer(request, scope, lambda con: segment_variants(
        con, segment, analysis_window(metric, as_of, days), metric, workspace_id, campaign), workspace_id)
