"""The CLI as users meet it: exact error lines and exit codes, and the everyday commands.

Expectations for `leads` and `campaigns` are counted in plain Python from the
rows the test wrote, under both attribution modes.
"""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction
from unittest.mock import ANY

import duckdb
import pytest
from typer.testing import CliRunner

from segpipe import __version__
from segpipe.cli import app
from tests.conftest import make_project, run_segpipe

SEGMENTS = [
    {"id": 1, "name": "Founders", "filters": {"roles": ["Founder"]}},
    {"id": 2, "name": "CMOs", "filters": {"roles": ["CMO"]}},
    {"id": 3, "name": "Acme only", "workspace_id": 1, "filters": {}},
]
LEADS = [
    {"id": i, "workspace_id": 1 if i <= 4 else 2, "email": f"l{i}@x.io", "score": score, "role": role,
     "country": "US", "tags": ["a", "b"] if i == 1 else None, "created_at": "2024-01-01 00:00:00"}
    for i, score, role in [(1, 70, "Founder"), (2, 90, "Founder"), (3, None, "Founder"),
                           (4, 50, "CMO"), (5, 80, "CMO"), (6, 40, "Engineer")]
]
CAMPAIGNS = [
    {"id": 10, "workspace_id": 1, "name": "To founders", "segment_id": 1, "sent_at": "2025-01-05 09:00:00"},
    {"id": 11, "workspace_id": 1, "name": "To CMOs", "segment_id": 2, "sent_at": "2025-01-12 09:00:00"},
    {"id": 12, "workspace_id": 2, "name": "Untargeted", "segment_id": None, "sent_at": "2025-01-20 09:00:00"},
]
# (campaign, lead, opened, replied, bounced, own sent_at)
SENDS = [(10, 1, True, True, False, None), (10, 2, True, False, False, None), (10, 4, False, False, True, None),
         (11, 4, True, True, False, None), (11, 5, True, False, False, None), (11, 1, True, False, False, None),
         (12, 1, False, False, False, None), (12, 5, True, True, False, None), (12, 6, True, False, False, None),
         (10, 3, True, True, False, "2024-12-20 10:00:00")]  # outside the window
CAMPAIGN_LEADS = [{"id": i, "campaign_id": c, "lead_id": lead, "sent": True, "opened": o, "replied": r, "bounced": b,
                   "sent_at": at} for i, (c, lead, o, r, b, at) in enumerate(SENDS, 1)]
