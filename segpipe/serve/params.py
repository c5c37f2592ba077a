"""Query parameters: the CLI's options in snake_case, with the CLI's defaults and checks.

FastAPI only turns the text into an int, with Python's int() as the CLI does
(`_cli_int`); every other check (ranges, allowed values, dates) is the CLI's own,
run by the library function the endpoint calls, so a bad value gets the CLI's
one-line message. The allowed values and ranges are declared here for the OpenAPI docs at /docs. A text that is no integer gets
click's message, as `segpipe top --days abc` prints it (`type_error`).
"""

from __future__ import annotations

from typing import Annotated, Optional

from fastapi import Path, Query
from pydantic import BeforeValidator

from ..analyses.best_time import BUCKETS
from ..analyses.trend import PERIODS
from ..errors import single_line
from ..top import BIGINT_MAX, MAX_DAYS, METRICS, RANK_BY


def _cli_int(value):
    """An int read as click reads `--limit TEXT`, with Python's int(): pydantic alone takes
    '3.0' (which the CLI refuses) and refuses a full-width '３' (which the CLI takes)."""
    return int(value) if isinstance(value, str) else value


CliInt = BeforeValidator(_cli_int)


def _int(description: str, least: int, most: int = BIGINT_MAX):
    return Query(description=description, json_schema_extra={"minimum": least, "maximum": most})


def _choice(description: str, values):
    return Query(description=description, json_schema_extra={"enum": list(values)})


Days = Annotated[int, CliInt, _int("Window length in whole UTC days.", 1, MAX_DAYS)]
AsOf = Annotated[Optional[str], Query(description="Last day of the window, YYYY-MM-DD (default: today in UTC).",
                                      json_schema_extra={"format": "date"})]
Metric = Annotated[str, _choice("The rate to rank or chart by.", METRICS)]
Limit = Annotated[int, CliInt, _int("How many to return.", 1)]
RankBy = Annotated[str, _choice("Rank by the rate, its 95 % Wilson bound or its empirical-Bayes shrunk rate.", RANK_BY)]
Offset = Annotated[int, CliInt, _int("How many leads to skip first (paging).", 0)]
MinSent = Annotated[int, CliInt, _int("Leave out segments with fewer sends in the window.", 0)]
WorkspaceId = Annotated[Optional[int], CliInt, _int("Only segments of this workspace (global segments are left out).",
                                                    -BIGINT_MAX - 1)]
SegmentRef = Annotated[str, Path(description="Segment id or exact name.")]
Period = Annotated[str, _choice("Period: day, week (from Monday) or month, in UTC.", PERIODS)]
Bucket = Annotated[str, _choice("Bucket: hour, weekday or weekday-hour, local to `tz`.", BUCKETS)]
TimeZone = Annotated[str, Query(description="IANA time zone of the hours and weekdays, e.g. Europe/Berlin.")]
CampaignId = Annotated[Optional[int], CliInt, _int("Only this campaign's variants.", -BIGINT_MAX - 1)]
SegmentA = Annotated[str, Query(description="Segment id or exact name.")]
SegmentB = Annotated[str, Query(description="Segment id or exact name.")]
BucketMinSent = Annotated[int, CliInt, _int("Fewest sends a bucket needs to be the best.", 0)]


def type_error(command: str | None, name: str, value) -> str:
    """The CLI's line for an option value that is not an int (click's wording)."""
    line = f"Invalid value for '--{name.replace('_', '-')}': '{single_line(str(value))}' is not a valid int."
    return f"{line} (see 'segpipe {command} --help')" if command else line


def missing_argument(command: str | None, name: str) -> str:
    """The CLI's line for a required argument left out (`segpipe compare 1` lacks B)."""
    line = f"Missing argument '{name.upper()}'."
    return f"{line} (see 'segpipe {command} --help')" if command else line
