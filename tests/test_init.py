"""`segpipe init`: a new project that runs, and a scaffold that cannot drift from the demo."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import duckdb

from segpipe.scaffold import TEMPLATES, init_project, shift_timestamps
from tests.conftest import REPO, run_segpipe, utc_today


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def test_init_copies_no_built_in_model_or_macro(tmp_path):
    """A new project holds project.yml, seeds/ and one example model of its own: the built-in
    models and macros stay in the package, so an upgrade of segpipe reaches the project."""
    init_project(tmp_path / "p")
    files = set(tree(tmp_path / "p"))
    assert files == {"project.yml", ".gitignore", "models/well_sampled_segments.sql",
                     "models/well_sampled_segments.yml", "seeds/segments.yml",
                     "seeds/leads.csv", "seeds/campaigns.csv", "seeds/campaign_leads.csv", "seeds/workspaces.csv"}
    built_in = {p.name for folder in ("models", "macros") for p in (REPO / folder).rglob("*") if p.is_file()}
    assert not built_in & {Path(f).name for f in files}


def test_init_run_top_round_trip(tmp_path):
    target = tmp_path / "new_project"
    done = run_segpipe("init", target)
    assert done.returncode == 0, done.stderr
    assert {"project.yml", ".gitignore", "seeds/segments.yml", "seeds/leads.csv"} <= set(tree(target))

    built = run_segpipe("run", "--project-dir", target)
    assert built.returncode == 0, built.stderr
    before = utc_today()
    ranked = run_segpipe("top", "--project-dir", target, "--format", "json", "--limit", 10)
    after = utc_today()
    assert ranked.returncode == 0, ranked.stderr
    payload = json.loads(ranked.stdout)
    # without --as-of the window ends today (UTC): the day read just before or just after
    assert payload["time_range_to"] in {f"{day}T23:59:59Z" for day in (before, after)}
    assert payload["segments"], "the example data ends today, so the default window has sends"
    assert run_segpipe("test", "--project-dir", target).returncode == 0
    # SPEC §6: every published table and column has its comment, the example model's too
    with duckdb.connect(str(target / "segpipe.duckdb"), read_only=True) as con:
        tables = con.execute("select table_name from duckdb_tables() where schema_name = 'main' "
                             "and comment is null").fetchall()
        columns = con.execute("select c.table_name, c.column_name from duckdb_columns() c join duckdb_tables() t "
                              "using (table_oid) where t.schema_name = 'main' and c.comment is null").fetchall()
    assert (tables, columns) == ([], [])


def test_init_refuses_a_non_empty_folder(tmp_path, cli):
    (tmp_path / "notes.txt").write_text("mine")
    result = cli("init", tmp_path)
    assert (result.exit_code, result.stderr) == (
        2, f"Error: {tmp_path} is not empty — `segpipe init` only writes into a new or empty folder\n")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_init_accepts_an_empty_folder(tmp_path, cli):
    result = cli("init", tmp_path)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == f"  segpipe run --project-dir {tmp_path}"
    assert (tmp_path / "project.yml").is_file()


def read_seeds(folder: Path) -> dict[str, list[dict]]:
    return {path.name: list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
            for path in sorted(folder.glob("*.csv"))}


def times(rows: list[dict], columns=None) -> list[dt.datetime]:
    """Every non-empty timestamp (a column named *_at) of the rows, or of `columns` only."""
    return [dt.datetime.fromisoformat(value) for row in rows for column, value in row.items()
            if column.endswith("_at") and (columns is None or column in columns) and value]


def test_example_data_is_moved_to_end_today(tmp_path):
    """The last day of the scaffold's data, read from its CSVs (not from the code), becomes today:
    the last send is today and no timestamp is later."""
    template = read_seeds(TEMPLATES / "seeds")
    assert not any(row.get("metadata") for row in template["leads.csv"])  # no times hidden in JSON
    template_last = max(times([row for rows in template.values() for row in rows])).date()
    assert template_last == max(times(template["campaign_leads.csv"], ["sent_at"])).date()
    today = dt.date(2030, 6, 15)
    init_project(tmp_path, today=today)
    moved = read_seeds(tmp_path / "seeds")
    assert set(moved) == set(template) and len(template) >= 4
    shift = today - template_last
    for name, rows in template.items():
        for before, after in zip(rows, moved[name], strict=True):
            assert list(after) == list(before)
            for column, value in before.items():
                if column.endswith("_at") and value:
                    assert dt.datetime.fromisoformat(after[column]) - dt.datetime.fromisoformat(value) == shift
                else:
                    assert after[column] == value, (name, column)
    sends = moved["campaign_leads.csv"]
    assert max(times(sends, ["sent_at"])).date() == today
    assert max(times([row for rows in moved.values() for row in rows])).date() == today


def test_shift_leaves_other_columns_and_blanks_alone():
    text = "id,name,sent_at\n1,\"a, b\",2025-01-31 23:00:00\n2,x,\n"
    assert shift_timestamps(text, dt.timedelta(days=1)) == "id,name,sent_at\n1,\"a, b\",2025-02-01 23:00:00\n2,x,\n"


def test_init_where_no_folder_can_be_made_is_one_line(tmp_path, cli):
    (tmp_path / "a-file").write_text("mine")
    result = cli("init", tmp_path / "a-file" / "project")
    assert (result.exit_code, result.stderr) == (
        2, f"Error: cannot create {tmp_path / 'a-file' / 'project'}: Not a directory — choose a folder you can write to\n")


def test_a_missing_segments_file_is_an_error_not_zero_segments(tmp_path):
    """A typo in the segments path would publish empty figures as if all were well: exit 2
    naming the file, and the published file stays as it was."""
    target = tmp_path / "p"
    assert run_segpipe("init", target).returncode == 0
    assert run_segpipe("run", "--project-dir", target).returncode == 0
    published = (target / "segpipe.duckdb").read_bytes()
    (target / "seeds" / "segments.yml").rename(target / "seeds" / "icps.yml")
    for config, shown in [("", "seeds/segments.yml"), ("segments: seeds/icp.yml\n", "seeds/icp.yml")]:
        (target / "project.yml").write_text(f"name: p\n{config}")
        result = run_segpipe("run", "--project-dir", target)
        assert (result.returncode, result.stderr) == (
            2, f"Error: {shown}: no such segments file — write your segments there (`segpipe init DIR` makes an "
               "example) or point 'segments' in project.yml at yours\n")
        assert (target / "segpipe.duckdb").read_bytes() == published