WINDOW_ARGS = ("--days", 31, "--as-of", "2025-01-31")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Built twice: out.duckdb with matching attribution, campaign.duckdb with campaign attribution."""
    root = make_project(tmp_path_factory.mktemp("cli"), leads=LEADS, campaigns=CAMPAIGNS,
                        campaign_leads=CAMPAIGN_LEADS, segments=SEGMENTS)
    assert invoke("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    built = invoke("run", "--project-dir", root, "--as-of", "2025-01-31", "--db", "campaign.duckdb",
                   "--vars", "{attribution: campaign}")
    assert built.exit_code == 0, built.output
    return root


def assert_error(result, line: str, code: int = 2) -> None:
    assert (result.exit_code, result.stderr, result.stdout) == (code, f"Error: {line}\n", "")


# --- errors: one line, exit 2 --------------------------------------------------------------

@pytest.mark.parametrize("args,line", [
    (["--days", 0], "--days must be from 1 to 365, got 0"),
    (["--days", 366], "--days must be from 1 to 365, got 366"),
    (["--limit", 0], "--limit must be 1 or more, got 0"),
    (["--min-sent", -1], "--min-sent must be 0 or more, got -1"),
    (["--metric", "reply"], "--metric must be one of reply_rate, open_rate, bounce_rate, click_rate, conversion_rate; "
                            "got 'reply' (did you mean 'reply_rate'?)"),
    (["--as-of", "2025-02-30"], "--as-of must be a date like 2025-01-31, got '2025-02-30'"),
    (["--as-of", "31/01/2025"], "--as-of must be a date like 2025-01-31, got '31/01/2025'"),
    (["--as-of", "20250131"], "--as-of must be a date like 2025-01-31, got '20250131'"),
    (["--format", "xml"], "--format must be one of table, json, csv, parquet, xlsx; got 'xml'"),
    (["--bogus"], "No such option: --bogus (see 'segpipe top --help')"),
    # numbers and dates too large or early for DuckDB and Python
    (["--limit", 2**63], f"--limit must be from 1 to {2**63 - 1}, got {2**63}"),
    (["--min-sent", 10**42], f"--min-sent must be from 0 to {2**63 - 1}, got {10**42}"),
    (["--workspace-id", 10**42], f"--workspace-id must be from {-2**63} to {2**63 - 1}, got {10**42}"),
    (["--as-of", "0001-01-05"], "--as-of 0001-01-05 is too early for a 30-day window"),
    # a value's line break is shown as \n: the message stays one line
    (["--metric", "reply\nrate"], "--metric must be one of reply_rate, open_rate, bounce_rate, click_rate, "
                                  "conversion_rate; got 'reply\\nrate' (did you mean 'reply_rate'?)"),
])
def test_top_bad_values_exit_2_with_one_line(project, args, line):
    assert_error(invoke("top", "--project-dir", project, *args), line)


@pytest.mark.parametrize("days", ["abc", "1\n2"])
def test_a_value_of_the_wrong_type_is_one_line_too(project, days):
    """Typer words this itself (its wording differs between versions)."""
    result = invoke("top", "--project-dir", project, "--days", days)
    assert (result.exit_code, result.stdout, result.stderr.count("\n")) == (2, "", 1)
    assert result.stderr.startswith("Error: Invalid value for '--days': ")
    assert result.stderr.endswith(" (see 'segpipe top --help')\n")


def test_top_without_a_published_database(tmp_path):
    root = make_project(tmp_path / "p", segments=SEGMENTS)
    assert_error(invoke("top", "--project-dir", root),
                 f"no published database at {root.resolve() / 'out.duckdb'} — run `segpipe run` first")


def test_top_without_a_project(tmp_path):
    assert_error(invoke("top", "--project-dir", tmp_path),
                 f"{tmp_path.resolve()}: no project.yml here — pass the folder of a segpipe project (or run `segpipe init DIR`)")


def test_an_error_in_a_real_process_is_one_line_without_traceback(project):
    done = run_segpipe("top", "--project-dir", project, "--days", "366")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "Error: --days must be from 1 to 365, got 366\n"


def test_debug_shows_the_traceback(project):
    done = run_segpipe("--debug", "top", "--project-dir", project, "--days", "0")
    assert done.returncode == 2  # the exit code of SPEC §7 all the same
    assert "Traceback" in done.stderr and "ConfigError: --days must be from 1 to 365, got 0" in done.stderr


def test_a_file_without_the_published_tables(project, tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    result = invoke("top", "--project-dir", project, "--db", empty)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: the published database lacks what this command reads (Catalog Error: ")
    assert result.stderr.endswith(" — rebuild it with `segpipe run`\n")


def broken_copy(project, tmp_path, sql: str):
    """A copy of the published file, changed by `sql`."""
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes((project / "out.duckdb").read_bytes())
    with duckdb.connect(str(broken)) as con:
        con.execute(sql)
    return broken


def test_a_db_that_is_no_duckdb_file_or_no_name_is_one_line(project):
    """`--db seeds/leads.csv` got DuckDB's 'Cannot launch in-memory database in read-only mode!';
    `--db ''` (an unset shell variable) silently used project.yml's database."""
    leads_csv = project / "seeds" / "leads.csv"
    assert run_segpipe("top", "--project-dir", project, "--db", leads_csv).stderr == (
        f"Error: cannot open {leads_csv}: it is not a DuckDB database — --db names the file `segpipe run` publishes\n")
    for command in ("top", "run"):
        done = run_segpipe(command, "--project-dir", project, "--db", "")
        assert (done.returncode, done.stderr) == (2, "Error: --db needs a file name, e.g. --db segments.duckdb (or "
                                                     "leave it out for project.yml's)\n")


