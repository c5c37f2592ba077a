"""Shared fixtures: tiny segpipe projects in tmp_path, and the CLI as users run it."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from segpipe.cli import app

pytest_plugins = ["tests.conftest_pg", "tests.conftest_serve", "tests.conftest_spark"]

REPO = Path(__file__).resolve().parents[1]

LEAD_COLUMNS = ["id", "workspace_id", "email", "source", "score", "country", "role",
                "company_size", "industry", "tags", "created_at", "metadata"]
CAMPAIGN_COLUMNS = ["id", "workspace_id", "name", "segment_id", "sent_at"]
SEND_COLUMNS = ["id", "campaign_id", "lead_id", "sent", "opened", "replied", "bounced",
                "clicked", "converted", "sent_at", "replied_at", "variant"]


@pytest.fixture(scope="session", autouse=True)
def private_home(tmp_path_factory):
    """A throwaway HOME for the whole session, so DuckDB installs extensions into
    `<it>/.duckdb/extensions`, not the user's real ~/.duckdb (DuckDB reads HOME
    for every new connection; there is no other variable it uses for that folder).
    Set in os.environ, so the subprocesses the tests start inherit it too.
    tests/pg_server.py still creates an OS user to run PostgreSQL as root."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        yield home


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Write dict rows as CSV; missing keys become empty fields."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _csv_value(row.get(c)) for c in columns})


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(value)
    return value


def make_project(root: Path, *, leads=(), campaigns=(), campaign_leads=(), workspaces=None,
                 segments=(), project: dict | None = None, with_campaigns: bool = True) -> Path:
    """A project on the given rows using segpipe's built-in models and macros: its own
    `models/` and `macros/` are empty, for a test to add to or override."""
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "macros").mkdir()
    config = {"name": "test_project", "database": "out.duckdb", "vars": {"days": 30}}
    config.update(project or {})
    (root / "project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    seeds = root / "seeds"
    write_csv(seeds / "leads.csv", LEAD_COLUMNS, list(leads))
    if with_campaigns:
        write_csv(seeds / "campaigns.csv", CAMPAIGN_COLUMNS, list(campaigns))
        write_csv(seeds / "campaign_leads.csv", SEND_COLUMNS, list(campaign_leads))
    if workspaces is not None:
        write_csv(seeds / "workspaces.csv", ["id", "name"], list(workspaces))
    segments_doc = {"segments": list(segments)}
    (seeds / "segments.yml").write_text(yaml.safe_dump(segments_doc, sort_keys=False, allow_unicode=True))
    return root


@pytest.fixture
def cli():
    """Invoke the Typer app in-process; returns the Result (stdout, stderr, exit_code)."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke


def run_segpipe(*args: str, cwd: Path | None = None, env=None, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run the installed CLI in a subprocess, exactly as a user would."""
    return subprocess.run([sys.executable, "-m", "segpipe", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def on_one_utc_day(action):
    """(day, action()) where the UTC date was `day` both before and after the action.

    For commands run without --as-of, whose default window ends today: an action
    that straddles midnight UTC is done again (the second try starts just after
    midnight, so it cannot straddle another), and the caller compares or checks
    outputs that all saw the same `day`. No timing involved."""
    for _ in range(2):
        day = utc_today()
        result = action()
        if utc_today() == day:
            return day, result
    raise AssertionError("the UTC date changed during each of two tries")


def yaml_key_line(path: Path, dotted: str) -> int:
    """The line of key `a.b.c` in a YAML file, from PyYAML's node marks (for messages that
    name the key's own line)."""
    node, line = yaml.compose(Path(path).read_text()), None
    for name in dotted.split("."):
        key, node = next((k, v) for k, v in node.value if k.value == name)
        line = key.start_mark.line + 1
    return line