def test_a_file_missing_a_column_is_one_line_too(project, tmp_path):
    broken = broken_copy(project, tmp_path, "alter table segment_performance_daily drop column opened")
    result = invoke("top", "--project-dir", project, "--db", broken)
    assert (result.exit_code, result.stdout, result.stderr.count("\n")) == (2, "", 1)
    assert result.stderr.startswith("Error: the published database lacks what this command reads (Binder Error: ")


def test_a_folder_where_a_seed_should_be_is_a_configuration_error(tmp_path):
    """SPEC §7: a usage or configuration error is one line and exit 2, as for a bad segments.yml
    (it was 'unexpected IsADirectoryError', exit 1); the published file is left as it was."""
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=CAMPAIGN_LEADS,
                        segments=SEGMENTS)
    assert run_segpipe("run", "--project-dir", root, "--as-of", "2025-01-31").returncode == 0
    published = (root / "out.duckdb").read_bytes()
    seed = root / "seeds" / "campaigns.csv"
    seed.unlink()
    seed.mkdir()
    done = run_segpipe("run", "--project-dir", root, "--as-of", "2025-01-31", "--full-refresh")
    assert (done.returncode, done.stderr) == (2, f"Error: cannot use {seed}: Is a directory — fix the path or its "
                                                 "permissions\n")
    assert (root / "out.duckdb").read_bytes() == published


def test_a_reader_that_stops_reading_is_no_error(project):
    """`segpipe leads X | head`: no `Error:` line, the exit status of a SIGPIPE."""
    import subprocess
    import sys

    reader = subprocess.Popen([sys.executable, "-m", "segpipe", "leads", "1", "--project-dir", str(project)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.close()  # before segpipe writes anything
    stderr = reader.stderr.read()
    assert (reader.wait(timeout=120), stderr) == (141, b"")


def test_output_into_a_missing_folder(project, tmp_path):
    target = tmp_path / "nowhere" / "top.csv"
    assert_error(invoke("top", "--project-dir", project, "--output", target),
                 f"--output: cannot write {target}: No such file or directory")


@pytest.mark.parametrize("command", [["leads", "1"], ["campaigns", "1"], ["test"]])
def test_readers_without_a_published_database(tmp_path, command):
    root = make_project(tmp_path / "p", segments=SEGMENTS)
    assert_error(invoke(*command, "--project-dir", root),
                 f"no published database at {root.resolve() / 'out.duckdb'} — run `segpipe run` first")


def test_an_unknown_command_is_one_line(project):
    result = invoke("tpo")
    assert result.exit_code == 2
    assert result.stderr == "Error: No such command 'tpo'. Did you mean 'top'? (see 'segpipe --help')\n"


def test_version():
    result = invoke("--version")
    assert (result.exit_code, result.stdout) == (0, f"segpipe {__version__}\n")


# --- leads ----------------------------------------------------------------------------------

def founders_best_first():
    rows = [lead for lead in LEADS if lead["role"] == "Founder"]
    return [lead["id"] for lead in sorted(rows, key=lambda lead: (lead["score"] is None, -(lead["score"] or 0), lead["id"]))]


@pytest.mark.parametrize("segment", ["1", "Founders"])
def test_leads_by_id_or_name_best_score_first(project, segment):
    result = invoke("leads", segment, "--project-dir", project, "--format", "json")
    payload = json.loads(result.stdout)
    assert (payload["segment_id"], payload["segment_name"], payload["lead_count"]) == (1, "Founders", 3)
    assert [lead["lead_id"] for lead in payload["leads"]] == founders_best_first() == [2, 1, 3]
    first = payload["leads"][1]
    assert (first["email"], first["workspace_id"], first["role"], first["tags"]) == ("l1@x.io", 1, "Founder", ["a", "b"])
    # whole scores print as the integers they are (90, not 90.0), as in the leads CSV
    assert '"score": 90,' in result.stdout and '"score": 70,' in result.stdout
    assert [(lead["score"], type(lead["score"])) for lead in payload["leads"]] == [(90, int), (70, int), (None, type(None))]


def test_a_nan_score_is_no_score_in_listings(tmp_path):
    """JSON has no NaN: a NaN score (reported by the data-quality checks) lists as null, after
    every real score, in `leads` and `export leads` alike."""
    leads = [{**LEADS[0], "score": "NaN"}, *LEADS[1:]]
    root = make_project(tmp_path / "p", leads=leads, campaigns=CAMPAIGNS, campaign_leads=CAMPAIGN_LEADS,
                        segments=SEGMENTS)
    assert invoke("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    result = invoke("leads", "Founders", "--project-dir", root, "--format", "json")
    assert "NaN" not in result.stdout
    listed = [(lead["lead_id"], lead["score"]) for lead in json.loads(result.stdout)["leads"]]
    assert listed == [(2, 90), (1, None), (3, None)]  # no score: by id, as for lead 3's missing one
    exported = invoke("export", "leads", "--top", 1, "--metric", "open_rate", *WINDOW_ARGS, "--format", "csv",
                      "--project-dir", root).stdout.splitlines()
    assert [line.split(",")[0] for line in exported[1:]][:3] == ["2", "1", "3"]
    assert exported[2].split(",")[4] == ""


def test_leads_limit_and_csv(project):
    result = invoke("leads", "Founders", "--project-dir", project, "--limit", 2, "--format", "csv")
    lines = result.stdout.splitlines()
    assert lines[0] == "lead_id,email,workspace_id,source,score,country,role,company_size,industry,tags"
    assert [line.split(",")[0] for line in lines[1:]] == ["2", "1"]
    assert lines[2].endswith(",a;b")


def test_leads_table_says_how_many(project):
    result = invoke("leads", "3", "--project-dir", project)
    assert result.stdout.splitlines()[0] == "Segment 3 Acme only: 4 leads, showing 4"


def test_leads_of_an_unknown_segment_names_the_closest(project):
    assert_error(invoke("leads", "Founder", "--project-dir", project),
                 "no segment with id or name 'Founder' (did you mean 'Founders'?) — `segpipe top --min-sent 0 --limit 1000` lists them")
    assert invoke("leads", "99", "--project-dir", project).exit_code == 2


def test_a_segment_id_in_other_digits_is_an_unknown_segment(project):
    result = invoke("leads", "²", "--project-dir", project)
    assert (result.exit_code, result.stderr.startswith("Error: no segment with id or name '²'")) == (2, True)


def test_an_id_is_found_before_a_name_made_of_digits(tmp_path):
    """Segment 1 named "3" does not hide segment 3 from `leads 3`; its name still finds it when
    no segment has that id."""
    segments = [{**SEGMENTS[0], "name": "3"}, *SEGMENTS[1:], {"id": 9, "name": "42"}]
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=CAMPAIGN_LEADS,
                        segments=segments)
    assert invoke("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    found = {ref: json.loads(invoke("leads", ref, "--project-dir", root, "--format", "json").stdout)["segment_id"]
             for ref in ("3", "42", "1")}
    assert found == {"3": 3, "42": 9, "1": 1}


def test_a_name_several_segments_share_asks_for_the_id(tmp_path):
    """Each workspace's own "Team": the name alone is an error (it showed the lowest id's
    figures), --workspace-id narrows it to that workspace's, and the id always works."""
    segments = [*SEGMENTS, {"id": 7, "name": "Team", "workspace_id": 1, "filters": {}},
                {"id": 8, "name": "Team", "workspace_id": 2, "filters": {}}]
    root = make_project(tmp_path / "p", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=CAMPAIGN_LEADS,
                        segments=segments)
    assert invoke("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    result = run_segpipe("leads", "Team", "--project-dir", root)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("Error: segments 7 (workspace 1), 8 (workspace 2) are all named 'Team': "
                             "give the segment's id instead\n")
    assert json.loads(invoke("leads", "8", "--project-dir", root, "--format", "json").stdout)["lead_count"] == 2
    trend = invoke("trend", "Team", "--workspace-id", 2, "--project-dir", root, *WINDOW_ARGS, "--format", "json")
    assert trend.exit_code == 0, trend.output
    assert [s["segment_id"] for s in json.loads(trend.stdout)["series"]] == [8]


def test_leads_limit_zero(project):
    assert_error(invoke("leads", "1", "--project-dir", project, "--limit", 0), "--limit must be 1 or more, got 0")


# --- campaigns ------------------------------------------------------------------------------

def campaign_figures(segment_id: int, attribution: str) -> list[dict]:
    """Per campaign, the January sends counted for the segment — in plain Python. A send of a
    campaign of another workspace than its lead's (campaign 12 to lead 1) counts for none."""
    role = {1: "Founder", 2: "CMO"}[segment_id]
    by_lead = {lead["id"]: lead for lead in LEADS}
    sent_at = {c["id"]: c["sent_at"] for c in CAMPAIGNS}
    target = {c["id"]: c["segment_id"] for c in CAMPAIGNS}
    workspace = {c["id"]: c["workspace_id"] for c in CAMPAIGNS}
    per = {}
    for c, lead, opened, replied, bounced, own in SENDS:
        day = dt.date.fromisoformat((own or sent_at[c])[:10])
        counts = by_lead[lead]["role"] == role if attribution == "matching" else target[c] == segment_id
        counts = counts and workspace[c] == by_lead[lead]["workspace_id"]
        if counts and dt.date(2025, 1, 1) <= day <= dt.date(2025, 1, 31):
            row = per.setdefault(c, {"campaign_id": c, "leads_sent": 0, "opened": 0, "replied": 0, "bounced": 0})
            row["leads_sent"] += 1
            row["opened"] += opened
            row["replied"] += replied
            row["bounced"] += bounced
    for row in per.values():
        row["reply_rate"] = round(float(Fraction(row["replied"], row["leads_sent"])), 4)
    return [per[c] for c in sorted(per)]


@pytest.mark.parametrize("db,attribution", [("out.duckdb", "matching"), ("campaign.duckdb", "campaign")])
@pytest.mark.parametrize("segment_id", [1, 2])
def test_campaigns_follow_the_runs_attribution(project, db, attribution, segment_id):
    result = invoke("campaigns", segment_id, "--project-dir", project, "--db", db, *WINDOW_ARGS, "--format", "json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["attribution"] == attribution
    keys = ("campaign_id", "leads_sent", "opened", "replied", "bounced", "reply_rate")
    assert [{k: c[k] for k in keys} for c in payload["campaigns"]] == campaign_figures(segment_id, attribution)


@pytest.mark.parametrize("db", ["out.duckdb", "campaign.duckdb"])
@pytest.mark.parametrize("segment_id", [1, 2])
def test_campaigns_add_up_to_top(project, db, segment_id):
    window = ("--project-dir", project, "--db", db, *WINDOW_ARGS, "--format", "json")
    campaigns = json.loads(invoke("campaigns", segment_id, *window).stdout)
    top = json.loads(invoke("top", *window, "--limit", 10).stdout)
    shown = next(s for s in top["segments"] if s["segment_id"] == segment_id)
    counts = ("leads_sent", "opened", "replied", "bounced")
    assert {k: sum(c[k] for c in campaigns["campaigns"]) for k in counts} == {k: shown[k] for k in counts}
    assert shown["leads_sent"] > 0  # not a sum of nothing
    assert (campaigns["time_range_from"], campaigns["time_range_to"]) == (top["time_range_from"], top["time_range_to"])


def test_campaigns_table_and_bad_days(project):
    result = invoke("campaigns", "CMOs", "--project-dir", project, *WINDOW_ARGS)
    assert result.stdout.splitlines()[0] == ("Campaigns that sent to segment 2 CMOs, 2025-01-01 to 2025-01-31 "
                                             "(31 UTC days), matching attribution")
    assert "To CMOs" in result.stdout
    assert_error(invoke("campaigns", "CMOs", "--project-dir", project, "--days", 0), "--days must be from 1 to 365, got 0")


def test_campaigns_of_a_project_without_campaigns(tmp_path):
    leads = [{**LEADS[0], "metadata": '{"sent_at": "2025-01-10 10:00:00", "opened": true}'}]
    root = make_project(tmp_path / "meta", leads=leads, segments=SEGMENTS, with_campaigns=False)
    assert invoke("run", "--project-dir", root, "--as-of", "2025-01-31").exit_code == 0
    assert_error(invoke("campaigns", "1", "--project-dir", root, *WINDOW_ARGS),
                 "this project has no campaigns source: its sends are read from leads.metadata, so there are no campaigns to list")
    assert json.loads(invoke("top", "--project-dir", root, *WINDOW_ARGS, "--format", "json").stdout)["segments"][0]["opened"] == 1


# --- test, ls, compile ----------------------------------------------------------------------

def test_test_passes_on_the_published_file(project):
    result = invoke("test", "--project-dir", project)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1].startswith("Done: ")


def test_test_fails_with_exit_1_and_one_line(project, tmp_path):
    broken = broken_copy(project, tmp_path, "insert into main.segments select * from main.segments where segment_id = 1")
    result = invoke("test", "--project-dir", project, "--db", broken)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: 1 data test failed")
    assert "unique_segments_segment_id" in result.stderr


def ls_rows(project, *args):
    """The models of `segpipe ls` by name, and the sources' names (a model and a source may share one)."""
    result = invoke("ls", "--project-dir", project, "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    return {r["name"]: r for r in rows if r["type"] != "source"}, {r["name"] for r in rows if r["type"] == "source"}


def test_ls_lists_sources_seeds_and_models_with_dependencies(project):
    rows, sources = ls_rows(project)
    assert sources == {"leads", "campaigns", "campaign_leads", "segments"}
    assert rows["stg_sends"]["relation"] == "staging.stg_sends"
    assert set(rows["stg_sends"]["depends_on"]) == {"source:campaign_leads", "model:stg_campaigns"}
    assert set(rows["stg_campaigns"]["depends_on"]) == {"source:campaigns"}
    assert set(rows["segment_performance"]["depends_on"]) == {"model:segment_performance_daily", "model:segments"}
    assert rows["stg_leads"]["origin"] == "builtin"


def test_ls_select_uses_the_dag_grammar(project):
    assert ls_rows(project, "--select", "+segment_leads")[0].keys() == {"segment_leads", "lead_segments", "stg_leads"}
    assert ls_rows(project, "--select", "stg_leads+")[0].keys() == {
        "stg_leads", "lead_segments", "segment_leads", "segment_performance_hourly",
        "segment_campaign_daily", "segment_performance_daily", "segment_performance", "send_problems",
        "segment_set_sends_daily", "segment_sets", "workspace_performance_hourly", "lead_scopes"}
    assert ls_rows(project, "--select", "staging/") == (
        {"stg_campaigns": ANY, "stg_leads": ANY, "stg_sends": ANY}, set())


def test_ls_table_and_an_unknown_selection(project):
    result = invoke("ls", "--project-dir", project)
    assert result.stdout.splitlines()[0].split() == ["type", "name", "relation", "depends_on", "origin"]
    assert_error(invoke("ls", "--project-dir", project, "--select", "segment_leeds"),
                 "--select: no model named 'segment_leeds' (did you mean 'segment_leads'?)")


def test_compile_prints_the_selected_sql(project):
    result = invoke("compile", "--project-dir", project, "--select", "segments")
    assert result.exit_code == 0
    assert result.stdout.startswith("-- main.segments (builtin:models/segments.sql)\n")
    assert "from src.segments" in result.stdout
    assert "stg_leads" not in result.stdout


def test_compile_writes_only_the_selected_models(tmp_path):
    """As dbt's compile --select: target/compiled/ gets the models asked for, all without --select."""
    root = make_project(tmp_path / "p", leads=LEADS, segments=SEGMENTS)
    compiled = root / "target" / "compiled"
    assert invoke("compile", "--project-dir", root, "--select", "segments").exit_code == 0
    assert sorted(p.name for p in compiled.rglob("*.sql")) == ["segments.sql"]
    assert invoke("compile", "--project-dir", root).exit_code == 0
    listed = invoke("ls", "--project-dir", root, "--format", "json")
    models = [node for node in json.loads(listed.stdout) if node["type"].startswith("model")]
    assert len(list(compiled.rglob("*.sql"))) == len(models) > 10
